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
                 "column": 3, "resource": "aws_kms_key.payments", "resource_type": "aws_kms_key", "message": f["message"],
                 "root": "infra", "related": []}
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


def test_a_finding_written_in_another_block_is_suppressed_above_that_block(tmp_path):
    """IKMS103 on a reserved alias name is about the key but written in the
    alias: the suppression above the alias counts (and is not stale); the
    key's other findings stay."""
    (tmp_path / "main.tf").write_text(
        'resource "aws_kms_key" "k" {\n  enable_key_rotation     = true\n  deletion_window_in_days = 3\n}\n\n'
        '# iackms:skip=IKMS103 the platform team owns this legacy alias name\n'
        'resource "aws_kms_alias" "a" {\n  name          = "alias/aws/legacy"\n  target_key_id = aws_kms_key.k.key_id\n}\n')
    r = run("scan", "--format", "json", "--show-suppressed", cwd=tmp_path)
    doc = json.loads(r.stdout)
    got = {(x["rule_id"], x["file"], x["line"], x["resource"], bool(x.get("suppressed"))) for x in doc["findings"] if x["rule_id"] == "IKMS103"}
    assert got == {("IKMS103", "main.tf", 3, "aws_kms_key.k", False), ("IKMS103", "main.tf", 8, "aws_kms_key.k", True)}
    assert "matches no finding" not in r.stderr


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


def test_given_files_report_module_findings_with_the_module_block_related(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "modules" / "kms").mkdir(parents=True)
    (tmp_path / "main.tf").write_text('module "payments_key" {\n  source = "./modules/kms"\n}\n')
    (tmp_path / "vars.tf").write_text('resource "aws_kms_key" "other" {\n  enable_key_rotation = false\n}\n')
    (tmp_path / "modules" / "kms" / "main.tf").write_text(
        'variable "rotate" {\n  default = true\n}\n\nresource "aws_kms_key" "this" {\n  enable_key_rotation = false\n}\n')
    doc = json.loads(run("scan", "main.tf", "--format", "json", cwd=tmp_path).stdout)
    got = [(f["rule_id"], f["file"], f["line"], f["resource"]) for f in doc["findings"]]
    # only what belongs to main.tf: the module's key, in the module's file, the module block related; not vars.tf's key
    assert ("IKMS101", "modules/kms/main.tf", 6, "module.payments_key.aws_kms_key.this") in got
    assert all(f["resource"].startswith("module.payments_key.") for f in doc["findings"])
    assert all(f["related"] == [{"file": "main.tf", "line": 1, "what": "call of module.payments_key"}] for f in doc["findings"])


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


# --- 11.5: paths, output and configuration ------------------------------------------


def test_paths_through_a_linked_directory_are_relative_to_the_real_one(tmp_path):
    """A working directory reached through a link (macOS /tmp) never gives ../../tmp/... paths."""
    real = tmp_path / "real"
    (real / "repo" / ".git").mkdir(parents=True)
    (real / "repo" / "infra").mkdir()
    (real / "repo" / "infra" / "main.tf").write_text(BAD_TF)
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    linked = tmp_path / "link" / "repo"
    for cwd, args in ((real / "repo", [str(linked / "infra")]), (linked, [str(linked / "infra" / "main.tf")]),
                      (linked, ["infra"]), (real / "repo" / "infra", [str(linked)])):
        doc = json.loads(run("scan", *args, "--format", "json", cwd=cwd).stdout)
        files = {f["file"] for f in doc["findings"]}
        want = "main.tf" if cwd.name == "infra" else "infra/main.tf"
        assert files == {want}, (cwd, args, files)


def test_output_creates_directories_and_the_summary_goes_to_stderr(repo):
    r = run("scan", "--format", "json", "--output", "reports/2024/x.json", "--format", "sarif", "--output", "reports/y/z.sarif", cwd=repo)
    assert r.returncode == 1, r.stderr
    assert json.loads((repo / "reports" / "2024" / "x.json").read_text())["summary"]["total"] == 2
    assert json.loads((repo / "reports" / "y" / "z.sarif").read_text())["version"] == "2.1.0"
    assert r.stdout == ""
    assert "iackms: 2 findings (1 medium, 1 low) in 1 file, 1 key checked" in r.stderr.splitlines()
    # one format on standard output: that output is the result, nothing more on stderr
    r = run("scan", "--format", "json", "--format", "sarif", "--output", "out/z.sarif", cwd=repo)
    assert json.loads(r.stdout)["summary"]["total"] == 2 and "finding" not in r.stderr
    r = run("scan", "--output", "only-text/out.txt", cwd=repo)
    assert (repo / "only-text" / "out.txt").read_text().splitlines()[-1].startswith("2 findings")
    assert "iackms: 2 findings" in r.stderr


