"""Findings that carry their own severity, IKMS002 notes merged per unresolved
value (and how suppressions apply to them), remote modules in the summary of
every format, Rain modules and the caller identity: each case names the rule,
file, line and resource."""

from __future__ import annotations

import json
from pathlib import Path

from iackms.config import Config
from iackms.engine import scan
from iackms.reporters import github, jsonfmt, sarif, text

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

OPS = '''variable "operators" {
  type = list(string)
}

data "aws_caller_identity" "current" {}

resource "aws_kms_key" "ops" {
  # iackms:skip=IKMS207 grants are reviewed in the access board
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "Root", Effect = "Allow", Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }, Action = "kms:*", Resource = "*" },
      { Sid = "Operators", Effect = "Allow", Principal = { AWS = var.operators }, Action = ["kms:Decrypt", "kms:CreateGrant", "kms:ScheduleKeyDeletion"], Resource = "*" },
    ]
  })
}
'''


def _scan(path: str, cfg: Config | None = None, **kw):
    return scan([path], cfg or Config(), **kw)


def test_full_control_to_another_account_is_high_unless_configured(monkeypatch):
    monkeypatch.chdir(ROOT)
    path = "fixtures/IKMS206/fail-home-shown/main.tf"
    r = _scan(path, Config(profile="strict"))
    got = [(f.line, f.resource, f.severity) for f in r.findings if f.rule_id == "IKMS206"]
    assert got == [(18, "aws_kms_key.shared", "high"), (25, "aws_kms_key.shared", "high")]
    assert "full control of the key" in r.findings[[f.rule_id for f in r.findings].index("IKMS206")].message
    # the configured severity of the rule wins over the finding's own
    r = _scan(path, Config(profile="strict", severity={"IKMS206": "low"}))
    assert {f.severity for f in r.findings if f.rule_id == "IKMS206"} == {"low"}
    # and every format shows it as the finding's severity
    r = _scan(path, Config(profile="strict"))
    assert "HIGH IKMS206 aws_kms_key.shared" in text.render(r)
    assert {d["severity"] for d in json.loads(jsonfmt.render(r))["findings"] if d["rule_id"] == "IKMS206"} == {"high"}
    levels = {x["level"] for x in json.loads(sarif.render(r))["runs"][0]["results"] if x["ruleId"] == "IKMS206"}
    assert levels == {"error"}
    assert all(c.startswith("::error ") for c in github.render(r).splitlines() if "title=IKMS206" in c)


def test_one_note_per_value_and_line_naming_every_rule(monkeypatch):
    monkeypatch.chdir(ROOT)
    r = _scan("fixtures/IKMS002/fail-merged-note/main.tf", Config(profile="strict"))
    notes = [f for f in r.findings if f.rule_id == "IKMS002"]
    assert [(n.file, n.line, n.resource) for n in notes] == [("fixtures/IKMS002/fail-merged-note/main.tf", 22, "aws_kms_key.ops")]
    assert notes[0].message.startswith("IKMS204, IKMS206, IKMS207, IKMS208, IKMS209 could not decide: statement 'Operators'")
    assert notes[0].about == "IKMS204,IKMS206,IKMS207,IKMS208,IKMS209"


def test_merged_note_keeps_its_first_rules_fingerprint(monkeypatch):
    monkeypatch.chdir(ROOT)
    path = "fixtures/IKMS002/fail-merged-note/main.tf"
    merged = [f for f in _scan(path, Config(profile="strict")).findings if f.rule_id == "IKMS002"][0]
    alone = [f for f in _scan(path, Config(profile="strict", disable={"IKMS206", "IKMS207", "IKMS208", "IKMS209"})).findings
             if f.rule_id == "IKMS002"][0]
    assert alone.about == "IKMS204" and alone.message.startswith("IKMS204 admin-and-usage-combined: ")
    assert sarif.fingerprint(merged) == sarif.fingerprint(alone)
    # the same on every run
    again = [f for f in _scan(path, Config(profile="strict")).findings if f.rule_id == "IKMS002"][0]
    assert sarif.fingerprint(again) == sarif.fingerprint(merged)


