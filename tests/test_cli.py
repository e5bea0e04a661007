"""The command line as a user runs it: output contracts, exit codes,
suppressions, configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

BAD_TF = '''resource "aws_kms_key" "payments" {
  description         = "payments"
  enable_key_rotation = false
}
'''
SUPPRESSED_TF = '''resource "aws_kms_key" "legacy" {
  # iackms:skip=IKMS101 rotated by the vendor HSM procedure
  # iackms:skip=IKMS201
  enable_key_rotation = false
}

resource "aws_kms_key" "old" {
  #checkov:skip=CKV_AWS_7:migrating next quarter
  description = "old"
}
'''
CFN = '''AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Key:
    Type: AWS::KMS::Key
    Metadata:
      cfn_nag:
        rules_to_suppress:
          - id: F19
            reason: HSM-backed elsewhere
    Properties:
      Description: x
  Other:
    Type: AWS::KMS::Key
    Metadata:
      checkov:
        skip:
          - id: CKV_AWS_7
            comment: tracked in JIRA-1
      iackms:
        skip:
          - id: IKMS201
    Properties:
      Description: y
'''


def run(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    e = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "iackms", *args], cwd=cwd, capture_output=True, text=True, env=e, timeout=120)


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text(BAD_TF)
    return tmp_path


def test_text_output_and_exit_code(repo):
    r = run("scan", cwd=repo, env={"NO_COLOR": "1"})
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert "infra/main.tf:3: MEDIUM IKMS101 aws_kms_key.payments: aws_kms_key.payments has automatic rotation disabled: enable_key_rotation = false" in lines
    assert "infra/main.tf:1: LOW IKMS201 aws_kms_key.payments:" in r.stdout
    assert lines[-1].startswith("2 findings (1 medium, 1 low) in 1 file, 1 key checked")
    assert "\x1b[" not in r.stdout


def test_fail_on_threshold(repo):
    assert run("scan", "--fail-on", "high", cwd=repo).returncode == 0
    assert run("scan", "--fail-on", "medium", cwd=repo).returncode == 1


def test_json_contract(repo):
    r = run("scan", "infra", "--format", "json", cwd=repo)
    doc = json.loads(r.stdout)
    assert set(doc) >= {"version", "findings", "summary"}
    f = [x for x in doc["findings"] if x["rule_id"] == "IKMS101"][0]
    assert f == {"rule_id": "IKMS101", "title": f["title"], "severity": "medium", "file": "infra/main.tf", "line": 3, "end_line": 3,
                 "column": 3, "resource": "aws_kms_key.payments", "resource_type": "aws_kms_key", "message": f["message"]}
    assert doc["summary"]["total"] == 2 and doc["summary"]["by_severity"]["medium"] == 1
    assert [x["line"] for x in doc["findings"]] == sorted(x["line"] for x in doc["findings"])


def test_parse_error_resource_is_empty_string_and_other_files_still_scanned(repo):
    (repo / "infra" / "broken.tf").write_text('resource "aws_kms_key" "b" {\n  description = \n}\n')
    (repo / "other").mkdir()
    (repo / "other" / "main.tf").write_text(BAD_TF)
    doc = json.loads(run("scan", "--format", "json", cwd=repo).stdout)
    errs = [x for x in doc["findings"] if x["rule_id"] == "IKMS001"]
    assert len(errs) == 1 and errs[0]["file"] == "infra/broken.tf" and errs[0]["resource"] == "" and errs[0]["line"] in (2, 3)
    assert {x["file"] for x in doc["findings"] if x["rule_id"] == "IKMS101"} == {"infra/main.tf", "other/main.tf"}


def test_several_formats_in_one_run(repo):
    r = run("scan", "--format", "github", "--format", "json", "--output", "out.json", "--format", "sarif", "--output", "out.sarif", cwd=repo)
    assert r.returncode == 1
    assert r.stdout.startswith("::warning file=infra/main.tf,line=3")
    assert json.loads((repo / "out.json").read_text())["summary"]["total"] == 2
    assert json.loads((repo / "out.sarif").read_text())["version"] == "2.1.0"


def test_usage_errors_exit_2(repo):
    assert run("scan", "nosuch", cwd=repo).returncode == 2
    assert run("scan", "--format", "xml", cwd=repo).returncode == 2
    (repo / ".iackms.yaml").write_text("profil: cis\n")
    r = run("scan", cwd=repo)
    assert r.returncode == 2 and "unknown key `profil`" in r.stderr and "Traceback" not in r.stderr


def test_profile_and_config(repo):
    (repo / ".iackms.yaml").write_text("profile: cis\n")
    r = run("scan", "--format", "json", cwd=repo)
    assert {x["rule_id"] for x in json.loads(r.stdout)["findings"]} == {"IKMS101"}
    r = run("scan", "--format", "json", "--profile", "strict", cwd=repo)
    assert "IKMS113" in {x["rule_id"] for x in json.loads(r.stdout)["findings"]}
    (repo / ".iackms.yaml").write_text("severity: {IKMS101: low}\ndisable: [IKMS201]\n")
    r = run("scan", "--format", "json", "--fail-on", "medium", cwd=repo)
    assert r.returncode == 0 and [x["severity"] for x in json.loads(r.stdout)["findings"]] == ["low"]


def test_terraform_suppressions(tmp_path):
    (tmp_path / "main.tf").write_text(SUPPRESSED_TF)
    r = run("scan", "--format", "json", cwd=tmp_path)
    doc = json.loads(r.stdout)
    got = {(x["rule_id"], x["resource"]) for x in doc["findings"]}
    # IKMS101 suppressed with a reason; IKMS201 suppression has no reason: ignored, with a warning
    assert ("IKMS101", "aws_kms_key.legacy") not in got and ("IKMS201", "aws_kms_key.legacy") in got
    assert "suppression of IKMS201 on aws_kms_key.legacy has no reason" in r.stderr
    # checkov:skip=CKV_AWS_7 maps to IKMS101
    assert ("IKMS101", "aws_kms_key.old") not in got and ("IKMS201", "aws_kms_key.old") in got
    assert doc["summary"]["suppressed"] == 2
    shown = json.loads(run("scan", "--format", "json", "--show-suppressed", cwd=tmp_path).stdout)
    sup = [x for x in shown["findings"] if x.get("suppressed")]
    assert {(x["rule_id"], x["resource"], x["suppression_reason"]) for x in sup} == {
        ("IKMS101", "aws_kms_key.legacy", "rotated by the vendor HSM procedure"), ("IKMS101", "aws_kms_key.old", "migrating next quarter")}
    central = json.loads(run("scan", "--format", "json", "--no-suppress", cwd=tmp_path).stdout)
    assert ("IKMS101", "aws_kms_key.legacy") in {(x["rule_id"], x["resource"]) for x in central["findings"]}


def test_cloudformation_suppressions(tmp_path):
    (tmp_path / "t.yaml").write_text(CFN)
    r = run("scan", "--format", "json", cwd=tmp_path)
    got = {(x["rule_id"], x["resource"]) for x in json.loads(r.stdout)["findings"]}
    assert ("IKMS101", "Key") not in got and ("IKMS101", "Other") not in got  # cfn_nag F19, checkov comment
    assert ("IKMS201", "Other") in got and "IKMS201 on Other has no reason" in r.stderr


def test_rules_and_explain(tmp_path):
    r = run("rules", cwd=tmp_path)
    assert r.returncode == 0 and "IKMS202  public-principal" in r.stdout
    r = run("explain", "IKMS101", cwd=tmp_path)
    assert r.returncode == 0 and "## Why is this bad?" in r.stdout and "CIS" in r.stdout
    assert run("explain", "rotation-disabled", cwd=tmp_path).stdout == r.stdout
    assert run("explain", "IKMS999", cwd=tmp_path).returncode == 2


def test_findings_order_is_stable(repo):
    (repo / "b.tf").write_text(BAD_TF.replace("payments", "b"))
    outs = {run("scan", "--format", "json", cwd=repo).stdout for _ in range(3)}
    assert len(outs) == 1


def test_given_files_report_module_findings_at_the_module_block(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "modules" / "kms").mkdir(parents=True)
    (tmp_path / "main.tf").write_text('module "payments_key" {\n  source = "./modules/kms"\n  rotate = false\n}\n')
    (tmp_path / "vars.tf").write_text('resource "aws_kms_key" "other" {\n  enable_key_rotation = false\n}\n')
    (tmp_path / "modules" / "kms" / "main.tf").write_text(
        'variable "rotate" {\n  default = true\n}\n\nresource "aws_kms_key" "this" {\n  enable_key_rotation = var.rotate\n}\n')
    doc = json.loads(run("scan", "main.tf", "--format", "json", cwd=tmp_path).stdout)
    got = [(f["rule_id"], f["file"], f["line"], f["resource"]) for f in doc["findings"]]
    # only what belongs to main.tf: the module's key, at the module block; not vars.tf's key
    assert ("IKMS101", "main.tf", 1, "module.payments_key.aws_kms_key.this") in got
    assert all(f[1] == "main.tf" for f in got)
    msg = [f["message"] for f in doc["findings"] if f["rule_id"] == "IKMS101"][0]
    assert msg.endswith("(in the module, at modules/kms/main.tf:6)")


def test_custom_key_store_secret_reported_once_on_the_store(tmp_path):
    (tmp_path / "main.tf").write_text('''resource "aws_kms_custom_key_store" "hsm" {
  custom_key_store_name = "hsm"
  cloud_hsm_cluster_id  = "cluster-1"
  key_store_password    = "kmsuser-Passw0rd!"
}

resource "aws_kms_key" "a" {
  custom_key_store_id = aws_kms_custom_key_store.hsm.id
}

resource "aws_kms_key" "b" {
  custom_key_store_id = aws_kms_custom_key_store.hsm.id
}
''')
    doc = json.loads(run("scan", "--format", "json", cwd=tmp_path).stdout)
    hits = [(f["resource"], f["line"]) for f in doc["findings"] if f["rule_id"] == "IKMS112"]
    assert hits == [("aws_kms_custom_key_store.hsm", 4)]
    text = (tmp_path / "main.tf").read_text().replace('  custom_key_store_name = "hsm"\n', '  # iackms:skip=IKMS112 sandbox password, rotated daily\n  custom_key_store_name = "hsm"\n')
    (tmp_path / "main.tf").write_text(text)
    doc = json.loads(run("scan", "--format", "json", cwd=tmp_path).stdout)
    assert not [f for f in doc["findings"] if f["rule_id"] == "IKMS112"] and doc["summary"]["suppressed"] == 1


def test_two_formats_on_stdout_or_one_file_are_usage_errors(repo):
    r = run("scan", "--format", "sarif", "--format", "json", cwd=repo)
    assert r.returncode == 2 and "standard output" in r.stderr
    r = run("scan", "--format", "json", "--output", "x.json", "--format", "sarif", "--output", "x.json", cwd=repo)
    assert r.returncode == 2 and "same --output" in r.stderr
