"""Every rule's fixtures: `fixtures/<RULE>/fail/main.tf`, `pass/main.tf`,
`fail.yaml`, `pass.yaml` (CloudFormation where the resource exists there),
and further cases `fail-<case>/main.tf`, `fail-<case>.yaml`,
`pass-<case>/main.tf`, `pass-<case>.yaml` (the rule pages show only the main
pass and fail).

A failing fixture marks each line where the rule must fire with a comment
`expect: <RULE>`; the test asserts the rule fires on exactly those lines of
exactly that file (and on a named resource; `expect: <RULE> @<resource> ...`
names every resource it must report there, instance addresses included, e.g.
`@aws_kms_key.this["jwt"]`), and that the passing fixture
draws no finding of that rule at all. A passing fixture may name more rules
it must not draw a finding of (`# passes also: IKMS202 IKMS203`): it is then
a passing case of each. Fixtures run under the `strict` profile unless a
`# profile: NAME` comment says otherwise; the configuration is the first
`.iackms.yaml` of the case's own directory (`<case>/` for `<case>.yaml`
too), then the rule's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iackms import config as config_mod
from iackms.engine import scan
from iackms.rules import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
EXPECT = re.compile(r"expect:\s*((?:IKMS\d{3}[ ,]*)+)")
PROFILE = re.compile(r"#\s*profile:\s*([a-z0-9-]+)")
ALSO = re.compile(r"#\s*passes also:\s*((?:IKMS\d{3}[ ,]*)+)")
RULE_DIRS = sorted(p for p in FIXTURES.glob("IKMS*") if p.is_dir())


def _case_names(d: Path) -> list[str]:
    """`fail`, `pass`, then the `fail-*`/`pass-*` cases of a rule's directory."""
    names = {p.name if p.is_dir() else p.name.rsplit(".", 1)[0] for p in d.iterdir()
             if p.name.startswith(("fail", "pass")) and (p.is_dir() or p.suffix in (".yaml", ".json"))}
    return ["fail", "pass"] + sorted(n for n in names if n not in ("fail", "pass"))


def _cases():
    for d in RULE_DIRS:
        rid = d.name
        for case in _case_names(d):
            kind = "fail" if case.startswith("fail") else "pass"
            files = [(d / case / "main.tf", "terraform")] + [(d / f"{case}.{ext}", f"cloudformation-{ext}") for ext in ("yaml", "json")]
            for path, label in files:
                if not path.is_file():
                    continue
                yield pytest.param(rid, kind, path, id=f"{rid}-{case}-{label}")
                if kind == "pass":
                    m = ALSO.search(path.read_text(encoding="utf-8"))
                    for other in re.findall(r"IKMS\d{3}", m.group(1)) if m else []:
                        yield pytest.param(other, "pass", path, id=f"{other}-{rid}-{case}-{label}")


AT = re.compile(r"expect:\s*(?:IKMS\d{3}[ ,]*)+((?:@\S+\s*)+)")


def _resources(path: Path) -> dict[int, set[str]]:
    """Line -> the resources an `expect: ... @resource` comment names there."""
    out: dict[int, set[str]] = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = AT.search(line)
        if m:
            out[i] = {a[1:] for a in m.group(1).split()}
    return out


def _expected(path: Path, rid: str) -> list[int]:
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = EXPECT.search(line)
        if m and rid in re.findall(r"IKMS\d{3}", m.group(1)):
            out.append(i)
    return out


def _config(path: Path) -> config_mod.Config:
    d = path.parent
    own = path.parent / path.name.rsplit(".", 1)[0] if path.name != "main.tf" else d
    for cand in (own / ".iackms.yaml", d / ".iackms.yaml", d.parent / ".iackms.yaml"):
        if cand.is_file():
            cfg = config_mod.load_file(cand)
            break
    else:
        cfg = config_mod.Config(profile="strict")
    m = PROFILE.search(path.read_text(encoding="utf-8"))
    if m:
        cfg.profile = m.group(1)
    return cfg


@pytest.mark.parametrize("rid,kind,path", list(_cases()))
def test_fixture(rid: str, kind: str, path: Path, monkeypatch):
    monkeypatch.chdir(ROOT)
    report = scan([str(path.relative_to(ROOT))], _config(path))
    rel = path.relative_to(ROOT).as_posix()
    got = [f for f in report.findings if f.rule_id == rid]
    parse_errors = [f for f in report.findings if f.rule_id == "IKMS001" and rid != "IKMS001"]
    assert not parse_errors, parse_errors
    if kind == "pass":
        assert got == [], f"{rid} fired on the passing fixture {rel}: {[(f.line, f.message) for f in got]}"
        return
    expected = _expected(path, rid)
    assert expected, f"{rel} marks no line with 'expect: {rid}'"
    assert all(f.file == rel for f in got), [(f.file, f.line) for f in got]
    assert sorted({f.line for f in got}) == expected, [(f.line, f.message) for f in got]
    assert all(f.resource or rid == "IKMS001" for f in got)
    for line, resources in _resources(path).items():
        if line in expected:
            assert {f.resource for f in got if f.line == line} == resources, (line, [(f.resource, f.message) for f in got if f.line == line])


def test_every_rule_has_fixtures():
    missing = []
    for rid, r in REGISTRY.items():
        d = FIXTURES / rid
        need = [d / "fail" / "main.tf", d / "pass" / "main.tf"]
        if r.meta.cfn_applicable:
            need += [d / "fail.yaml", d / "pass.yaml"]
        missing += [str(p.relative_to(ROOT)) for p in need if not p.is_file()]
    assert not missing, missing
