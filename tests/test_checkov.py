"""The Checkov external checks, run under the real Checkov, installed beside
iackms in a virtualenv this test builds (Checkov is ~290 MB, so it is not a
test dependency of iackms itself).

Parity: on the rule fixtures, the real-world corpus and the peers' fixtures
(../shared/corpus), every CKV_IACKMS_<n> result Checkov gives agrees with
`iackms scan` of the same directory for the same resource: FAILED where it
reports IKMS<n>, SKIPPED where a suppression silences it, PASSED where it
reports neither, UNKNOWN (left out of Checkov's report) where it reports
IKMS002 about IKMS<n>, the rule is off, or iackms does not judge the resource.
A probe check that passes on every resource the iackms checks run on tells
which resources Checkov shows, so an UNKNOWN is checked too."""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from iackms.checkov_adapter import TYPES, supported_types
from iackms.config import for_path
from iackms.engine import enabled_rules, scan
from iackms.parsers.checkov_resource import CLOUDFORMATION, TERRAFORM, instance_names
from iackms.rules import REGISTRY
from iackms.vocab import UNRESOLVED, checkov_id

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CHECKS = ROOT / "checks"
CORPUS = ROOT.parent / "shared" / "corpus"
if not CORPUS.is_dir():  # a git worktree beside the main checkout
    CORPUS = Path("/work/shared/corpus")
PEERS = ("cfn-lint", "cfn_nag", "cfripper", "checkov", "kics", "trivy-checks")
SEEN = "CKV_IACKMSTEST_SEEN"
IDS = sorted({checkov_id(r) for r in REGISTRY if supported_types(r, TERRAFORM) or supported_types(r, CLOUDFORMATION)})

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


def _command(venv: Path, args: list[str], hide_iackms: bool) -> list[str]:
    prelude = "sys.modules['iackms'] = None; " if hide_iackms else ""
    code = "import sys; " + prelude + "from checkov.main import Checkov; sys.exit(Checkov().run())"
    return [str(venv / "bin" / "python"), "-c", code, *args]


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "WARNING", **extra}
    env.pop("PYTHONPATH", None)
    return env


