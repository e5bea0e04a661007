"""`iackms fix`: the before/after cases of every fixable rule (Terraform,
CloudFormation YAML and JSON), what is left alone and why, and the command
line (diff, exit codes, rule selection)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fixcheck import copy_tree, fix_and_check
from iackms.config import Config, load_file
from iackms.fix import fix, write
from iackms.rules import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "fix_cases"
FIXABLE = ("IKMS101", "IKMS102", "IKMS103", "IKMS107", "IKMS211", "IKMS301", "IKMS303")


def _config(root: Path) -> Config:
    found = root / ".iackms.yaml"
    return load_file(found) if found.is_file() else Config()


@pytest.mark.parametrize("rule", FIXABLE)
def test_before_and_after(rule, tmp_path, monkeypatch):
    """Each rule's before files become its after files, byte for byte; they
    parse, the rule is gone, nothing is new, only the intended lines changed,
    and a second fix changes nothing."""
    case = CASES / rule
    root = copy_tree(case / "before", tmp_path / "repo")
    if (case / ".iackms.yaml").is_file():
        shutil.copy(case / ".iackms.yaml", root / ".iackms.yaml")
    monkeypatch.chdir(root)
    result = fix_and_check(root, _config(root), {rule})
    assert result.changes
    for want in sorted((case / "after").iterdir()):
        got = (root / want.name).read_text(encoding="utf-8")
        assert got == want.read_text(encoding="utf-8"), f"{rule}/{want.name}:\n{got}"
    assert {c.rule_ids for c in result.changes} == {(rule,)}
    # every format has a case
    assert {p.name for p in (case / "before").iterdir()} >= {"main.tf", "template.yaml", "template.json"}


def test_every_fixable_rule_has_a_case():
    declared = set()
    for rid, r in REGISTRY.items():
        if r.path is not None and "fix=" in r.path.read_text(encoding="utf-8"):
            declared.add(rid)
    assert declared == set(FIXABLE)
    # the metadata that documents the fix (rule pages, `iackms rules`) says the same
    assert {rid for rid, r in REGISTRY.items() if r.meta.autofix} == set(FIXABLE)
    assert {p.name for p in CASES.iterdir() if p.is_dir()} == set(FIXABLE)


# --- what is not fixed, and why ---------------------------------------------------------------


def _fix(tmp_path: Path, monkeypatch, files: dict[str, str], paths=(".",), **kw):
    root = tmp_path / "repo"
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    (root / ".git").mkdir(exist_ok=True)
    monkeypatch.chdir(root)
    result = fix(list(paths), kw.pop("cfg", Config()), cwd=root, **kw)
    assert not write(result, root)
    return root, result


def _why(result, rule: str) -> list[str]:
    return [why for f, why in result.not_fixed.items() if f.rule_id == rule]


def test_values_from_variables_locals_and_instances_are_not_edited(tmp_path, monkeypatch):
    tf = '''variable "rotate" {
  type    = bool
  default = false
}

locals {
  window = 7
}

resource "aws_kms_key" "from_var" {
  enable_key_rotation = var.rotate
}

resource "aws_kms_key" "from_local" {
  enable_key_rotation     = true
  deletion_window_in_days = local.window
}

resource "aws_kms_key" "per_instance" {
  for_each            = { a = false, b = true }
  enable_key_rotation = each.value
}

resource "aws_kms_key" "branch" {
  enable_key_rotation = var.rotate ? true : false
}
'''
    root, result = _fix(tmp_path, monkeypatch, {"main.tf": tf})
    assert (root / "main.tf").read_text() == tf
    assert not result.changes
    whys = sorted(_why(result, "IKMS101") + _why(result, "IKMS107"))
    assert any(w.startswith("set by var.rotate") for w in whys), whys
    assert any(w.startswith("set by local.window") for w in whys), whys
    assert any(w.startswith("set by each.value") for w in whys), whys
    assert any(w.startswith("set by var.rotate ? true : false") for w in whys), whys


def test_module_argument_is_not_edited_and_module_outside_the_paths_is_not_edited(tmp_path, monkeypatch):
    files = {
        "modules/kms/main.tf": 'variable "rotate" {}\n\nresource "aws_kms_key" "this" {\n  enable_key_rotation = var.rotate\n}\n\n'
                               'resource "aws_kms_key" "fixed" {\n  deletion_window_in_days = 7\n  enable_key_rotation     = true\n}\n',
        "envs/prod/main.tf": 'module "kms" {\n  source = "../../modules/kms"\n  rotate = false\n}\n',
    }
    root, result = _fix(tmp_path, monkeypatch, files, paths=("envs/prod/main.tf",))
    assert not result.files, "nothing outside the paths given is edited"
    whys = _why(result, "IKMS101") + _why(result, "IKMS107")
    assert any("set by var.rotate" in w for w in whys), whys
    assert any("not among the paths given" in w for w in whys), whys
    # the whole repository: the module's literal is fixed, the argument still is not
    result = fix(["."], Config(), cwd=root)
    assert [c.what for c in result.changes] == ["deletion_window_in_days = 30 (was 7)"]


def test_cloudformation_parameters_and_conditions_are_not_edited(tmp_path, monkeypatch):
    tpl = '''AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Rotate:
    Type: String
    Default: "false"
Conditions:
  Prod: !Equals [!Ref AWS::StackName, prod]
Resources:
  FromParameter:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: !Ref Rotate
  FromCondition:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: !If [Prod, true, false]
  FlowStyle:
    Type: AWS::KMS::Key
    Properties: {Description: flow}
'''
    root, result = _fix(tmp_path, monkeypatch, {"t.yaml": tpl})
    assert (root / "t.yaml").read_text() == tpl
    whys = sorted(_why(result, "IKMS101"))
    assert any(w.startswith("set by !Ref Rotate") for w in whys), whys
    assert any(w.startswith("set by !If") for w in whys), whys
    assert any("flow style" in w for w in whys), whys


def test_suppressed_findings_are_never_touched(tmp_path, monkeypatch):
    tf = '''resource "aws_kms_key" "legacy" {
  # iackms:skip=IKMS101 rotated by the vendor HSM procedure
  enable_key_rotation = false
}
'''
    cfn = '''Resources:
  Legacy:
    Type: AWS::KMS::Key
    Metadata:
      checkov:
        skip:
          - id: CKV_AWS_7
            comment: rotated by the vendor
    Properties:
      PendingWindowInDays: 30
'''
    root, result = _fix(tmp_path, monkeypatch, {"main.tf": tf, "t.yaml": cfn})
    assert not result.changes and not result.files
    assert (root / "main.tf").read_text() == tf and (root / "t.yaml").read_text() == cfn


def test_terraform_json(tmp_path, monkeypatch):
    tfjson = '''{
  "resource": {
    "aws_kms_key": {
      "a": {
        "description": "a",
        "enable_key_rotation": false
      },
      "b": {
        "description": "b"
      },
      "c": {
        "enable_key_rotation": "${var.rotate}"
      },
      "d": {
        "enable_key_rotation": true,
        "bypass_policy_lockout_safety_check": true,
        "deletion_window_in_days": 7
      }
    }
  },
  "variable": {"rotate": {"default": false}}
}
'''
    root, result = _fix(tmp_path, monkeypatch, {"main.tf.json": tfjson})
    got = (root / "main.tf.json").read_text()
    assert '"a": {\n        "description": "a",\n        "enable_key_rotation": true\n      }' in got
    assert '"b": {\n        "description": "b",\n        "enable_key_rotation": true\n      }' in got
    assert '"enable_key_rotation": "${var.rotate}"' in got
    assert '"d": {\n        "enable_key_rotation": true,\n        "deletion_window_in_days": 30\n      }' in got
    assert any(w.startswith("set by ${var.rotate}") for w in _why(result, "IKMS101"))
    again = fix(["."], Config(), cwd=root)
    assert not again.files


def test_crlf_and_no_final_newline_are_kept(tmp_path, monkeypatch):
    tf = 'resource "aws_kms_key" "k" {\r\n  description = "k"\r\n}'
    cfn = 'Resources:\r\n  K:\r\n    Type: AWS::KMS::Key\r\n    Properties:\r\n      Description: k'
    root, result = _fix(tmp_path, monkeypatch, {"main.tf": tf, "t.yaml": cfn})
    assert (root / "main.tf").read_bytes() == b'resource "aws_kms_key" "k" {\r\n  description         = "k"\r\n  enable_key_rotation = true\r\n}'
    assert (root / "t.yaml").read_bytes() == b'Resources:\r\n  K:\r\n    Type: AWS::KMS::Key\r\n    Properties:\r\n      Description: k\r\n      EnableKeyRotation: true'


def test_a_file_with_a_syntax_error_is_not_edited(tmp_path, monkeypatch):
    tf = 'resource "aws_kms_key" "k" {\n  enable_key_rotation = false\n}\n\nresource "x" {\n'
    root, result = _fix(tmp_path, monkeypatch, {"main.tf": tf})
    assert (root / "main.tf").read_text() == tf
    assert any("syntax error" in w for w in _why(result, "IKMS101"))


def test_one_fix_reveals_the_next(tmp_path, monkeypatch):
    """Turning rotation on makes the rotation period matter: both are fixed in one run."""
    tf = 'resource "aws_kms_key" "k" {\n  enable_key_rotation     = false\n  rotation_period_in_days = 2000\n}\n'
    root, result = _fix(tmp_path, monkeypatch, {"main.tf": tf})
    assert [c.rule_ids for c in result.changes] == [("IKMS101",), ("IKMS102",)]
    assert (root / "main.tf").read_text() == 'resource "aws_kms_key" "k" {\n  enable_key_rotation     = true\n  rotation_period_in_days = 365\n}\n'


def test_one_literal_in_a_module_called_twice_is_one_edit(tmp_path, monkeypatch):
    files = {
        "modules/kms/main.tf": 'resource "aws_kms_key" "this" {\n  enable_key_rotation = false\n}\n',
        "main.tf": 'module "a" {\n  source = "./modules/kms"\n}\n\nmodule "b" {\n  source = "./modules/kms"\n}\n',
    }
    root, result = _fix(tmp_path, monkeypatch, files)
    assert len(result.changes) == 1
    assert result.changes[0].resources == ("module.a.aws_kms_key.this", "module.b.aws_kms_key.this")
    assert "enable_key_rotation = true" in (root / "modules/kms/main.tf").read_text()


# --- the command line ----------------------------------------------------------------------------


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "iackms", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


BAD = 'resource "aws_kms_key" "k" {\n  description         = "k"\n  enable_key_rotation = false\n  policy              = var.policy\n}\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text(BAD)
    return tmp_path


def test_cli_fix_writes_and_exits_zero_when_nothing_is_left(repo):
    r = run("fix", cwd=repo)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "infra/main.tf:3: fixed IKMS101 aws_kms_key.k: enable_key_rotation = true (was false)" in r.stdout
    assert r.stdout.rstrip().splitlines()[-1].startswith("1 finding fixed in 1 file; after the fix, ")
    assert "enable_key_rotation = true" in (repo / "infra" / "main.tf").read_text()
    again = run("fix", cwd=repo)
    assert again.returncode == 0 and "nothing to fix" in again.stdout


def test_cli_diff_writes_nothing_and_applies(repo):
    r = run("fix", "--diff", cwd=repo)
    assert r.returncode == 0, r.stderr  # as scan would exit after the fix
    assert (repo / "infra" / "main.tf").read_text() == BAD
    assert r.stdout.startswith("--- a/infra/main.tf\n+++ b/infra/main.tf\n")
    assert "-  enable_key_rotation = false\n+  enable_key_rotation = true\n" in r.stdout
    assert "would fix IKMS101" in r.stderr and "would fix" not in r.stdout
    if shutil.which("git"):
        shutil.rmtree(repo / ".git")
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        applied = subprocess.run(["git", "apply", "-"], cwd=repo, input=r.stdout, text=True, capture_output=True)
        assert applied.returncode == 0, applied.stderr
        assert run("scan", cwd=repo).returncode == 0


def test_cli_exit_code_says_what_is_left(repo):
    (repo / "infra" / "main.tf").write_text(BAD.replace("enable_key_rotation = false", "enable_key_rotation = var.rotate")
                                            + 'variable "rotate" {\n  default = false\n}\n')
    r = run("fix", cwd=repo)
    assert r.returncode == 1
    assert "[not fixed: set by var.rotate" in r.stdout
    assert run("fix", "--fail-on", "high", cwd=repo).returncode == 0


def test_cli_rule_selection(repo):
    (repo / "infra" / "main.tf").write_text(BAD.replace('  policy ', '  deletion_window_in_days = 7\n  policy '))
    r = run("fix", "--rule", "deletion-window-below-min", "--diff", cwd=repo)
    assert "deletion_window_in_days = 30" in r.stdout and "enable_key_rotation = true" not in r.stdout
    assert r.returncode == 1  # rotation is still off
    r = run("fix", "--select", "IKMS101,IKMS107", "--diff", cwd=repo)
    assert "deletion_window_in_days = 30" in r.stdout and "enable_key_rotation = true" in r.stdout
    bad = run("fix", "--rule", "IKMS999", cwd=repo)
    assert bad.returncode == 2 and "unknown rule 'IKMS999'" in bad.stderr


# --- replace_reference (IKMS303's fix, declared by the rule once it lands) -------------------------


def _fake_scan(rel: str, attr_name: str, expr_needle: str, key: str, source: str):
    """A scan reporting one finding whose fix names the key by its ARN, while
    ``expr_needle`` is still written in ``rel`` (the fixer's loop needs the
    finding to go away)."""
    from iackms.findings import Finding, Report
    from iackms.model import Attr, Location, Resource
    from iackms.rules.base import replace_reference

    def scan(paths, cfg, *, cwd=None, overlay=None, **_):
        path = Path(cwd or ".") / rel
        data = (overlay or {}).get(os.path.realpath(path)) or path.read_bytes()
        text = data.decode()
        if expr_needle not in text:
            return Report()
        row = next(i for i, line in enumerate(text.splitlines()) if attr_name in line)
        col = text.splitlines()[row].index(attr_name) + 1  # where the attribute (its key) is written
        loc = Location(rel, row + 1, row + 1, col)
        res = Resource("consumer", "aws_cloudwatch_log_group", loc, source, attrs={"key": Attr("x", loc, True, expr_needle)})
        f = Finding("IKMS303", "t", "high", rel, row + 1, row + 1, col, "consumer", "aws_cloudwatch_log_group", "m",
                    fix=replace_reference("key", key), model=res)
        return Report(findings=[f])

    return scan


@pytest.mark.parametrize("rel,text,attr_name,needle,key,source,want", [
    ("main.tf",
     'resource "aws_cloudwatch_log_group" "g" {\n  name       = "g"\n  kms_key_id = var.prod ? aws_kms_key.k.id : aws_kms_key.k[0].key_id # the key\n}\n',
     "kms_key_id", ".id", "module.logs.aws_kms_key.k", "terraform",
     'resource "aws_cloudwatch_log_group" "g" {\n  name       = "g"\n  kms_key_id = var.prod ? aws_kms_key.k.arn : aws_kms_key.k[0].arn # the key\n}\n'),
    ("main.tf", 'resource "aws_lambda_function" "f" {\n  kms_key_arn = "${aws_kms_key.k.key_id}"\n}\n', "kms_key_arn", "key_id",
     "aws_kms_key.k", "terraform", 'resource "aws_lambda_function" "f" {\n  kms_key_arn = "${aws_kms_key.k.arn}"\n}\n'),
    ("t.yaml", "Resources:\n  G:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      KmsKeyId: !If [Prod, !Ref Key, !Ref Other]  # k\n",
     "KmsKeyId", "!Ref Key", "Key", "cloudformation",
     "Resources:\n  G:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      KmsKeyId: !If [Prod, !GetAtt Key.Arn, !Ref Other]  # k\n"),
    ("t.yaml", "Resources:\n  G:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      KmsKeyId:\n        Ref: Key\n",
     "KmsKeyId", "Ref: Key", "Key", "cloudformation",
     "Resources:\n  G:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      KmsKeyId:\n        Fn::GetAtt: [Key, Arn]\n"),
    ("t.yaml", "Resources:\n  G:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      KmsKeyId: !GetAtt Key.KeyId\n      B: !GetAtt [Key, KeyId]\n",
     "KmsKeyId", "Key.KeyId", "Key", "cloudformation",
     "Resources:\n  G:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      KmsKeyId: !GetAtt Key.Arn\n      B: !GetAtt [Key, KeyId]\n"),
    ("t.json", '{"Resources": {"G": {"Properties": {"KmsKeyId": {"Fn::GetAtt": ["Key", "KeyId"]}}}}}\n',
     '"KmsKeyId"', '"KeyId"', "Key", "cloudformation", '{"Resources": {"G": {"Properties": {"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}}}}\n'),
    ("t.json", '{"Resources": {"G": {"Type": "AWS::Logs::LogGroup", "Properties": {"KmsKeyId": {"Ref": "Key"}}}}}\n',
     '"KmsKeyId"', '"Ref"', "Key", "cloudformation",
     '{"Resources": {"G": {"Type": "AWS::Logs::LogGroup", "Properties": {"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}}}}\n'),
    ("main.tf.json", '{"resource": {"aws_lambda_function": {"f": {"kms_key_arn": "${aws_kms_key.k.id}"}}}}\n',
     '"kms_key_arn"', "k.id", "aws_kms_key.k", "terraform",
     '{"resource": {"aws_lambda_function": {"f": {"kms_key_arn": "${aws_kms_key.k.arn}"}}}}\n'),
])
def test_replace_reference(tmp_path, monkeypatch, rel, text, attr_name, needle, key, source, want):
    root = tmp_path / "repo"
    root.mkdir()
    (root / rel).write_text(text)
    monkeypatch.chdir(root)
    result = fix(["."], Config(), cwd=root, scan=_fake_scan(rel, attr_name, needle, key, source))
    assert not write(result, root)
    assert (root / rel).read_text() == want
    assert len(result.changes) == 1 and not result.not_fixed


def test_replace_reference_not_written_as_an_id(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    root.mkdir()
    text = 'resource "aws_cloudwatch_log_group" "g" {\n  kms_key_id = module.kms.key_id\n}\n'
    (root / "main.tf").write_text(text)
    monkeypatch.chdir(root)
    result = fix(["."], Config(), cwd=root, scan=_fake_scan("main.tf", "kms_key_id", "key_id", "module.kms.aws_kms_key.this", "terraform"))
    assert (root / "main.tf").read_text() == text
    assert list(result.not_fixed.values()) == ["the key is not written here as `aws_kms_key.this.id`"]


# --- add_statement (IKMS301's fix, declared by the rule once it lands) -------------------------------

LOGS = {"Sid": "AllowCloudWatchLogs", "Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"], "Resource": "*",
        "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:111122223333:log-group:*"}}}


@pytest.fixture
def statement_rule():
    """A rule (for this test only) whose fix adds LOGS to a key policy without it."""
    from iackms.rules.base import REGISTRY as reg
    from iackms.rules.base import Fail, RuleMeta, add_statement, rule

    @rule(RuleMeta(id="IKMS990", name="test-needs-logs-statement", title="t", severity="high", profiles=("default",),
                   what="t", why="t", targets=("key",)))
    def needs_logs(key, cfg):
        sids = {st.sid for p in key.policies for st in p.statements}
        if "AllowCloudWatchLogs" not in sids:
            yield Fail(f"{key.address} lacks the logs statement", key.policy.loc or key.loc, fix=add_statement(LOGS))

    try:
        yield "IKMS990"
    finally:
        reg.pop("IKMS990", None)


ROOT_TF = '''data "aws_caller_identity" "current" {}
'''
JSONENCODE_LINES = ROOT_TF + '''
resource "aws_kms_key" "logs" {
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "Root"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
    ]
  })
}
'''
JSONENCODE_INLINE = JSONENCODE_LINES.replace('''    Statement = [
      {
        Sid       = "Root"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
    ]''', '''    Statement = [{
      Sid       = "Root"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]''')
DOCUMENT = ROOT_TF + '''
data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "Root"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "logs" {
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.logs.json
}
'''
CFN_YAML = '''AWSTemplateFormatVersion: "2010-09-09"
Resources:
  LogsKey:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: true
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Sid: Root
            Effect: Allow
            Principal:
              AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
            Action: "kms:*"
            Resource: "*"
      Tags:
        - Key: Team
          Value: logs
'''
CFN_JSON = '''{
  "Resources": {
    "LogsKey": {
      "Type": "AWS::KMS::Key",
      "Properties": {
        "EnableKeyRotation": true,
        "KeyPolicy": {
          "Version": "2012-10-17",
          "Statement": [
            {
              "Sid": "Root",
              "Effect": "Allow",
              "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
              "Action": "kms:*",
              "Resource": "*"
            }
          ]
        }
      }
    }
  }
}
'''


@pytest.mark.parametrize("name,text,want", [
    ("main.tf", JSONENCODE_LINES, '''        Resource  = "*"
      },
      {
        Sid       = "AllowCloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:eu-west-1:111122223333:log-group:*"
          }
        }
      },
    ]
'''),
    ("main.tf", JSONENCODE_INLINE, '''      Resource  = "*"
      }, {
      Sid       = "AllowCloudWatchLogs"
'''),
    ("main.tf", DOCUMENT, '''    }
  }

  statement {
    sid       = "AllowCloudWatchLogs"
    effect    = "Allow"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:aws:logs:eu-west-1:111122223333:log-group:*"]
    }
  }
}
'''),
    ("template.yaml", CFN_YAML, '''            Resource: "*"
          - Sid: AllowCloudWatchLogs
            Effect: Allow
            Principal:
              Service: logs.amazonaws.com
            Action:
              - kms:Encrypt*
              - kms:Decrypt*
              - kms:GenerateDataKey*
            Resource: "*"
            Condition:
              ArnLike:
                kms:EncryptionContext:aws:logs:arn: arn:aws:logs:eu-west-1:111122223333:log-group:*
      Tags:
'''),
    ("template.json", CFN_JSON, '''              "Resource": "*"
            },
            {
              "Sid": "AllowCloudWatchLogs",
              "Effect": "Allow",
              "Principal": {
                "Service": "logs.amazonaws.com"
              },
'''),
])
def test_add_statement(statement_rule, tmp_path, monkeypatch, name, text, want):
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".git").mkdir()
    (root / name).write_text(text)
    monkeypatch.chdir(root)
    result = fix_and_check(root, Config(), {statement_rule})
    assert [c.what for c in result.changes] == ["added statement 'AllowCloudWatchLogs' to the key policy"]
    got = (root / name).read_text()
    assert want in got, got


@pytest.mark.parametrize("name,text,why", [
    ("main.tf", 'resource "aws_kms_key" "k" {\n  policy = <<EOF\n{"Version": "2012-10-17", "Statement": []}\nEOF\n}\n',
     "only a jsonencode() structure or an aws_iam_policy_document is edited"),
    ("main.tf", 'resource "aws_kms_key" "k" {\n  description = "no policy"\n}\n', "no key policy written"),
    ("t.yaml", 'Resources:\n  K:\n    Type: AWS::KMS::Key\n    Properties:\n      KeyPolicy: \'{"Version": "2012-10-17", "Statement": []}\'\n',
     "written as JSON text"),
])
def test_add_statement_not_fixed(statement_rule, tmp_path, monkeypatch, name, text, why):
    root, result = _fix(tmp_path, monkeypatch, {name: text}, rules={statement_rule})
    assert (root / name).read_text() == text
    assert any(why in w for w in _why(result, statement_rule)), result.not_fixed


def test_a_value_merged_from_a_yaml_anchor_is_not_edited(tmp_path, monkeypatch):
    tpl = '''Resources:
  First:
    Type: AWS::KMS::Key
    Properties: &defaults
      Description: shared
      PendingWindowInDays: 7
  Second:
    Type: AWS::KMS::Key
    Properties:
      <<: *defaults
      EnableKeyRotation: true
'''
    root, result = _fix(tmp_path, monkeypatch, {"t.yaml": tpl}, rules={"IKMS107"})
    got = (root / "t.yaml").read_text()
    assert got == tpl.replace("PendingWindowInDays: 7", "PendingWindowInDays: 30")  # at First, where it is written
    assert [c.resources for c in result.changes] == [("First",)]


def test_not_fixed_says_where_the_value_is_written(tmp_path, monkeypatch):
    """A value with an origin (a variable default, a tfvars line, a module argument, a parameter's
    Default) is not edited; the reason names the expression and where the value is written."""
    files = {
        "infra/main.tf": 'resource "aws_kms_key" "k" {\n  enable_key_rotation     = var.rotate\n  deletion_window_in_days = var.window\n}\n',
        "infra/variables.tf": 'variable "rotate" {\n  type    = bool\n  default = false\n}\n\nvariable "window" {\n  default = 30\n}\n',
        "infra/terraform.tfvars": "window = 7\n",
        "modules/kms/main.tf": 'variable "rotate" {}\n\nresource "aws_kms_key" "this" {\n  enable_key_rotation = var.rotate\n}\n',
        "envs/prod/main.tf": 'module "kms" {\n  source = "../../modules/kms"\n  rotate = false\n}\n',
        "t.yaml": 'Parameters:\n  Rotate:\n    Type: String\n    Default: "false"\nResources:\n  K:\n    Type: AWS::KMS::Key\n'
                  '    Properties:\n      EnableKeyRotation: !Ref Rotate\n',
    }
    root, result = _fix(tmp_path, monkeypatch, files, rules={"IKMS101", "IKMS107"})
    assert not result.files
    assert sorted(result.not_fixed.values()) == [
        "set by !Ref Rotate, t.yaml:4",
        "set by var.rotate, envs/prod/main.tf:3",
        "set by var.rotate, infra/variables.tf:3",
        "set by var.window, infra/terraform.tfvars:1",
    ]


def test_two_statements_for_one_policy_in_one_round(statement_rule, tmp_path, monkeypatch):
    """Insertions at one point (two statements to one policy) are made together."""
    from iackms.rules.base import REGISTRY as reg
    from iackms.rules.base import Fail, RuleMeta, add_statement, rule

    events = {**LOGS, "Sid": "AllowEvents", "Principal": {"Service": "events.amazonaws.com"}}
    del events["Condition"]

    @rule(RuleMeta(id="IKMS991", name="test-needs-events-statement", title="t", severity="high", profiles=("default",),
                   what="t", why="t", targets=("key",)))
    def needs_events(key, cfg):
        if "AllowEvents" not in {st.sid for p in key.policies for st in p.statements}:
            yield Fail(f"{key.address} lacks the events statement", key.policy.loc or key.loc, fix=add_statement(events))

    try:
        root = tmp_path / "repo"
        (root / ".git").mkdir(parents=True)
        (root / "template.yaml").write_text(CFN_YAML)
        (root / "main.tf").write_text(JSONENCODE_INLINE)
        monkeypatch.chdir(root)
        result = fix_and_check(root, Config(), {statement_rule, "IKMS991"})
        assert len(result.changes) == 4
        assert (root / "template.yaml").read_text().count("- Sid: Allow") == 2
        assert '    }, {\n      Sid       = "AllowEvents"' in (root / "main.tf").read_text() or \
            '      }, {\n      Sid       = "AllowEvents"' in (root / "main.tf").read_text()
    finally:
        reg.pop("IKMS991", None)


def test_statement_strings_keep_terraform_interpolations():
    from iackms.fix.render import hcl_string

    assert hcl_string("logs.${data.aws_region.current.name}.amazonaws.com") == '"logs.${data.aws_region.current.name}.amazonaws.com"'
    assert hcl_string("a%{b}") == '"a%%{b}"'


def test_a_statement_that_interpolates_an_undeclared_data_source_is_not_added(tmp_path, monkeypatch):
    from iackms.rules.base import REGISTRY as reg
    from iackms.rules.base import Fail, RuleMeta, add_statement, rule

    logs = {**LOGS, "Principal": {"Service": "logs.${data.aws_region.current.name}.amazonaws.com"}}

    @rule(RuleMeta(id="IKMS992", name="test-regional-statement", title="t", severity="high", profiles=("default",),
                   what="t", why="t", targets=("key",)))
    def regional(key, cfg):
        if "AllowCloudWatchLogs" not in {st.sid for p in key.policies for st in p.statements}:
            yield Fail("lacks it", key.policy.loc or key.loc, fix=add_statement(logs))

    try:
        root, result = _fix(tmp_path, monkeypatch, {"main.tf": JSONENCODE_LINES}, rules={"IKMS992"})
        assert not result.files
        assert list(result.not_fixed.values()) == [
            'the statement needs data.aws_region.current, which . does not declare: add `data "aws_region" "current" {}` and run iackms fix again']
        (root / "main.tf").write_text(JSONENCODE_LINES + '\ndata "aws_region" "current" {}\n')
        result = fix(["."], Config(), rules={"IKMS992"}, cwd=root)
        assert not write(result, root)
        assert 'Principal = { Service = "logs.${data.aws_region.current.name}.amazonaws.com" }' in (root / "main.tf").read_text()
    finally:
        reg.pop("IKMS992", None)


def test_a_finding_on_some_instances_or_branches_only_is_not_fixed(tmp_path, monkeypatch):
    """Turning rotation on for the block would also ask it of the RSA instance
    (or branch), which AWS rejects (IKMS103): the fix is not unambiguous."""
    tf = '''locals {
  keys = {
    jwt  = { spec = "RSA_2048", usage = "SIGN_VERIFY" }
    data = { spec = "SYMMETRIC_DEFAULT", usage = "ENCRYPT_DECRYPT" }
  }
}

resource "aws_kms_key" "this" {
  for_each                 = local.keys
  customer_master_key_spec = each.value.spec
  key_usage                = each.value.usage
  enable_key_rotation      = false
}
'''
    cfn = '''Parameters:
  Env: {Type: String, AllowedValues: [prod, dev]}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      KeySpec: !If [IsProd, RSA_2048, SYMMETRIC_DEFAULT]
      KeyUsage: !If [IsProd, SIGN_VERIFY, ENCRYPT_DECRYPT]
      EnableKeyRotation: false
'''
    root, result = _fix(tmp_path, monkeypatch, {"main.tf": tf, "template.yaml": cfn}, rules={"IKMS101"})
    assert (root / "main.tf").read_text() == tf and (root / "template.yaml").read_text() == cfn
    why = {(f.file, f.line, f.resource): w for f, w in result.not_fixed.items() if f.rule_id == "IKMS101"}
    assert why == {
        ("main.tf", 12, 'aws_kms_key.this["data"]'): 'it holds only for aws_kms_key.this["data"], and an edit of the block '
                                                     "reaches every instance and branch; set the value per instance or branch",
        ("template.yaml", 11, "Key"): "it holds only when IsProd is false, and an edit of the block "
                                      "reaches every instance and branch; set the value per instance or branch",
    }


def test_a_reference_written_over_several_json_lines_keeps_its_layout(tmp_path, monkeypatch):
    """IKMS303 in a json.dumps(indent=4) template: the member is replaced, the braces and lines kept."""
    tpl = ('{\n    "Resources": {\n        "Key": {\n            "Type": "AWS::KMS::Key",\n            "Properties": {\n'
           '                "EnableKeyRotation": true\n            }\n        },\n        "Logs": {\n'
           '            "Type": "AWS::Logs::LogGroup",\n            "Properties": {\n                "KmsKeyId": {\n'
           '                    "Ref": "Key"\n                }\n            }\n        }\n    }\n}\n')
    root, result = _fix(tmp_path, monkeypatch, {"template.json": tpl}, rules={"IKMS303"})
    assert (root / "template.json").read_text() == tpl.replace('"Ref": "Key"', '"Fn::GetAtt": ["Key", "Arn"]')
    assert [(c.file, c.line, c.what) for c in result.changes] == [
        ("template.json", 13, '"KmsKeyId": Fn::GetAtt Key.Arn (was its ID)')]


def test_cli_summary_after_the_fix_counts_findings_and_names_remote_modules(repo):
    (repo / "infra" / "remote.tf").write_text('module "label" {\n  source = "cloudposse/label/null"\n}\n')
    r = run("fix", cwd=repo)
    lines = r.stdout.splitlines()
    assert lines[-2].startswith("1 finding fixed in 1 file; after the fix, 1 finding (1 info) in 2 files, 1 key checked"), r.stdout
    assert lines[-1] == "1 remote module not scanned: cloudposse/label/null", r.stdout


def test_diff_names_the_lines_of_the_files_on_disk_and_fix_those_of_the_fixed_files(tmp_path):
    """`--diff` writes nothing, so what it lists is at the lines as they are
    on disk; `fix` lists them at the lines of the files it wrote."""
    (tmp_path / ".git").mkdir()
    text = ('resource "aws_kms_key" "k" {\n  description = "k"\n  policy = jsonencode({\n    Version = "2012-10-17"\n'
            '    Statement = [{\n      Sid       = "Public"\n      Effect    = "Allow"\n      Principal = "*"\n'
            '      Action    = "kms:Decrypt"\n      Resource  = "*"\n    }]\n  })\n}\n')
    (tmp_path / "main.tf").write_text(text)
    d = run("fix", "--diff", cwd=tmp_path)
    assert (tmp_path / "main.tf").read_text() == text
    listed = [ln.split(" ", 2)[:2] for ln in d.stderr.splitlines() if ln.startswith("main.tf:")]
    assert listed == [["main.tf:3:", "would"], ["main.tf:3:", "HIGH"], ["main.tf:5:", "CRITICAL"]], d.stderr
    w = run("fix", cwd=tmp_path)
    listed = [ln.split(" ", 2)[:2] for ln in w.stdout.splitlines() if ln.startswith("main.tf:")]
    assert listed == [["main.tf:3:", "fixed"], ["main.tf:4:", "HIGH"], ["main.tf:6:", "CRITICAL"]], w.stdout
    assert (tmp_path / "main.tf").read_text().splitlines()[2] == "  enable_key_rotation = true"
