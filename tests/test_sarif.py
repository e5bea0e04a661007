"""`--format sarif`: valid against the official SARIF 2.1.0 schema and shaped
the way GitHub code scanning accepts it (rule table, levels, locations,
fingerprints, categories, suppressions, the 25,000-result cap)."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
from pathlib import Path

import jsonschema
import pytest

from iackms import docgen
from iackms.config import Config
from iackms.findings import Finding, Report
from iackms.reporters import render
from iackms.reporters import sarif as sarif_mod
from iackms.rules import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
if not SCHEMA_PATH.is_file():
    SCHEMA_PATH = Path("/work/shared/schemas/sarif-schema-2.1.0.json")
REALWORLD = SCHEMA_PATH.parent.parent / "corpus" / "realworld"
HAS_TF = importlib.util.find_spec("iackms.parsers.terraform") is not None
HAS_CFN = importlib.util.find_spec("iackms.parsers.cloudformation") is not None
#: RFC 3986 URI-reference characters (after percent-encoding)
URI_REF = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*$")


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    if not SCHEMA_PATH.is_file():
        pytest.skip(f"SARIF schema not found at {SCHEMA_PATH}")
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def finding(rule_id: str = "IKMS101", *, severity: str | None = None, file: str = "infra/main.tf", line: int = 3,
            end_line: int = 3, column: int = 3, resource: str = "aws_kms_key.main", message: str | None = None,
            ident: str = "", suppressed: bool = False, reason: str = "") -> Finding:
    meta = REGISTRY[rule_id].meta if rule_id in REGISTRY else None
    return Finding(
        rule_id=rule_id,
        title=meta.title if meta else rule_id,
        severity=severity or (meta.severity if meta else "medium"),
        file=file,
        line=line,
        end_line=end_line,
        column=column,
        resource=resource,
        resource_type=resource.split(".")[0] if resource else "",
        message=message or f"{resource} has automatic rotation disabled: enable_key_rotation = false",
        ident=ident,
        suppressed=suppressed,
        suppression_reason=reason,
    )


def sarif(report: Report, **opts) -> dict:
    return json.loads(render("sarif", report, **opts))


def check(doc: dict, validator, report: Report | None = None) -> None:
    """Schema-valid, plus what the schema cannot say and GitHub needs."""
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)), "rule ids must be unique"
    assert ids == sorted(ids)
    for r in rules:
        assert r["shortDescription"]["text"] and r["fullDescription"]["text"] and r["help"]["text"]
        assert len(r["properties"]["tags"]) == len(set(r["properties"]["tags"])) <= 10
        assert isinstance(r["properties"]["security-severity"], str)
        assert 0 < float(r["properties"]["security-severity"]) <= 10
    assert run["invocations"][0]["executionSuccessful"] is True
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file:///")
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        assert res["message"]["text"]
        assert len(res["locations"]) == 1
        phys = res["locations"][0]["physicalLocation"]
        uri = phys["artifactLocation"]["uri"]
        assert phys["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert URI_REF.match(uri) and not uri.startswith("/") and "\\" not in uri, uri
        region = phys["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1 and region["endLine"] >= region["startLine"]
        assert re.fullmatch(r"[0-9a-f]{64}", res["partialFingerprints"]["iackms/v1"])
    if report is not None:
        assert len(run["results"]) == min(len(report.findings), sarif_mod.MAX_RESULTS)


def fp(doc: dict, i: int = 0) -> str:
    return doc["runs"][0]["results"][i]["partialFingerprints"]["iackms/v1"]


# --- the rule table ---------------------------------------------------------------------


def test_empty_report_is_valid_and_lists_every_rule(validator):
    doc = sarif(Report())
    check(doc, validator)
    run = doc["runs"][0]
    assert run["results"] == []
    driver = run["tool"]["driver"]
    assert driver["name"] == "iackms"
    assert driver["informationUri"] == docgen.home_url()
    assert [r["id"] for r in driver["rules"]] == sorted(REGISTRY)
    assert "automationDetails" not in run


def test_rule_descriptors_come_from_the_metadata():
    rules = {r["id"]: r for r in sarif(Report())["runs"][0]["tool"]["driver"]["rules"]}
    for rid, rule in REGISTRY.items():
        r = rules[rid]
        meta = rule.meta
        assert r["name"] == meta.name
        assert r["shortDescription"]["text"] == meta.title
        assert r["help"] == {"text": docgen.help_text(meta), "markdown": docgen.help_markdown(meta)}
        assert r["helpUri"] == docgen.rule_url(rid)
        assert r["helpUri"].startswith(docgen.docs_url())
        assert r["defaultConfiguration"]["level"] == sarif_mod.LEVEL[meta.severity]
        assert r["properties"]["security-severity"] == sarif_mod.SECURITY_SEVERITY[meta.severity]
        assert {"security", "kms"} <= set(r["properties"]["tags"])


def test_security_severity_scores():
    assert sarif_mod.SECURITY_SEVERITY == {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}


def test_standards_tags():
    rules = {r["id"]: r for r in sarif(Report())["runs"][0]["tool"]["driver"]["rules"]}
    tags = rules["IKMS101"]["properties"]["tags"]
    assert {"CIS", "NIST-800-171", "CMMC"} <= set(tags)
    for rid, rule in REGISTRY.items():
        labels = " ".join(s.label for s in rule.meta.sources)
        assert ("CIS" in rules[rid]["properties"]["tags"]) == ("CIS " in labels)


def test_rule_uses_the_configured_severity():
    f = finding("IKMS101", severity="critical")
    doc = sarif(Report(findings=[f]))
    rule = doc["runs"][0]["tool"]["driver"]["rules"][doc["runs"][0]["results"][0]["ruleIndex"]]
    assert rule["properties"]["security-severity"] == "9.5"
    assert rule["defaultConfiguration"]["level"] == "error"
    assert doc["runs"][0]["results"][0]["level"] == "error"


# --- results --------------------------------------------------------------------------


@pytest.mark.parametrize("severity,level", [("critical", "error"), ("high", "error"), ("medium", "warning"),
                                            ("low", "warning"), ("info", "note")])
def test_level_mapping(severity, level, validator):
    doc = sarif(Report(findings=[finding(severity=severity)]))
    check(doc, validator)
    assert doc["runs"][0]["results"][0]["level"] == level


def test_result_shape(validator):
    f = finding(line=7, end_line=9, column=5)
    doc = sarif(Report(findings=[f]))
    check(doc, validator)
    res = doc["runs"][0]["results"][0]
    assert res["ruleId"] == "IKMS101"
    assert res["message"]["text"] == f.message
    loc = res["locations"][0]
    assert loc["physicalLocation"]["artifactLocation"] == {"uri": "infra/main.tf", "uriBaseId": "%SRCROOT%"}
    assert loc["physicalLocation"]["region"] == {"startLine": 7, "startColumn": 5, "endLine": 9}
    assert loc["logicalLocations"] == [{"fullyQualifiedName": "aws_kms_key.main", "kind": "resource"}]
    assert doc["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"] == Path.cwd().as_uri().rstrip("/") + "/"


def test_no_logical_location_without_resource(validator):
    doc = sarif(Report(findings=[finding("IKMS001", resource="", message="cannot parse: unexpected token")]))
    check(doc, validator)
    assert "logicalLocations" not in doc["runs"][0]["results"][0]["locations"][0]


def test_region_never_below_one(validator):
    f = finding("IKMS001", line=0, end_line=0, column=0, resource="", message="empty file")
    doc = sarif(Report(findings=[f]))
    check(doc, validator)
    assert doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 1, "startColumn": 1, "endLine": 1}


@pytest.mark.parametrize("file,uri", [
    ("main.tf", "main.tf"),
    ("./infra/main.tf", "infra/main.tf"),
    ("my infra/k ms.tf", "my%20infra/k%20ms.tf"),
    ("a#b/100%.tf", "a%23b/100%25.tf"),
    ("c:odd/x.yaml", "c%3Aodd/x.yaml"),
    ("ünï/t.yaml", "%C3%BCn%C3%AF/t.yaml"),
    ("../shared/x.tf", "../shared/x.tf"),
])
def test_uri_encoding(file, uri, validator):
    doc = sarif(Report(findings=[finding(file=file)]))
    check(doc, validator)
    assert doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri


def test_rule_index_points_at_the_rule(validator):
    fs = [finding(rid, line=i + 1, end_line=i + 1) for i, rid in enumerate(sorted(REGISTRY))]
    doc = sarif(Report(findings=sorted(fs, key=Finding.sort_key)))
    check(doc, validator)
    assert {r["ruleId"] for r in doc["runs"][0]["results"]} == set(REGISTRY)


def test_stable_output():
    fs = [finding(line=5), finding("IKMS202", line=2), finding("IKMS101", file="a.tf")]
    report = Report(findings=sorted(fs, key=Finding.sort_key))
    assert render("sarif", report) == render("sarif", report)
    files_lines = [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                    r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in sarif(report)["runs"][0]["results"]]
    assert files_lines == sorted(files_lines)


# --- fingerprints -----------------------------------------------------------------------


def test_fingerprint_survives_moving_lines():
    a = finding(line=3, end_line=3)
    b = dataclasses.replace(a, line=40, end_line=42, column=7)
    assert fp(sarif(Report(findings=[a]))) == fp(sarif(Report(findings=[b])))


def test_fingerprint_ignores_line_numbers_in_the_message():
    a = finding("IKMS203", message="aws_kms_key.main: statement 2 (line 14) grants kms:* to a role")
    b = dataclasses.replace(a, line=30, message="aws_kms_key.main: statement 2 (line 31) grants kms:* to a role")
    assert fp(sarif(Report(findings=[a]))) == fp(sarif(Report(findings=[b])))


def test_policy_fingerprint_follows_the_statement_ident():
    a = finding("IKMS203", ident="AllowAdmins", line=12)
    moved = dataclasses.replace(a, line=30, message=a.message + " (moved)")
    other = dataclasses.replace(a, ident="AllowUsers")
    assert fp(sarif(Report(findings=[a]))) == fp(sarif(Report(findings=[moved])))
    assert fp(sarif(Report(findings=[a]))) != fp(sarif(Report(findings=[other])))


@pytest.mark.parametrize("change", [{"rule_id": "IKMS104"}, {"file": "other/main.tf"}, {"resource": "aws_kms_key.other"}])
def test_fingerprint_changes_with_rule_file_or_resource(change):
    a = finding()
    b = dataclasses.replace(a, **change)
    assert fp(sarif(Report(findings=[a]))) != fp(sarif(Report(findings=[b])))


def test_no_primary_location_line_hash():
    """upload-sarif computes it from the file's content; ours would be wrong."""
    res = sarif(Report(findings=[finding()]))["runs"][0]["results"][0]
    assert list(res["partialFingerprints"]) == ["iackms/v1"]


