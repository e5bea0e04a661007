"""The pre-commit hook, run by the real pre-commit (`pre-commit try-repo`)
in a temporary git repository, as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BAD_TF = 'resource "aws_kms_key" "bad" {\n  description         = "payments"\n  enable_key_rotation = false\n}\n'
GOOD_TF = ('data "aws_caller_identity" "current" {}\n\nresource "aws_kms_key" "good" {\n  description         = "payments"\n'
           '  enable_key_rotation = true\n  policy = jsonencode({\n    Version = "2012-10-17"\n    Statement = [{\n'
           '      Sid       = "Root"\n      Effect    = "Allow"\n'
           '      Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }\n'
           '      Action    = "kms:*"\n      Resource  = "*"\n    }]\n  })\n}\n')

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _pre_commit() -> list[str]:
    exe = Path(sys.executable).parent / "pre-commit"
    if not exe.exists():
        pytest.skip("pre-commit is not installed (test extra)")
    return [str(exe)]


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"})


@pytest.fixture(scope="module")
def hook_home(tmp_path_factory):
    """One pre-commit cache for the module: the hook's virtualenv is built once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def _try(repo: Path, home: Path, hook: str = "iackms") -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([*_pre_commit(), "try-repo", str(ROOT), hook], cwd=repo, capture_output=True, text=True, env=env, timeout=900)


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    for name, text in files.items():
        p = repo / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    _git(repo, "add", ".")
    return repo


def test_bad_key_fails_the_commit(tmp_path, hook_home):
    repo = _repo(tmp_path, {"infra/kms.tf": BAD_TF})
    r = _try(repo, hook_home)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "infra/kms.tf:3: MEDIUM IKMS101 aws_kms_key.bad:" in out


def test_clean_key_passes(tmp_path, hook_home):
    repo = _repo(tmp_path, {"infra/kms.tf": GOOD_TF})
    r = _try(repo, hook_home)
    assert r.returncode == 0, r.stdout + r.stderr


def test_yaml_that_is_not_a_template_passes(tmp_path, hook_home):
    repo = _repo(tmp_path, {".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps: [{run: 'echo Resources'}]\n",
                            "k8s/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"})
    r = _try(repo, hook_home)
    assert r.returncode == 0, r.stdout + r.stderr


