"""Property test of `iackms fix` (issue 15): on the rule fixtures and a
sample of corpus files — as they are, or with fixable problems put in
(rotation turned off or removed, a short deletion window, a long rotation
period, the lockout bypass, a consumer's key named by its ID) — the fix leaves files that parse, adds no
finding, explains every fixable finding it leaves, changes only the intended
lines, keeps `terraform fmt` formatting, and changes nothing the second time
(:mod:`fixcheck`).

Bounded for CI (2 cores): 30 derandomized examples (~8 s), no deadline. Set
IACKMS_HYPOTHESIS_EXAMPLES for a longer run."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixcheck import fix_and_check
from iackms.config import Config, load_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/corpus")
MAX_BYTES = 12_000
EXAMPLES = int(os.environ.get("IACKMS_HYPOTHESIS_EXAMPLES", "30"))


def _corpus_sample(n: int) -> list[Path]:
    """Up to ``n`` small corpus files with a KMS key, spread over the sorted list."""
    if not CORPUS.is_dir():
        return []
    found = []
    for p in sorted(CORPUS.rglob("*")):
        if p.suffix not in (".tf", ".yaml", ".yml", ".json", ".template") or not p.is_file() or p.stat().st_size > MAX_BYTES:
            continue
        try:
            text = p.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if 'resource "aws_kms_key"' in text or "AWS::KMS::Key" in text:
            found.append(p)
    step = max(1, len(found) // n)
    return found[::step][:n]


#: (file, the configuration file that goes with it, if any)
SOURCES: list[tuple[Path, Path | None]] = [
    *[(p, p.parent / ".iackms.yaml" if (p.parent / ".iackms.yaml").is_file() else None)
      for p in sorted(FIXTURES.glob("IKMS*/*.yaml")) if p.name != ".iackms.yaml"],
    *[(p, p.parent.parent / ".iackms.yaml" if (p.parent.parent / ".iackms.yaml").is_file() else None)
      for p in sorted(FIXTURES.glob("IKMS*/*/main.tf"))],
    *[(p, None) for p in _corpus_sample(24)],
]

#: fixable problems put into a file: (pattern, replacement)
MUTATIONS = [
    (r"(enable_key_rotation\s*=\s*)true", r"\1false"),
    (r"(EnableKeyRotation\"?\s*:\s*)true", r"\1false"),
    (r"(?m)^[ \t]*\"?(?:enable_key_rotation|EnableKeyRotation)\"?\s*[=:]\s*true,?[ \t]*\r?\n", ""),
    (r"(deletion_window_in_days\s*=\s*)\d+", r"\g<1>7"),
    (r"(PendingWindowInDays\"?\s*:\s*)\d+", r"\g<1>7"),
    (r"(rotation_period_in_days\s*=\s*)\d+", r"\g<1>2000"),
    (r"(?m)^([ \t]*)(enable_key_rotation\s*=\s*true)", r"\1\2\n\1bypass_policy_lockout_safety_check = true"),
    (r"(?m)^([ \t]*)(EnableKeyRotation:\s*true)", r"\1\2\n\1BypassPolicyLockoutSafetyCheck: true"),
    # a consumer's key named by its ID where the attribute takes its ARN (IKMS303)
    (r"(?m)^(\s*(?:kms_key_id|kms_key_arn|kms_master_key_id)\s*=\s*aws_kms_key\.\w+)\.arn\b", r"\1.id"),
    (r"(?m)^(\s*(?:KmsKeyId|KmsKeyArn|KMSKeyId|EncryptionKeyArn):\s*)!GetAtt (\w+)\.Arn\b", r"\1!Ref \2"),
]


@st.composite
def cases(draw) -> tuple[Path, Path | None, str]:
    path, cfg = draw(st.sampled_from(SOURCES))
    text = path.read_text(encoding="utf-8")
    for i in draw(st.lists(st.integers(0, len(MUTATIONS) - 1), max_size=3, unique=True)):
        pattern, repl = MUTATIONS[i]
        text = re.sub(pattern, repl, text)
    return path, cfg, text


@pytest.mark.skipif(not SOURCES, reason="no fixtures")
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_fix_properties(case):
    path, cfg_file, text = case
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / ".git").mkdir()
        target = root / ("main.tf" if path.suffix == ".tf" else "template" + path.suffix)
        target.write_text(text, encoding="utf-8")
        cfg = Config()
        if cfg_file is not None:
            shutil.copy(cfg_file, root / ".iackms.yaml")
            cfg = load_file(root / ".iackms.yaml")
        cwd = os.getcwd()
        os.chdir(root)
        try:
            fix_and_check(root, cfg)
        finally:
            os.chdir(cwd)


def test_the_sample_holds_corpus_files():
    if not CORPUS.is_dir():
        pytest.skip("the shared corpus is not here")
    assert sum(1 for p, _ in SOURCES if CORPUS in p.parents) >= 10