def test_a_suppressed_rule_leaves_the_merged_note(tmp_path, monkeypatch):
    (tmp_path / "main.tf").write_text(OPS)
    monkeypatch.chdir(tmp_path)
    r = _scan(".")
    notes = [f for f in r.findings if f.rule_id == "IKMS002"]
    # IKMS207's part is suppressed (with its reason), the other rules' note stays
    assert [(n.line, n.about) for n in notes] == [(14, "IKMS204,IKMS206")]
    assert notes[0].message.startswith("IKMS204, IKMS206 could not decide: ")
    assert [(f.rule_id, f.about, f.suppression_reason) for f in r.suppressed] == [
        ("IKMS002", "IKMS207", "grants are reviewed in the access board")]
    # a suppression of IKMS002 hides the whole note
    (tmp_path / "main.tf").write_text(OPS.replace("iackms:skip=IKMS207", "iackms:skip=IKMS002"))
    r = _scan(".")
    assert not [f for f in r.findings if f.rule_id == "IKMS002"]
    assert [(f.about, f.line) for f in r.suppressed] == [("IKMS204,IKMS206,IKMS207", 14)]


def test_remote_modules_in_sarif_properties_and_job_summary(monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    r = _scan("fixtures/IKMS002/pass-remote-module/main.tf")
    assert not [f for f in r.findings if f.rule_id == "IKMS002"]
    run = json.loads(sarif.render(r))["runs"][0]
    assert run["properties"]["remoteModulesNotScanned"] == [{"source": "terraform-aws-modules/vpc/aws", "calls": [
        {"file": "fixtures/IKMS002/pass-remote-module/main.tf", "line": 2, "module": "vpc"},
        {"file": "fixtures/IKMS002/pass-remote-module/main.tf", "line": 7, "module": "vpc_secondary"}]}]
    assert not [x for x in run["results"] if "remote" in x["message"]["text"]]
    md = github.summary(r)
    assert "1 remote module not scanned" in md and "`terraform-aws-modules/vpc/aws` (module vpc at" in md and "and 1 more call" in md
    assert text.render(r).rstrip().endswith("1 remote module not scanned: terraform-aws-modules/vpc/aws (2 calls)")


def test_rain_module_keys_are_checked_as_the_templates(tmp_path, monkeypatch):
    (tmp_path / "modules").mkdir()
    (tmp_path / "modules" / "key.yaml").write_text((FIXTURES / "IKMS002" / "pass-rain-module" / "key-module.yaml").read_text()
                                                   .replace("kms:DescribeKey, kms:PutKeyPolicy", "kms:Decrypt, kms:PutKeyPolicy"))
    (tmp_path / "main.yaml").write_text('AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  App:\n'
                                        '    Type: !Rain::Module modules/key.yaml\n    Properties:\n      AdminRole: ops\n')
    monkeypatch.chdir(tmp_path)
    r = _scan(".")
    assert [(f.rule_id, f.file, f.line, f.resource) for f in r.findings] == [("IKMS204", "modules/key.yaml", 20, "AppKey")]
    assert "role/ops can both administer" in r.findings[0].message
    assert r.keys_checked == 1  # the module file is checked through its template only
    # the module resource that adds the key is a related location: pre-commit gives the template alone
    assert r.findings[0].related == (("main.yaml", 3, "call of App"),)
    r = _scan("main.yaml")
    assert [(f.rule_id, f.file, f.line, f.resource, f.related) for f in r.findings] == [
        ("IKMS204", "modules/key.yaml", 20, "AppKey", (("main.yaml", 3, "call of App"),))]


def test_rain_module_out_of_the_scan_is_not_read(tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "key.yaml").write_text((FIXTURES / "IKMS002" / "pass-rain-module" / "key-module.yaml").read_text())
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "main.yaml").write_text('AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  App:\n    Type: !Rain::Module ../outside/key.yaml\n')
    monkeypatch.chdir(proj)
    r = _scan(".")
    assert [(f.rule_id, f.line, f.resource) for f in r.findings] == [("IKMS002", 3, "App")]
    assert "cannot be read" in r.findings[0].message and r.keys_checked == 0