def test_only_staged_file_findings_are_reported(tmp_path, hook_home):
    # the policy lives in a sibling file that is not staged: it is still loaded, its key is clean
    repo = _repo(tmp_path, {"infra/kms.tf": BAD_TF})
    _git(repo, "commit", "-qm", "init")
    (repo / "infra" / "other.tf").write_text(GOOD_TF.replace('"good"', '"other"'))
    _git(repo, "add", "infra/other.tf")
    env = {**os.environ, "PRE_COMMIT_HOME": str(hook_home), "NO_COLOR": "1"}
    env.pop("VIRTUAL_ENV", None)
    r = subprocess.run([*_pre_commit(), "try-repo", str(ROOT), "iackms", "--files", "infra/other.tf"], cwd=repo,
                       capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "IKMS101" not in r.stdout


# --- 11.4: the hook blocks what a staged change breaks ----------------------------------------

MODULE_ROOT = {
    "infra/main.tf": ('resource "aws_kms_key" "k" {\n  description         = "payments"\n  enable_key_rotation = var.rotate\n'
                      '  policy = jsonencode({\n    Version = "2012-10-17"\n    Statement = [{\n      Sid       = "Root"\n'
                      '      Effect    = "Allow"\n      Principal = { AWS = "arn:aws:iam::111122223333:root" }\n'
                      '      Action    = "kms:*"\n      Resource  = "*"\n    }]\n  })\n}\n'),
    "infra/variables.tf": 'variable "rotate" {\n  default = true\n}\n',
    "infra/terraform.tfvars": 'rotate = true\n',
}


def _staged(tmp_path: Path, home: Path, change: dict[str, str], files: dict[str, str] = MODULE_ROOT) -> subprocess.CompletedProcess:
    """A clean commit of ``files``, then ``change`` staged alone; the hook on the staged files."""
    repo = _repo(tmp_path, files)
    _git(repo, "commit", "-qm", "init")
    for name, text in change.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
        _git(repo, "add", name)
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([*_pre_commit(), "try-repo", str(ROOT), "iackms"], cwd=repo, capture_output=True, text=True, env=env, timeout=900)


def test_clean_module_passes(tmp_path, hook_home):
    r = _staged(tmp_path, hook_home, {"infra/main.tf": MODULE_ROOT["infra/main.tf"].replace('"payments"', '"payments db"')})
    assert r.returncode == 0, r.stdout + r.stderr


def test_staging_only_a_variable_default_that_turns_rotation_off_blocks(tmp_path, hook_home):
    files = {k: v for k, v in MODULE_ROOT.items() if k != "infra/terraform.tfvars"}
    r = _staged(tmp_path, hook_home, {"infra/variables.tf": 'variable "rotate" {\n  default = false\n}\n'}, files)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "infra/variables.tf:2: MEDIUM IKMS101 aws_kms_key.k:" in out and "(via infra/main.tf:3)" in out


def test_staging_only_terraform_tfvars_that_turns_rotation_off_blocks(tmp_path, hook_home):
    r = _staged(tmp_path, hook_home, {"infra/terraform.tfvars": "rotate = false\n"})
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "infra/terraform.tfvars:1: MEDIUM IKMS101 aws_kms_key.k:" in out


def test_staging_a_module_argument_blocks(tmp_path, hook_home):
    files = {
        "modules/kms/main.tf": 'variable "rotate" {\n  default = true\n}\n\nresource "aws_kms_key" "this" {\n  enable_key_rotation = var.rotate\n  multi_region = false\n}\n',
        "envs/prod/main.tf": 'module "kms" {\n  source = "../../modules/kms"\n  rotate = true\n}\n',
    }
    r = _staged(tmp_path, hook_home, {"envs/prod/main.tf": files["envs/prod/main.tf"].replace("rotate = true", "rotate = false")}, files)
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "envs/prod/main.tf:3: MEDIUM IKMS101 module.kms.aws_kms_key.this:" in out, out


def test_cloudformation_dot_template_files_reach_the_hook(tmp_path, hook_home):
    cfn = 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: false\n'
    for name in ("stack.template", "stack.template.yaml", "stack.template.json"):
        text = cfn if not name.endswith(".json") else '{"Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": false}}}}\n'
        (tmp_path / name).mkdir()
        repo = _repo(tmp_path / name, {f"cfn/{name}": text})
        r = _try(repo, hook_home)
        out = r.stdout + r.stderr
        assert r.returncode == 1 and f"cfn/{name}:" in out and "IKMS101 Key:" in out, (name, out)


def test_one_run_one_summary_each_key_once(tmp_path, hook_home):
    files = {f"stack{i}/main.tf": BAD_TF.replace('"bad"', f'"bad{i}"') for i in range(40)}
    files.update({f"stack{i}/variables.tf": 'variable "unused" {\n  default = 1\n}\n' for i in range(40)})
    repo = _repo(tmp_path, files)
    r = _try(repo, hook_home)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    summaries = [line for line in out.splitlines() if " finding" in line and " checked" in line]
    assert summaries == ["80 findings (40 medium, 40 low) in 80 files, 40 keys checked"], summaries

def test_fix_hook_rewrites_the_file_and_stops_the_commit(tmp_path, hook_home):
    repo = _repo(tmp_path, {"infra/kms.tf": BAD_TF})
    r = _try(repo, hook_home, "iackms-fix")
    out = r.stdout + r.stderr
    assert r.returncode == 1, out  # files were modified: pre-commit stops the commit
    assert "files were modified by this hook" in out
    assert "infra/kms.tf:3: fixed IKMS101 aws_kms_key.bad: enable_key_rotation = true (was false)" in out
    assert (repo / "infra" / "kms.tf").read_text() == BAD_TF.replace("= false", "= true")
    _git(repo, "add", ".")
    again = _try(repo, hook_home, "iackms-fix")
    assert "files were modified" not in again.stdout + again.stderr
