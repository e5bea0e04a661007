"""Property-based robustness (issue #8): truncated and mutated copies of real
files from the shared corpus never make an exception escape ``engine.scan``,
and the findings of an untouched sibling tree stay exactly the same.

Bounded for CI (2 cores): a fixed sample of small corpus files, 100
derandomized examples per test, no deadline (~3 s). Set
IACKMS_HYPOTHESIS_EXAMPLES=5000 for a longer, random run."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iackms.config import Config
from iackms.engine import scan

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/corpus")
MAX_BYTES = 16_000


def _sample(markers: tuple[str, ...], suffixes: tuple[str, ...], n: int) -> list[Path]:
    """Up to ``n`` small corpus files holding a KMS key, spread over the
    sorted list (deterministic)."""
    if not CORPUS.is_dir():
        return []
    found = []
    for p in sorted(CORPUS.rglob("*")):
        if p.suffix not in suffixes or not p.is_file() or p.stat().st_size > MAX_BYTES:
            continue
        try:
            text = p.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if any(m in text for m in markers):
            found.append(p)
    step = max(1, len(found) // n)
    return found[::step][:n]


CFN_FILES = _sample(("AWS::KMS::Key",), (".yaml", ".yml", ".json", ".template"), 16)
TF_FILES = _sample(('resource "aws_kms_key"',), (".tf",), 16)
SOURCES = [(p, p.read_bytes()) for p in CFN_FILES + TF_FILES]

SIBLING_TF = 'resource "aws_kms_key" "bad" {\n  enable_key_rotation = false\n}\n'
SIBLING_CFN = 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Bad:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: false\n'


def _sibling_findings(findings) -> list[tuple]:
    return sorted((f.rule_id, f.file, f.line, f.message) for f in findings if f.file.startswith("good/"))


def _baseline() -> list[tuple]:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        _write_sibling(root)
        return _sibling_findings(scan([str(root)], Config(), cwd=root).findings)


def _write_sibling(root: Path) -> None:
    (root / "good").mkdir()
    (root / "good" / "main.tf").write_text(SIBLING_TF)
    (root / "good" / "t.yaml").write_text(SIBLING_CFN)


BASELINE = _baseline()


# --- mutations -----------------------------------------------------------------------------


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    path, data = draw(st.sampled_from(SOURCES))
    kind = draw(st.sampled_from(["truncate", "delete_lines", "duplicate_lines", "flip_bytes", "mixed"]))
    out = data
    if kind in ("truncate", "mixed"):
        out = out[: draw(st.integers(0, len(out)))]
    if kind in ("delete_lines", "duplicate_lines", "mixed"):
        lines = out.split(b"\n")
        for _ in range(draw(st.integers(1, 4))):
            if not lines:
                break
            i = draw(st.integers(0, len(lines) - 1))
            if kind == "delete_lines" or (kind == "mixed" and draw(st.booleans())):
                del lines[i]
            else:
                lines.insert(i, lines[i])
        out = b"\n".join(lines)
    if kind in ("flip_bytes", "mixed") and out:
        buf = bytearray(out)
        for _ in range(draw(st.integers(1, 8))):
            i = draw(st.integers(0, len(buf) - 1))
            buf[i] = draw(st.sampled_from([buf[i] ^ (1 << draw(st.integers(0, 7))), 0, 0xFF, ord("{"), ord("["), ord('"'), ord(":"), ord("\n")]))
        out = bytes(buf)
    return path.name, out


def _check(name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        _write_sibling(root)
        (root / "mut").mkdir()
        (root / "mut" / name).write_bytes(data)
        report = scan([str(root)], Config(), cwd=root)  # must not raise
        assert _sibling_findings(report.findings) == BASELINE
        broken = [f for f in report.findings if f.rule_id == "IKMS001"]
        assert all(f.file == f"mut/{name}" for f in broken)
        # one parse error at most (a duplicated resource block is its own IKMS001)
        assert len([f for f in broken if "defined twice" not in f.message]) <= 1
        assert not any("internal error" in f.message for f in report.findings)


pytestmark = pytest.mark.skipif(not SOURCES, reason=f"the shared corpus is not at {CORPUS}")

SETTINGS = settings(max_examples=int(os.environ.get("IACKMS_HYPOTHESIS_EXAMPLES", "100")), deadline=None, derandomize=not os.environ.get("IACKMS_HYPOTHESIS_EXAMPLES"), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(mutated())
def test_mutated_corpus_files_never_raise_and_siblings_keep_their_findings(case):
    _check(*case)


@SETTINGS
@given(st.sampled_from(SOURCES), st.data())
def test_truncated_corpus_files(source, data):
    path, content = source
    cut = data.draw(st.integers(0, len(content)))
    _check(path.name, content[:cut])


def test_the_sample_is_real():
    """The properties above run on KMS templates and modules, both kinds."""
    assert len(CFN_FILES) >= 8 and len(TF_FILES) >= 8
    assert BASELINE and {r for r, *_ in BASELINE} >= {"IKMS101"}


def test_unmutated_copies_scan_cleanly():
    for path, data in SOURCES:
        with tempfile.TemporaryDirectory() as d:
            root = Path(d)
            _write_sibling(root)
            (root / "mut").mkdir()
            shutil.copyfile(path, root / "mut" / path.name)
            report = scan([str(root)], Config(), cwd=root)
            assert _sibling_findings(report.findings) == BASELINE