def _checkov(venv: Path, *args: str, hide_iackms: bool = False, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(_command(venv, list(args), hide_iackms), capture_output=True, text=True, cwd=cwd,
                          env=_env(**(env or {})), timeout=900)


def _reports(stdout: str) -> list[dict]:
    """Checkov's JSON reports: one document per `-d` root, each a report or a list of them."""
    out: list[dict] = []
    dec, i = json.JSONDecoder(), 0
    while i < len(stdout):
        if stdout[i].isspace():
            i += 1
            continue
        doc, i = dec.raw_decode(stdout, i)
        out.extend(doc if isinstance(doc, list) else [doc])
    return out


def _records(reports: list[dict]):
    for rep in reports:
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for rec in rep.get("results", {}).get(kind, []):
                yield rep["check_type"], rec


def _kms_dir(tmp_path: Path) -> Path:
    """Keys that Checkov's own CKV_AWS_7 and iackms's IKMS101 pass, in both frameworks."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "main.tf").write_text('resource "aws_kms_key" "good" {\n  enable_key_rotation = true\n}\n')
    (tmp_path / "template.yaml").write_text("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Key:\n"
                                            "    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: true\n")
    return tmp_path


def test_installs_beside_checkov_without_conflicts(checkov_venv):
    py = str(checkov_venv / "bin" / "python")
    r = subprocess.run([py, "-m", "pip", "check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # Checkov's own HCL parser (bc-python-hcl2) is intact: it still parses Terraform
    r = subprocess.run([py, "-c", "import hcl2, io; print(hcl2.load(io.StringIO('a = 1'))['a'])"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "[1]", r.stderr
    r = subprocess.run([py, "-m", "iackms", "checkov-dir"], capture_output=True, text=True)
    assert r.returncode == 0 and (Path(r.stdout.strip()) / "iackms_kms_checks.py").is_file()


# --- a missing iackms fails the run loudly, once, and Checkov's results stay -----------------

#: Checkov runs its runners in processes of their own on Linux, in threads on macOS and Windows
THREADS = {"CHECKOV_PARALLELIZATION_TYPE": "thread"}
LOUD = {
    "terraform and cloudformation": (["-d", ".", "--framework", "terraform", "cloudformation"], {}),
    "every framework": (["-d", "."], {}),
    "one file": (["-f", "main.tf"], {}),
    "terraform and cloudformation in threads": (["-d", ".", "--framework", "terraform", "cloudformation"], THREADS),
}


@pytest.mark.parametrize("args,env", LOUD.values(), ids=LOUD.keys())
def test_missing_iackms_fails_loudly_once_and_keeps_checkovs_results(checkov_venv, tmp_path, args, env):
    cwd = _kms_dir(tmp_path)
    r = _checkov(checkov_venv, *args, "--external-checks-dir", str(CHECKS), "--check", "CKV_AWS_7,CKV_IACKMS_101",
                 "-o", "json", hide_iackms=True, cwd=cwd, env=env)
    assert r.stderr.count("cannot import iackms") == 1, r.stderr[-3000:]
    results = Counter((rec["check_id"], rec["check_result"]["result"]) for _, rec in _records(_reports(r.stdout)))
    assert results[("CKV_AWS_7", "PASSED")] >= 1, results  # Checkov's own results are all there
    assert results[("CKV_IACKMS_0", "FAILED")] == 1, results  # the failure, once
    assert sum(n for (_, verdict), n in results.items() if verdict == "FAILED") == 1
    assert r.returncode == 1  # only that failure makes the exit code


def test_an_invalid_configuration_fails_loudly_once(checkov_venv, tmp_path):
    cwd = _kms_dir(tmp_path)
    (cwd / ".iackms.yaml").write_text("profile: nonsense\n")
    r = _checkov(checkov_venv, "-d", ".", "--framework", "terraform", "cloudformation", "--external-checks-dir", str(CHECKS),
                 "--check", "CKV_AWS_7,CKV_IACKMS_101", "-o", "json", cwd=cwd)
    assert r.stderr.count("invalid iackms configuration") == 1, r.stderr[-3000:]
    results = Counter((rec["check_id"], rec["check_result"]["result"]) for _, rec in _records(_reports(r.stdout)))
    assert results[("CKV_IACKMS_0", "FAILED")] == 1 and results[("CKV_AWS_7", "PASSED")] >= 1, results
    assert not [k for k in results if k[0] == "CKV_IACKMS_101"]  # UNKNOWN: left out
    assert r.returncode == 1


SCANS = {
    "files given with -f": (["-f", "main.tf", "-f", "template.yaml"], {}),
    "runners in threads": (["-d", ".", "--framework", "terraform", "cloudformation"], THREADS),
}


@pytest.mark.parametrize("args,env", SCANS.values(), ids=SCANS.keys())
def test_checks_answer_in_every_way_checkov_runs_them(checkov_venv, tmp_path, args, env):
    cwd = _kms_dir(tmp_path)
    (cwd / "main.tf").write_text('resource "aws_kms_key" "bad" {\n  for_each = { a = 1 }\n}\n')
    r = _checkov(checkov_venv, *args, "--external-checks-dir", str(CHECKS), "--check", "CKV_IACKMS_101", "-o", "json",
                 cwd=cwd, env=env)
    got = {(rec["resource"], rec["check_result"]["result"]) for _, rec in _records(_reports(r.stdout))}
    assert got == {('aws_kms_key.bad["a"]', "FAILED"), ("AWS::KMS::Key.Key", "PASSED")}, r.stderr[-3000:]


# --- parity --------------------------------------------------------------------------------

SEEN_CHECK = f'''
from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck as Cfn
from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck as Tf

from iackms.checkov_adapter import TYPES


class Seen:
    def scan_resource_conf(self, conf):
        return CheckResult.PASSED


for base, framework in ((Tf, "terraform"), (Cfn, "cloudformation")):
    types = sorted({{t for ts in TYPES[framework].values() for t in ts}})
    type("Seen", (Seen, base), {{}})(name="seen", id="{SEEN}", categories=[CheckCategories.ENCRYPTION], supported_resources=types)
'''


def _rain_templates(cwd: Path, roots: list[str]) -> list[str]:
    """Templates using Rain modules: Checkov 3.3.30's CloudFormation runner crashes on `Type: !Rain::Module`
    (the type is a mapping) and loses every result, so they are left out of its run (iackms reads them)."""
    out = []
    for root in roots:
        for p in sorted((cwd / root).rglob("*")):
            if p.suffix in (".yaml", ".yml", ".json", ".template") and p.is_file():
                try:
                    if "Rain::Module" in p.read_text(encoding="utf-8", errors="replace"):
                        out.append(p.relative_to(cwd).as_posix())
                except OSError:
                    continue
    return out


def _corpora() -> dict[str, tuple[Path, list[str]]]:
    """corpus -> (directory Checkov and iackms run in, the roots they scan)."""
    out = {"fixtures": (ROOT, ["fixtures"])}
    if (CORPUS / "realworld").is_dir():
        out["realworld"] = (CORPUS, ["realworld"])
    peers = [p for p in PEERS if (CORPUS / p).is_dir()]
    if peers:
        out["peers"] = (CORPUS, peers)
    return out


@pytest.fixture(scope="module")
def parity_runs(checkov_venv, tmp_path_factory) -> dict[str, list[dict]]:
    """One Checkov run per corpus, limited to the CKV_IACKMS checks and the probe (one at a time: each run
    already keeps both cores busy)."""
    probe = tmp_path_factory.mktemp("seen")
    (probe / "__init__.py").write_text("")
    (probe / "iackms_seen_probe.py").write_text(SEEN_CHECK)
    out = {}
    for name, (cwd, roots) in _corpora().items():
        args = [a for root in roots for a in ("-d", root)]
        args += [a for f in _rain_templates(cwd, roots) for a in ("--skip-path", re.escape(f))]
        r = _checkov(checkov_venv, *args, "--framework", "terraform", "cloudformation", "--external-checks-dir", str(CHECKS),
                     "--external-checks-dir", str(probe), "--check", ",".join([*IDS, SEEN]), "-o", "json", "--compact", cwd=cwd)
        assert r.returncode in (0, 1), r.stderr[-3000:]
        assert "iackms checks for Checkov" not in r.stderr, r.stderr[-3000:]
        out[name] = _reports(r.stdout)
    return out


def _resource(framework: str, resource: str) -> tuple[str, frozenset[str]]:
    """A Checkov resource's type, and the names iackms may report it under."""
    if framework == CLOUDFORMATION:
        rtype, logical_id = resource.rsplit(".", 1)
        return rtype, frozenset({logical_id})
    names = instance_names(resource)
    return min(names, key=len).split(".")[-2], names


def _expected(rule_id: str, keys: list[tuple[str, str]], enabled: set[str], judged, by_resource, silenced) -> str:
    """What `iackms scan` says of a rule on a resource, in Checkov's words."""
    if rule_id not in enabled:
        return "UNKNOWN: rule off"
    if not any(k in judged for k in keys):
        return "UNKNOWN: not judged by iackms"
    mine = [f for k in keys for f in by_resource.get(k, ())]
    if any(f.rule_id == rule_id for f in mine):
        return "FAILED"
    if any(rule_id in (f.rule_id, f.about) for k in keys for f in silenced.get(k, ())):
        return "SKIPPED"
    if any(f.rule_id == UNRESOLVED and f.about == rule_id for f in mine):
        return "UNKNOWN: IKMS002"
    return "PASSED"


@pytest.mark.parametrize("corpus", ["fixtures", "realworld", "peers"])
def test_every_check_result_agrees_with_iackms_scan(parity_runs, corpus, monkeypatch, capsys):
    if corpus not in parity_runs:
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    cwd, roots = _corpora()[corpus]
    monkeypatch.chdir(cwd)
    results: dict[tuple, str] = {}
    for framework, rec in _records(parity_runs[corpus]):
        key = (framework, rec["check_id"], rec["resource"], os.path.realpath(rec["file_abs_path"]), rec.get("caller_file_path"))
        verdict = rec["check_result"]["result"]
        assert results.setdefault(key, verdict) == verdict, f"Checkov answers {key} twice, differently"
    shown = {(fw, res, file, caller) for fw, cid, res, file, caller in results if cid == SEEN}
    assert shown, "Checkov showed no resource to the iackms checks"
    agree: Counter[str] = Counter()
    disagreements, unseen = [], 0
    for root in roots:
        cfg = for_path(Path(root))
        report = scan([root], cfg)
        enabled = enabled_rules(cfg)
        judged = {(name, os.path.realpath(file)) for name, file in report.resources}
        by_resource: dict = {}
        silenced: dict = {}
        for into, found in ((by_resource, report.findings), (silenced, report.suppressed)):
            for f in found:
                into.setdefault((f.resource, os.path.realpath(f.resource_file)), []).append(f)
        inside = os.path.realpath(root) + os.sep
        shown_here = [s for s in shown if s[2].startswith(inside)]
        for framework, resource, file, caller in shown_here:
            rtype, names = _resource(framework, resource)
            keys = [(n, file) for n in sorted(names)]
            for rid in sorted(REGISTRY):
                if rtype not in supported_types(rid, framework):
                    continue
                got = results.get((framework, checkov_id(rid), resource, file, caller), "UNKNOWN")
                want = _expected(rid, keys, enabled, judged, by_resource, silenced)
                if got == want.split(":")[0]:
                    agree[want] += 1
                else:
                    disagreements.append(f"{os.path.relpath(file)}: {resource}: Checkov {checkov_id(rid)} {got}, iackms scan {want}")
        shown_keys = {(n, file) for fw, res, file, _ in shown_here for n in _resource(fw, res)[1]}
        key_types = {t for ts in TYPES[TERRAFORM].values() for t in ts} | {t for ts in TYPES[CLOUDFORMATION].values() for t in ts}
        unseen += sum(1 for f in report.findings if f.resource_type in key_types and f.rule_id != UNRESOLVED
                      and (f.resource, os.path.realpath(f.resource_file)) not in shown_keys)
    with capsys.disabled():
        print(f"\n{corpus}: {sum(agree.values())} (rule, resource) pairs agree: "
              + ", ".join(f"{k} {v}" for k, v in sorted(agree.items()))
              + f"; {len(disagreements)} disagree; {unseen} iackms findings on resources Checkov does not show")
    assert not disagreements, "\n".join(disagreements)