# --- category, suppressions, warnings -------------------------------------------------


@pytest.mark.parametrize("category,expected", [("iackms", "iackms/"), ("iackms/terraform", "iackms/terraform/"),
                                               ("iackms/cfn/", "iackms/cfn/")])
def test_category(category, expected, validator):
    doc = sarif(Report(findings=[finding()]), sarif_category=category)
    check(doc, validator)
    assert doc["runs"][0]["automationDetails"] == {"id": expected}


def test_no_category_by_default():
    assert "automationDetails" not in sarif(Report(), sarif_category=None)["runs"][0]
    assert "automationDetails" not in sarif(Report(), sarif_category="")["runs"][0]


def test_suppressed_findings_left_out(validator):
    kept = finding(line=3)
    gone = finding("IKMS104", line=8, suppressed=True, reason="replica required by DR plan")
    report = Report(findings=[kept], suppressed=[gone])
    doc = sarif(report)
    check(doc, validator, report)
    assert [r["ruleId"] for r in doc["runs"][0]["results"]] == ["IKMS101"]
    assert "suppressions" not in doc["runs"][0]["results"][0]


def test_suppressed_findings_shown_on_request(validator):
    kept = finding(line=3)
    gone = finding("IKMS104", line=8, suppressed=True, reason="replica required by DR plan")
    doc = sarif(Report(findings=[kept], suppressed=[gone]), show_suppressed=True)
    check(doc, validator)
    results = doc["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["IKMS101", "IKMS104"]
    assert results[0]["suppressions"] == []
    assert results[1]["suppressions"] == [{"kind": "inSource", "status": "accepted", "justification": "replica required by DR plan"}]


def test_warnings_become_notifications(validator):
    doc = sarif(Report(warnings=["x.tf: cannot read file"]))
    check(doc, validator)
    inv = doc["runs"][0]["invocations"][0]
    assert inv["executionSuccessful"] is True
    assert inv["toolExecutionNotifications"] == [{"level": "warning", "message": {"text": "x.tf: cannot read file"}}]


def test_cap_at_25000_results(validator, capsys):
    n = sarif_mod.MAX_RESULTS + 10
    fs = [finding("IKMS108", file=f"m{i // 1000}/main.tf", line=i % 1000 + 1, end_line=i % 1000 + 1,
                  resource=f"aws_kms_key.k{i}") for i in range(n - 3)]
    fs += [finding("IKMS202", file="z.tf", line=i + 1, end_line=i + 1, resource=f"aws_kms_key.p{i}") for i in range(3)]
    report = Report(findings=sorted(fs, key=Finding.sort_key))
    doc = sarif(report)
    check(doc, validator, report)
    results = doc["runs"][0]["results"]
    assert len(results) == sarif_mod.MAX_RESULTS
    assert sum(r["ruleId"] == "IKMS202" for r in results) == 3, "the most severe are kept"
    notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("10 of 25010 results left out" in n["message"]["text"] for n in notes)
    assert "25000" in capsys.readouterr().err


# --- real scans -------------------------------------------------------------------------


def _scan(path: Path, monkeypatch, cwd: Path) -> Report:
    from iackms.engine import scan

    monkeypatch.chdir(cwd)
    return scan([os.path.relpath(path, cwd)], Config(profile="strict"), cwd=cwd)


needs_tf = pytest.mark.skipif(not HAS_TF, reason="the Terraform parser (iackms.parsers.terraform) is not available yet")


@needs_tf
@pytest.mark.parametrize("case", sorted(p.name for p in (ROOT / "fixtures").glob("IKMS*")) or ["none"])
def test_fixtures_validate(case, validator, monkeypatch):
    d = ROOT / "fixtures" / case
    if not d.is_dir():
        pytest.skip("no fixtures")
    if not HAS_CFN and not any(d.rglob("*.tf")):
        pytest.skip("CloudFormation-only fixture and no CloudFormation parser yet")
    report = _scan(d, monkeypatch, ROOT)
    for show in (False, True):
        doc = sarif(report, show_suppressed=show, sarif_category="iackms")
        check(doc, validator, report if not show else None)
        for res in doc["runs"][0]["results"]:
            assert res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("fixtures/")


@needs_tf
def test_realworld_corpus_validates(validator, monkeypatch):
    if not REALWORLD.is_dir():
        pytest.skip(f"no corpus at {REALWORLD}")
    report = _scan(REALWORLD, monkeypatch, REALWORLD.parent)
    doc = sarif(report)
    check(doc, validator, report)
    assert doc["runs"][0]["results"], "the corpus has findings"
    assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("realworld/")
               for r in doc["runs"][0]["results"])


@needs_tf
def test_cli_sarif_and_github_in_one_run(tmp_path, monkeypatch, capsys, validator):
    from iackms.cli import main

    (tmp_path / "main.tf").write_text('resource "aws_kms_key" "k" {\n  enable_key_rotation = false\n}\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    code = main(["scan", "--format", "github", "--format", "sarif", "--output", "out.sarif", "--sarif-category", "tf", "."])
    assert code == 1
    out = capsys.readouterr().out
    assert "::warning file=main.tf,line=2," in out and "title=IKMS101 rotation-disabled::" in out
    doc = json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))
    check(doc, validator)
    assert doc["runs"][0]["automationDetails"] == {"id": "tf/"}
    res = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "IKMS101"]
    assert res and res[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
