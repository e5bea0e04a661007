"""Worker processes change nothing but the time: the same findings, in the
same order, as a serial scan."""

from __future__ import annotations

from pathlib import Path

import pytest

from iackms import engine
from iackms.config import Config

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "perf" / "aws-cloudformation-templates"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_parallel_scan_equals_serial(monkeypatch):
    monkeypatch.setattr(engine, "PARALLEL_MIN_DOCS", 8)
    serial = engine.scan([str(CORPUS)], Config(profile="strict"), jobs=1)
    parallel = engine.scan([str(CORPUS)], Config(profile="strict"), jobs=2)
    assert len(serial.findings) > 10
    assert parallel.findings == serial.findings
    assert parallel.suppressed == serial.suppressed and parallel.keys_checked == serial.keys_checked


def test_small_trees_stay_serial(tmp_path):
    (tmp_path / "t.yaml").write_text("Resources:\n  K:\n    Type: AWS::KMS::Key\n    Properties: {EnableKeyRotation: true}\n")
    assert engine._start_docs([tmp_path / "t.yaml"], None, 4) is None  # type: ignore[arg-type]
