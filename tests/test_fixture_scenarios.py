"""Cross-cutting fixtures (`fixtures/scenarios/`): where a finding lands when
the policy is written somewhere other than the key, values that come from
elsewhere in the configuration (provider default_tags), and cases a rule is
known to get wrong (strict xfail naming the bug: fixing it makes them fail
until the mark is removed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iackms.config import Config
from iackms.engine import scan

ROOT = Path(__file__).resolve().parent.parent
SCEN = ROOT / "fixtures" / "scenarios"
EXPECT = re.compile(r"expect:\s*((?:IKMS\d{3}[ ,]*)+)")


def _scan(rel: str, **cfg):
    return scan([rel], Config(profile="strict", **cfg))


def _expected(path: Path) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = EXPECT.search(line)
        if m:
            for rid in re.findall(r"IKMS\d{3}", m.group(1)):
                out.setdefault(rid, []).append(i)
    return out


def _line_of(path: Path, needle: str, back_to: str = "") -> int:
    """The line holding `needle`; with `back_to`, the nearest line at or above
    it whose stripped text is `back_to` (e.g. the `{` opening a statement)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    i = next(n for n, line in enumerate(lines) if needle in line)
    if back_to:
        while lines[i].strip() != back_to:
            i -= 1
    return i + 1


def test_aws_kms_key_policy_findings_at_its_statements_with_the_key_address(monkeypatch):
    monkeypatch.chdir(ROOT)
    path = SCEN / "key-policy-resource" / "main.tf"
    rel = path.relative_to(ROOT).as_posix()
    report = _scan(rel)
    for rid, lines in _expected(path).items():
        got = [f for f in report.findings if f.rule_id == rid]
        assert sorted(f.line for f in got) == lines, (rid, [(f.line, f.message) for f in got])
        assert {f.file for f in got} == {rel}
        assert {f.resource for f in got} == {"aws_kms_key.artifacts"}
    # the key has a policy (from the separate resource): no IKMS201
    assert not [f for f in report.findings if f.rule_id == "IKMS201"]


def test_policy_from_file_is_located_in_the_json_file(monkeypatch):
    monkeypatch.chdir(ROOT)
    d = SCEN / "policy-file"
    report = _scan(d.relative_to(ROOT).as_posix())
    js = d / "policies" / "key-policy.json"
    got = [f for f in report.findings if f.rule_id == "IKMS202"]
    assert [(f.file, f.line, f.resource) for f in got] == [
        (js.relative_to(ROOT).as_posix(), _line_of(js, '"Sid": "PublicDecrypt"', back_to="{"), "aws_kms_key.exports")
    ]
    assert not [f for f in report.findings if f.rule_id in ("IKMS001", "IKMS201")]


def test_required_tags_from_provider_default_tags(monkeypatch):
    monkeypatch.chdir(ROOT)
    report = _scan((SCEN / "default-tags" / "main.tf").relative_to(ROOT).as_posix())
    assert not [(f.line, f.message) for f in report.findings if f.rule_id == "IKMS110"]


def test_lockout_by_unconditional_deny(monkeypatch):
    monkeypatch.chdir(ROOT)
    path = SCEN / "lockout-deny" / "main.tf"
    report = _scan(path.relative_to(ROOT).as_posix())
    got = [f.line for f in report.findings if f.rule_id == "IKMS212"]
    assert got == _expected(path)["IKMS212"]
