"""The Checkov external checks, run under the real Checkov, installed beside
iackms in a virtualenv this test builds (Checkov is ~290 MB, so it is not a
test dependency of iackms itself)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iackms.checkov_adapter import check_id
from iackms.config import Config
from iackms.engine import scan
from iackms.rules import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CHECKS = ROOT / "checks"

pytestmark = pytest.mark.skipif(os.environ.get("IACKMS_SKIP_CHECKOV") == "1", reason="IACKMS_SKIP_CHECKOV=1")


@pytest.fixture(scope="session")
def checkov_venv(tmp_path_factory) -> Path:
    """A virtualenv with checkov 3.x and iackms (`pip install .`), in that order."""
    venv = tmp_path_factory.mktemp("checkov") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    r = subprocess.run([*pip, "checkov>=3.2,<4"], capture_output=True, text=True, timeout=1200)
    if r.returncode != 0:
        pytest.fail("installing checkov failed:\n" + r.stderr[-3000:])
    r = subprocess.run([*pip, str(ROOT)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return venv


def _checkov(venv: Path, *args: str, hide_iackms: bool = False, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    prelude = "sys.modules['iackms'] = None; " if hide_iackms else ""
    code = "import sys; " + prelude + "from checkov.main import Checkov; sys.exit(Checkov().run())"
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "WARNING"}
    env.pop("PYTHONPATH", None)
    return subprocess.run([str(venv / "bin" / "python"), "-c", code, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=900)


def test_installs_beside_checkov_without_conflicts(checkov_venv):
    py = str(checkov_venv / "bin" / "python")
    r = subprocess.run([py, "-m", "pip", "check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # Checkov's own HCL parser (bc-python-hcl2) is intact: it still parses Terraform
    r = subprocess.run([py, "-c", "import hcl2, io; print(hcl2.load(io.StringIO('a = 1'))['a'])"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "[1]", r.stderr
    r = subprocess.run([py, "-m", "iackms", "checkov-dir"], capture_output=True, text=True)
    assert r.returncode == 0 and (Path(r.stdout.strip()) / "iackms_kms_checks.py").is_file()


def test_missing_iackms_fails_loudly(checkov_venv):
    r = _checkov(checkov_venv, "-d", "examples/terraform", "--framework", "terraform", "--external-checks-dir", str(CHECKS), hide_iackms=True)
    assert r.returncode != 0
    assert "cannot import iackms" in r.stderr


def _results(report: dict | list) -> list[dict]:
    out = []
    for rep in report if isinstance(report, list) else [report]:
        for kind in ("failed_checks", "passed_checks"):
            for rec in rep.get("results", {}).get(kind, []):
                out.append(rec)
    return out


def _our_resource(checkov_resource: str) -> str:
    # CloudFormation resources are "AWS::KMS::Key.LogicalId"; Terraform keeps its address
    if checkov_resource.startswith("AWS::"):
        return checkov_resource.rsplit(".", 1)[1]
    return checkov_resource


def test_checks_agree_with_iackms_on_every_fixture(checkov_venv, monkeypatch):
    monkeypatch.chdir(ROOT)
    ids = ",".join(sorted({check_id(r) for r, rule in REGISTRY.items() if rule.meta.checkov}))
    r = _checkov(checkov_venv, "-d", "fixtures", "--framework", "terraform", "cloudformation", "--external-checks-dir",
                 str(CHECKS), "--check", ids, "-o", "json", "--compact", "--quiet")
    assert r.returncode in (0, 1), r.stderr[-3000:]
    records = _results(json.loads(r.stdout))
    assert records, "Checkov ran none of the iackms checks"
    checkov_verdict: dict[tuple[str, str, str], str] = {}
    for rec in records:
        rid = "IKMS" + rec["check_id"].rsplit("_", 1)[1]
        file = rec["repo_file_path"].lstrip("/")
        checkov_verdict[(rid, file, _our_resource(rec["resource"]))] = rec["check_result"]["result"]
    # iackms on the same files, fixture by fixture (each with its own profile/config, as the fixtures test does)
    disagreements = []
    for (rid, file, resource), verdict in sorted(checkov_verdict.items()):
        report = scan([file], Config(profile="strict"))
        ours = {(f.rule_id, f.resource) for f in report.findings}
        if verdict == "FAILED" and (rid, resource) not in ours:
            disagreements.append(f"{file}: {resource}: Checkov {check_id(rid)} FAILED, iackms reports no {rid}")
        if verdict == "PASSED" and (rid, resource) in ours:
            disagreements.append(f"{file}: {resource}: Checkov {check_id(rid)} PASSED, iackms reports {rid}")
    assert not disagreements, "\n".join(disagreements)
    # and every failing fixture's finding on a key is FAILED (or a documented UNKNOWN) in Checkov
    missing = []
    for d in sorted(FIXTURES.glob("IKMS*/")):
        rid = d.name
        meta = REGISTRY[rid].meta
        if not meta.checkov:
            continue
        for f in [d / "fail" / "main.tf", d / "fail.yaml"]:
            if not f.is_file():
                continue
            rel = f.relative_to(ROOT).as_posix()
            for finding in scan([rel], Config(profile="strict")).findings:
                if finding.rule_id != rid or finding.resource_type not in ("aws_kms_key", "aws_kms_replica_key", "aws_kms_external_key", "AWS::KMS::Key", "AWS::KMS::ReplicaKey"):
                    continue
                v = checkov_verdict.get((rid, rel, finding.resource))
                if v == "PASSED":
                    missing.append(f"{rel}: {finding.resource}: iackms {rid} but Checkov PASSED")
    assert not missing, "\n".join(missing)
