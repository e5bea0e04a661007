"""Every fixture's full findings (rule, line, resource, severity, message)
against a stored snapshot in `tests/snapshots/`, so that any change of a
message, a line or a resource shows in review as a diff.

After an intended change, rewrite the snapshots and review the diff:

    pytest tests/test_snapshots.py --update-snapshots
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iackms.config import Config
from iackms.engine import scan
from test_fixtures import FIXTURES, ROOT, _cases, _config

SNAPSHOTS = ROOT / "tests" / "snapshots"


def _snapshot_path(path: Path) -> Path:
    rel = path.relative_to(FIXTURES)
    return SNAPSHOTS / (rel.as_posix().replace("/", "__") + ".json")


def _findings(path: Path) -> list[dict]:
    cfg = _config(path) if path.is_file() else Config(profile="strict")
    report = scan([str(path.relative_to(ROOT))], cfg)
    return [{"rule_id": f.rule_id, "file": f.file, "line": f.line, "resource": f.resource, "severity": f.severity,
             "message": f.message} for f in report.findings]


def _scenario_cases():
    for d in sorted(p for p in (FIXTURES / "scenarios").iterdir() if p.is_dir()):
        yield pytest.param("scenario", "scenario", d, id=f"scenario-{d.name}")
    yield pytest.param("plan", "plan", FIXTURES / "plan" / "plan.json", id="plan")


def _unique_cases():
    """Each fixture file once (a passing case of several rules is one file)."""
    seen: set = set()
    for p in _cases():
        if p.values[2] not in seen:
            seen.add(p.values[2])
            yield p


@pytest.mark.parametrize("rid,kind,path", [*_unique_cases(), *_scenario_cases()])
def test_snapshot(rid, kind, path: Path, monkeypatch, request):
    monkeypatch.chdir(ROOT)
    got = _findings(path)
    snap = _snapshot_path(path)
    text = json.dumps(got, indent=2, ensure_ascii=False) + "\n"
    if request.config.getoption("--update-snapshots"):
        snap.parent.mkdir(parents=True, exist_ok=True)
        snap.write_text(text, encoding="utf-8")
        return
    assert snap.is_file(), f"no snapshot for {path.relative_to(ROOT)}: run `pytest tests/test_snapshots.py --update-snapshots`"
    want = json.loads(snap.read_text(encoding="utf-8"))
    assert got == want, f"findings of {path.relative_to(ROOT)} changed; if intended, run `pytest tests/test_snapshots.py --update-snapshots` and review the diff"


def test_no_stale_snapshots():
    want = {_snapshot_path(p.values[2]).name for p in [*_cases(), *_scenario_cases()]}
    stale = sorted(p.name for p in SNAPSHOTS.glob("*.json") if p.name not in want)
    assert not stale, f"snapshots of fixtures that no longer exist: {stale}"


def test_no_internal_marker_in_any_message():
    """Unresolved pieces, "this account" and opaque values are shown as `${...}` / `<this account>`: the model's
    private-use markers never reach a person."""
    leaks = [(p.name, f["message"]) for p in sorted(SNAPSHOTS.glob("*.json"))
             for f in json.loads(p.read_text(encoding="utf-8")) if any("\ue000" <= c <= "\ue0ff" for c in f["message"])]
    assert not leaks, leaks