def test_files_scanned_counts_only_terraform_cloudformation_and_plans(repo):
    (repo / "k8s").mkdir()
    (repo / "k8s" / "deploy.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n")
    (repo / "package.json").write_text('{"name": "x", "version": "1.0.0"}\n')
    (repo / "ci.yml").write_text("on: push\n")
    (repo / "cfn").mkdir()
    (repo / "cfn" / "key.yaml").write_text(CFN)
    (repo / "plan.json").write_text('{"format_version": "1.2", "terraform_version": "1.7.0", "planned_values": {"root_module": {}}}\n')
    doc = json.loads(run("scan", "--format", "json", cwd=repo).stdout)
    assert doc["summary"]["files_scanned"] == 3  # main.tf, key.yaml, plan.json
    r = run("scan", "k8s", "package.json", cwd=repo)
    assert r.returncode == 0
    assert r.stdout.splitlines()[-1] == "0 findings: no Terraform, CloudFormation or plan file found"
    assert json.loads(run("scan", "k8s", "--format", "json", cwd=repo).stdout)["summary"]["files_scanned"] == 0


def test_fail_on_info_from_the_command_line_and_the_configuration(repo):
    (repo / ".iackms.yaml").write_text("disable: [IKMS101]\nseverity: {IKMS201: info}\n")
    assert run("scan", cwd=repo).returncode == 0  # default low: an info finding does not fail
    assert run("scan", "--fail-on", "info", cwd=repo).returncode == 1
    (repo / ".iackms.yaml").write_text("disable: [IKMS101]\nseverity: {IKMS201: info}\nfail_on: info\n")
    assert run("scan", cwd=repo).returncode == 1
    assert run("scan", "--fail-on", "low", cwd=repo).returncode == 0  # the command line wins
    (repo / ".iackms.yaml").write_text("fail-on: high\n")
    assert run("scan", cwd=repo).returncode == 0  # a medium and a low finding
    (repo / ".iackms.yaml").write_text("fail_on: none\n")
    r = run("scan", cwd=repo)
    assert r.returncode == 2 and "`fail_on` must be one of critical, high, medium, low, info" in r.stderr
    # IKMS002 notes never fail a run, even at info
    (repo / "infra" / "main.tf").write_text('variable "r" {}\nresource "aws_kms_key" "k" {\n  enable_key_rotation = var.r\n  policy = var.p\n}\n')
    (repo / ".iackms.yaml").write_text("disable: [IKMS201]\n")
    r = run("scan", "--fail-on", "info", "--format", "json", cwd=repo)
    assert {f["rule_id"] for f in json.loads(r.stdout)["findings"]} == {"IKMS002"} and r.returncode == 0


def test_rule_names_wherever_rule_ids(repo):
    (repo / ".iackms.yaml").write_text("disable: [rotation-disabled]\nenable: [Deletion-Protection]\nseverity: {no-explicit-key-policy: high}\n")
    doc = json.loads(run("scan", "--format", "json", cwd=repo).stdout)
    got = {(f["rule_id"], f["severity"]) for f in doc["findings"]}
    assert got == {("IKMS201", "high"), ("IKMS113", "low")}
    (repo / ".iackms.yaml").write_text("disable: [rotation-disabld]\n")
    r = run("scan", cwd=repo)
    assert r.returncode == 2 and "unknown rule(s): rotation-disabld" in r.stderr
    (repo / ".iackms.yaml").write_text("")
    (repo / "infra" / "main.tf").write_text(BAD_TF.replace("  description", "  # iackms:skip=rotation-disabled vendor HSM rotates it\n  description"))
    doc = json.loads(run("scan", "--format", "json", cwd=repo).stdout)
    assert {f["rule_id"] for f in doc["findings"]} == {"IKMS201"} and doc["summary"]["suppressed"] == 1


def _wheel_venv(tmp_path: Path) -> Path:
    """A virtualenv holding only the iackms wheel built from this tree (its
    dependencies come from the test environment, never the source tree)."""
    import shutil
    import site
    import sysconfig

    try:
        import setuptools  # noqa: F401
        import wheel  # noqa: F401
    except ImportError:
        pytest.skip("setuptools and wheel are needed to build the wheel offline (test extra)")
    src = tmp_path / "src-copy"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "tests",
                                                             "fixtures", "docs", "benchmarks", ".pytest_cache", ".hypothesis"))
    # README.md is the long description
    dist = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(dist), str(src)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    (whl,) = dist.glob("iackms-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q", str(whl)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True, check=True).stdout.strip()
    # the dependencies (orjson, PyYAML, tree-sitter) from this environment, through a plain path entry
    # (its .pth files, the editable install of iackms among them, are not processed)
    deps = [p for p in {*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]} if Path(p).is_dir()]
    Path(purelib, "test-deps.pth").write_text("\n".join(deps) + "\n")
    return venv


def test_explain_prints_the_whole_page_from_an_installed_wheel(tmp_path):
    venv = _wheel_venv(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import iackms; print(iackms.__file__)"], cwd=elsewhere,
                           capture_output=True, text=True, env=env, check=True).stdout
    assert str(venv) in where and str(ROOT) not in where
    r = subprocess.run([str(venv / "bin" / "iackms"), "explain", "rotation-disabled"], cwd=elsewhere, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    page = (ROOT / "src" / "iackms" / "data" / "rules" / "IKMS101.md").read_text(encoding="utf-8")
    assert r.stdout == page
    for part in ("# IKMS101 rotation-disabled", "## Example", "Terraform, flagged:", "```hcl", "CloudFormation, flagged:", "```yaml",
                 "## Use instead", "## How to suppress", "## References"):
        assert part in r.stdout
