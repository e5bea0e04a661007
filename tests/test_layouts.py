"""Repository layouts as people have them, through the CLI: monorepos whose
roots call shared modules (`envs/prod` -> `../../modules/kms`), several roots
calling the same module name, values written far from the resource that uses
them (module arguments, variable defaults, tfvars, parameter defaults),
suppressions written above a resource, OpenTofu files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

MODULE = '''variable "rotate" {
  default = true
}

variable "window" {
  default = 30
}

resource "aws_kms_key" "this" {
  description             = "shared key module"
  enable_key_rotation     = var.rotate
  deletion_window_in_days = var.window
  multi_region            = true
}
'''
#: line numbers in MODULE
M_ROTATE, M_WINDOW, M_MULTI, M_KEY = 11, 12, 13, 9


def root_tf(rotate: str, window: str = "30") -> str:
    return f'''module "kms" {{
  source = "../../modules/kms"
  rotate = {rotate}
  window = {window}
}}
'''


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("GITHUB_STEP_SUMMARY", None)
    return subprocess.run([sys.executable, "-m", "iackms", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


def scan_json(*args: str, cwd: Path) -> dict:
    r = run("scan", *args, "--format", "json", cwd=cwd)
    assert r.returncode in (0, 1), r.stderr
    return json.loads(r.stdout)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    return root


@pytest.fixture()
def monorepo(tmp_path: Path) -> Path:
    """envs/prod, envs/dev and envs/stage each call module "kms" with different arguments."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    return write(repo, {
        "modules/kms/main.tf": MODULE,
        "envs/prod/main.tf": root_tf("false", "7"),
        "envs/dev/main.tf": root_tf("true", "10"),
        "envs/stage/main.tf": root_tf("var.rotate"),
        "envs/stage/variables.tf": 'variable "rotate" {\n  default = false\n}\n',
    })


def by_rule(doc: dict, rule: str) -> list[dict]:
    return [f for f in doc["findings"] if f["rule_id"] == rule]


# --- 11.2: a directory scan follows local modules anywhere in the repository ----------------


def test_scanning_a_root_directory_follows_its_modules_in_the_repository(monorepo):
    prod = monorepo / "envs" / "prod"
    doc = scan_json(cwd=prod)  # cd envs/prod && iackms scan
    assert doc["summary"]["keys_checked"] == 1
    assert doc["summary"]["boundary"] == ["../.."]
    assert not [f for f in doc["findings"] if "outside" in f["message"]]
    [mr] = by_rule(doc, "IKMS104")  # written in the module: reported there, with the full address
    assert (mr["file"], mr["line"], mr["resource"]) == ("../../modules/kms/main.tf", M_MULTI, "module.kms.aws_kms_key.this")
    assert mr["related"] == [{"file": "main.tf", "line": 1, "what": "call of module.kms"}]
    assert mr["root"] == "."
    assert {f["rule_id"] for f in doc["findings"]} >= {"IKMS101", "IKMS104", "IKMS107", "IKMS201"}
    # the same from the repository root, by directory and by file (the pre-commit and Action cases)
    for args in (["envs/prod"], ["envs/prod/main.tf"]):
        d2 = scan_json(*args, cwd=monorepo)
        [mr2] = by_rule(d2, "IKMS104")
        assert (mr2["file"], mr2["line"], mr2["resource"], mr2["root"]) == ("modules/kms/main.tf", M_MULTI, "module.kms.aws_kms_key.this", "envs/prod")
        assert mr2["related"] == [{"file": "envs/prod/main.tf", "line": 1, "what": "call of module.kms"}]
        assert "(in the module" not in mr2["message"]
        assert {f["rule_id"] for f in d2["findings"]} == {f["rule_id"] for f in doc["findings"]}
        assert d2["summary"]["boundary"] == ["."]
    text = run("scan", "envs/prod/main.tf", cwd=monorepo).stdout
    assert (f"modules/kms/main.tf:{M_MULTI}: MEDIUM IKMS104 module.kms.aws_kms_key.this: module.kms.aws_kms_key.this is a multi-Region key"
            in text)
    assert "(via envs/prod/main.tf:1)" in text


def test_the_boundary_without_git_is_the_configuration_files_directory_else_the_path(tmp_path):
    top = write(tmp_path / "top", {"modules/kms/main.tf": MODULE, "envs/prod/main.tf": root_tf("false")})
    prod = top / "envs" / "prod"
    doc = scan_json(cwd=prod)
    assert doc["summary"]["boundary"] == ["."] and doc["summary"]["keys_checked"] == 0
    [note] = doc["findings"]
    assert note["rule_id"] == "IKMS002" and "outside the scan boundary ." in note["message"]
    (top / ".iackms.yaml").write_text("profile: default\n")
    doc = scan_json(cwd=prod)
    assert doc["summary"]["boundary"] == ["../.."] and doc["summary"]["keys_checked"] == 1
    assert {f["rule_id"] for f in doc["findings"]} >= {"IKMS101", "IKMS104"}


def test_nothing_outside_the_repository_is_read_and_links_out_are_not_followed(tmp_path, monorepo):
    outside = write(tmp_path / "outside", {"kms/main.tf": MODULE.replace("true\n}", "false\n}", 1),
                                           "secret.json": '{"Statement": []}\n'})
    (monorepo / "modules" / "linked").symlink_to(outside / "kms", target_is_directory=True)
    (monorepo / "modules" / "kms" / "linked.tf").symlink_to(outside / "kms" / "main.tf")
    write(monorepo, {
        "envs/qa/main.tf": 'module "a" {\n  source = "../../../outside/kms"\n}\n\nmodule "b" {\n  source = "../../modules/linked"\n}\n',
    })
    doc = scan_json("envs/qa", cwd=monorepo)
    assert doc["summary"]["keys_checked"] == 0
    notes = [(f["line"], f["message"]) for f in doc["findings"]]
    assert len(notes) == 2 and all("outside the scan boundary ." in m for _, m in notes), notes
    # the linked .tf in the module directory is never read: no duplicate resource, no second key
    doc = scan_json("envs/prod", cwd=monorepo)
    assert doc["summary"]["keys_checked"] == 1 and not by_rule(doc, "IKMS001")


# --- 11.6: suppressions where people write them ------------------------------------------------


def test_suppression_above_the_resource_header_and_stale_suppressions(tmp_path):
    repo = tmp_path
    (repo / ".git").mkdir()
    write(repo, {"main.tf": '''\
        # iackms:skip=IKMS101 rotated by the HSM team (RUNBOOK-12)
        resource "aws_kms_key" "above" {
          enable_key_rotation = false
        }

        # tfsec:ignore:aws-kms-auto-rotate-keys
        # iackms:skip=IKMS201 default key policy is intended here
        resource "aws_kms_key" "stale" {
          # iackms:skip=IKMS101 was off once, rotation is on now
          enable_key_rotation = true
          # iackms:skip=IKMS110 a cmmc rule, off in the default profile: not stale
          # checkov:skip=CKV_AWS_33:for Checkov, which may still need it
        }
    '''})
    r = run("scan", "--format", "json", cwd=repo)
    doc = json.loads(r.stdout)
    got = {(f["rule_id"], f["resource"]) for f in doc["findings"]}
    assert ("IKMS101", "aws_kms_key.above") not in got and ("IKMS201", "aws_kms_key.stale") not in got
    assert doc["summary"]["suppressed"] == 2
    assert doc["summary"]["stale_suppressions"] == [{"file": "main.tf", "line": 9, "rule_id": "IKMS101", "resource": "aws_kms_key.stale"}]
    warning = "main.tf:9: suppression of IKMS101 on aws_kms_key.stale matches no finding; remove it if it is no longer needed"
    assert warning in doc["warnings"]
    assert f"iackms: warning: {warning}" in r.stderr.splitlines()
    assert "IKMS110" not in r.stderr and "CKV_AWS_33" not in r.stderr
    # with the profile that has IKMS110, a key without tags matches it: still not stale
    assert "IKMS110" not in run("scan", "--profile", "cmmc-l2", cwd=repo).stderr
    # --no-suppress judges no suppression
    assert "matches no finding" not in run("scan", "--no-suppress", cwd=repo).stderr


def test_stale_suppressions_only_in_the_files_given(tmp_path):
    (tmp_path / ".git").mkdir()
    write(tmp_path, {"a.tf": 'resource "aws_kms_key" "a" {\n  # iackms:skip=IKMS101 not needed any more\n  enable_key_rotation = true\n}\n',
                     "b.tf": 'resource "aws_kms_key" "b" {\n  enable_key_rotation = true\n}\n'})
    assert "matches no finding" not in run("scan", "b.tf", cwd=tmp_path).stderr
    assert "a.tf:2: suppression of IKMS101 on aws_kms_key.a matches no finding" in run("scan", "a.tf", cwd=tmp_path).stderr


# --- 17.1: several roots calling the same module name --------------------------------------------


def _check_three_roots(doc: dict) -> None:
    # one key per root, each judged with its own arguments
    assert doc["summary"]["keys_checked"] == 3
    roots = {"envs/prod", "envs/dev", "envs/stage"}
    for f in doc["findings"]:
        assert f["root"] in roots and f["resource"] == "module.kms.aws_kms_key.this", f
        # located in that root's files, or in the module's file with a related call from that root
        places = [f["file"], *(r["file"] for r in f["related"])]
        assert all(p.startswith(f["root"] + "/") or p == "modules/kms/main.tf" for p in places), f
        assert any(p.startswith(f["root"] + "/") for p in places), f
    mr = by_rule(doc, "IKMS104")  # written in the module: three findings, one per root, told apart
    assert sorted(f["root"] for f in mr) == sorted(roots)
    assert {f["related"][0]["file"] for f in mr} == {f"{r}/main.tf" for r in roots}
    # rotation is off in prod (an argument) and stage (a variable default), not in dev
    assert sorted(f["root"] for f in by_rule(doc, "IKMS101")) == ["envs/prod", "envs/stage"]
    # a deletion window of 7 (prod) and 10 (dev), not stage's 30
    assert sorted((f["root"], f["message"].split("deletion window of ")[1][:2]) for f in by_rule(doc, "IKMS107")) == [
        ("envs/dev", "10"), ("envs/prod", "7 ")]


@pytest.mark.parametrize("how", ["directory", "files", "directories"])
def test_three_roots_calling_the_same_module_name(monorepo, how):
    args = {"directory": ["envs"], "files": ["envs/prod/main.tf", "envs/dev/main.tf", "envs/stage/main.tf"],
            "directories": ["envs/stage", "envs/dev", "envs/prod", "modules"]}[how]
    doc = scan_json(*args, cwd=monorepo)
    _check_three_roots(doc)
    n = len(doc["findings"])
    # every format tells the three roots apart
    text = run("scan", *args, cwd=monorepo).stdout.splitlines()[:-2]
    assert len(text) == n and len(set(text)) == n
    mr = [t for t in text if " IKMS104 " in t]
    assert sorted(t.rsplit("(via ", 1)[1] for t in mr) == ["envs/dev/main.tf:1)", "envs/prod/main.tf:1)", "envs/stage/main.tf:1)"]
    gh = run("scan", *args, "--format", "github", cwd=monorepo).stdout.splitlines()
    assert len(gh) == n and len(set(gh)) == n
    sarif = json.loads(run("scan", *args, "--format", "sarif", cwd=monorepo).stdout)
    results = sarif["runs"][0]["results"]
    assert len(results) == n
    assert len({r["partialFingerprints"]["iackms/v1"] for r in results}) == n
    ikms104 = [r for r in results if r["ruleId"] == "IKMS104"]
    assert sorted(r["relatedLocations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in ikms104) == [
        "envs/dev/main.tf", "envs/prod/main.tf", "envs/stage/main.tf"]
    assert sorted(r["properties"]["root"] for r in ikms104) == ["envs/dev", "envs/prod", "envs/stage"]


def test_a_file_scan_of_one_root_reports_only_that_root(monorepo):
    for root in ("prod", "dev", "stage"):
        # the module's file given too (pre-commit with both staged): it is evaluated through its caller
        doc = scan_json(f"envs/{root}/main.tf", "modules/kms/main.tf", cwd=monorepo)
        assert doc["findings"] and {(f["root"], f["resource"]) for f in doc["findings"]} == {(f"envs/{root}", "module.kms.aws_kms_key.this")}
        assert doc["summary"]["keys_checked"] == 1


def test_suppressions_belong_to_one_root(tmp_path):
    (tmp_path / ".git").mkdir()
    key = 'resource "aws_kms_key" "k" {\n  enable_key_rotation = false\n}\n'
    write(tmp_path, {"a/main.tf": key.replace("{\n", "{\n  # iackms:skip=IKMS101 rotated by hand in a/\n", 1), "b/main.tf": key})
    doc = scan_json(cwd=tmp_path)
    assert [(f["root"], f["file"]) for f in by_rule(doc, "IKMS101")] == [("b", "b/main.tf")]
    assert doc["summary"]["suppressed"] == 1
    # two templates with the same logical ID: the suppression is the one template's
    cfn = 'Resources:\n  Key:\n    Type: AWS::KMS::Key\n{meta}    Properties:\n      EnableKeyRotation: false\n'
    meta = "    Metadata:\n      iackms:\n        skip:\n          - id: IKMS101\n            reason: vendor-managed\n"
    write(tmp_path, {"t/one.yaml": cfn.format(meta=meta), "t/two.yaml": cfn.format(meta="")})
    doc = scan_json("t", cwd=tmp_path)
    assert [(f["root"], f["file"]) for f in by_rule(doc, "IKMS101")] == [("t/two.yaml", "t/two.yaml")]


# --- 11.3: a finding points at where the bad value is written ---------------------------------


EXTERNAL_MODULE = '''variable "material" {
  type = string
}

resource "aws_kms_external_key" "this" {
  description         = "imported"
  key_material_base64 = var.material
}
'''


def test_a_value_through_a_module_argument_is_reported_where_it_is_written(tmp_path):
    (tmp_path / ".git").mkdir()
    write(tmp_path, {
        "modules/ext/main.tf": EXTERNAL_MODULE,
        "main.tf": 'module "a" {\n  source   = "./modules/ext"\n  material = "c2VjcmV0LW1hdGVyaWFs"\n}\n\n'
                   'module "b" {\n  source   = "./modules/ext"\n  material = "b3RoZXItc2VjcmV0"\n}\n',
    })
    doc = scan_json(cwd=tmp_path)
    got = sorted((f["file"], f["line"], f["resource"], tuple((r["file"], r["line"], r["what"]) for r in f["related"]))
                 for f in by_rule(doc, "IKMS112"))
    assert got == [
        ("main.tf", 3, "module.a.aws_kms_external_key.this", (("modules/ext/main.tf", 7, "key_material_base64 = var.material"),)),
        ("main.tf", 8, "module.b.aws_kms_external_key.this", (("modules/ext/main.tf", 7, "key_material_base64 = var.material"),)),
    ]
    # two instances share the module's lines: told apart by their addresses in every format
    [ra, rb] = [f for f in doc["findings"] if f["rule_id"] == "IKMS201"]
    assert (ra["file"], ra["line"]) == (rb["file"], rb["line"]) == ("modules/ext/main.tf", 5)
    assert {ra["resource"], rb["resource"]} == {"module.a.aws_kms_external_key.this", "module.b.aws_kms_external_key.this"}
    assert {r["line"] for f in (ra, rb) for r in f["related"]} == {1, 6}
    text = run("scan", cwd=tmp_path).stdout
    assert ("main.tf:3: CRITICAL IKMS112 module.a.aws_kms_external_key.this: module.a.aws_kms_external_key.this has its key "
            "material (key_material_base64) written in the code (via modules/ext/main.tf:7)") in text
    assert "modules/ext/main.tf:5: LOW IKMS201 module.b.aws_kms_external_key.this:" in text
    gh = run("scan", "--format", "github", cwd=tmp_path).stdout.splitlines()
    assert len([g for g in gh if "IKMS201" in g]) == 2 and len(set(gh)) == len(gh)
    sarif = json.loads(run("scan", "--format", "sarif", cwd=tmp_path).stdout)
    results = sarif["runs"][0]["results"]
    [r112] = [r for r in results if r["ruleId"] == "IKMS112" and r["locations"][0]["physicalLocation"]["region"]["startLine"] == 3]
    assert r112["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "main.tf"
    assert r112["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "module.a.aws_kms_external_key.this"
    assert r112["relatedLocations"] == [{"id": 1, "physicalLocation": {"artifactLocation": {"uri": "modules/ext/main.tf", "uriBaseId": "%SRCROOT%"},
                                                                        "region": {"startLine": 7}},
                                         "message": {"text": "key_material_base64 = var.material"}}]
    assert len({r["partialFingerprints"]["iackms/v1"] for r in results}) == len(results)
    # fingerprints survive lines moving, in both files
    for name in ("main.tf", "modules/ext/main.tf"):
        (tmp_path / name).write_text("\n\n" + (tmp_path / name).read_text())
    moved = json.loads(run("scan", "--format", "sarif", cwd=tmp_path).stdout)["runs"][0]["results"]
    assert sorted(r["partialFingerprints"]["iackms/v1"] for r in moved) == sorted(r["partialFingerprints"]["iackms/v1"] for r in results)


def test_defaults_tfvars_locals_and_chains_are_reported_where_written(tmp_path):
    (tmp_path / ".git").mkdir()
    write(tmp_path, {
        "variables.tf": 'variable "rotate" {\n  default = false\n}\n\nvariable "window" {\n  default = 30\n}\n\nvariable "multi" {}\n',
        "terraform.tfvars": 'window = 7\n',
        "locals.tf": 'locals {\n  multi = true\n  spec  = local.multi ? "SYMMETRIC_DEFAULT" : "RSA_2048"\n}\n',
        "main.tf": '''resource "aws_kms_key" "k" {
  enable_key_rotation     = var.rotate
  deletion_window_in_days = "${var.window}"
  multi_region            = local.multi
  description             = var.multi
}

module "inner" {
  source = "./modules/inner"
  window = var.window
}
''',
        "modules/inner/main.tf": 'variable "window" {}\n\nresource "aws_kms_key" "i" {\n  enable_key_rotation     = true\n  deletion_window_in_days = var.window\n}\n',
    })
    doc = scan_json(cwd=tmp_path)
    got = {(f["rule_id"], f["resource"]): (f["file"], f["line"], [(r["file"], r["line"]) for r in f["related"]]) for f in doc["findings"]}
    assert got[("IKMS101", "aws_kms_key.k")] == ("variables.tf", 2, [("main.tf", 2)])  # a variable default
    assert got[("IKMS107", "aws_kms_key.k")] == ("terraform.tfvars", 1, [("main.tf", 3)])  # tfvars, through "${...}"
    assert got[("IKMS104", "aws_kms_key.k")] == ("locals.tf", 2, [("main.tf", 4)])  # a local
    # root tfvars -> module argument -> the module's variable: the tfvars line, the module attribute and call related
    assert got[("IKMS107", "module.inner.aws_kms_key.i")] == ("terraform.tfvars", 1, [("modules/inner/main.tf", 5), ("main.tf", 8)])
    # the resource's own line when nothing is written elsewhere
    assert got[("IKMS201", "aws_kms_key.k")] == ("main.tf", 1, [])
    # a .tf.json root: "${var.x}" is a plain reference too
    (tmp_path / "main.tf").unlink()
    (tmp_path / "main.tf.json").write_text(json.dumps({"resource": {"aws_kms_key": {"k": {"enable_key_rotation": "${var.rotate}"}}}}, indent=2))
    doc = scan_json(cwd=tmp_path)
    [f] = by_rule(doc, "IKMS101")
    assert (f["file"], f["line"], f["related"][0]["file"]) == ("variables.tf", 2, "main.tf.json")


def test_a_cloudformation_parameter_default_is_where_the_value_is_written(tmp_path):
    yaml_t = '''AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Rotate:
    Type: String
    Default: "false"
  Window:
    Type: Number
    Default: 7
  FromSsm:
    Type: AWS::SSM::Parameter::Value<String>
    Default: /kms/rotation
  Dynamic:
    Type: String
    Default: "{{resolve:ssm:/kms/rotation}}"
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: !Ref Rotate
      PendingWindowInDays: !Ref Window
      MultiRegion: true
  FromParameterStore:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: !Ref FromSsm
  FromDynamicReference:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: !Ref Dynamic
'''
    write(tmp_path, {"k.yaml": yaml_t})
    json_t = json.dumps({"Parameters": {"Rotate": {"Type": "String", "Default": "false"}},
                         "Resources": {"Key": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": {"Ref": "Rotate"}}}}}, indent=2)
    (tmp_path / "k.template.json").write_text(json_t)
    doc = scan_json(cwd=tmp_path)
    got = {(f["rule_id"], f["file"]): (f["line"], [(r["file"], r["line"], r["what"]) for r in f["related"]]) for f in doc["findings"]}
    assert got[("IKMS101", "k.yaml")] == (5, [("k.yaml", 19, "EnableKeyRotation = !Ref Rotate")])
    assert got[("IKMS107", "k.yaml")] == (8, [("k.yaml", 20, "PendingWindowInDays = !Ref Window")])
    assert got[("IKMS104", "k.yaml")] == (21, [])
    # values read at deployment (an SSM parameter type, a dynamic reference) are not written in the
    # template: the notes stay at the property
    notes = sorted((f["resource"], f["line"], f["related"]) for f in doc["findings"] if f["rule_id"] == "IKMS002")
    assert notes == [("FromDynamicReference", 29, []), ("FromParameterStore", 25, [])]
    assert got[("IKMS101", "k.template.json")] == (5, [("k.template.json", 12, "EnableKeyRotation = !Ref Rotate")])
    text = run("scan", "k.yaml", cwd=tmp_path).stdout
    assert "k.yaml:5: MEDIUM IKMS101 Key: Key has automatic rotation disabled: EnableKeyRotation = !Ref Rotate (false) (via k.yaml:19)" in text


# --- 11.7: OpenTofu --------------------------------------------------------------------------


def test_opentofu_files_are_read_and_x_tofu_replaces_x_tf(tmp_path):
    (tmp_path / ".git").mkdir()
    write(tmp_path, {
        # Terraform reads main.tf; OpenTofu reads main.tofu instead
        "main.tf": 'resource "aws_kms_key" "k" {\n  enable_key_rotation = false\n}\n',
        "main.tofu": 'resource "aws_kms_key" "k" {\n  enable_key_rotation = true\n  multi_region        = var.multi\n}\n',
        "variables.tofu": 'variable "multi" {\n  default = true\n}\n',
        "keys.tf.json": json.dumps({"resource": {"aws_kms_key": {"j": {"enable_key_rotation": False}}}}),
        "keys.tofu.json": json.dumps({"resource": {"aws_kms_key": {"j": {"enable_key_rotation": True, "deletion_window_in_days": 7}}}}),
        "override.tofu": 'resource "aws_kms_key" "k" {\n  description = "from the override"\n}\n',
        "mod.tf": 'module "m" {\n  source = "./modules/m"\n}\n',
        "modules/m/main.tofu": 'resource "aws_kms_key" "inner" {\n  is_enabled = false\n}\n',
    })
    doc = scan_json(cwd=tmp_path)
    got = {(f["rule_id"], f["resource"], f["file"], f["line"]) for f in doc["findings"]}
    assert got == {
        ("IKMS104", "aws_kms_key.k", "variables.tofu", 2),  # a .tofu variable default, where it is written
        ("IKMS201", "aws_kms_key.k", "main.tofu", 1),
        ("IKMS107", "aws_kms_key.j", "keys.tofu.json", 1),
        ("IKMS201", "aws_kms_key.j", "keys.tofu.json", 1),
        ("IKMS101", "module.m.aws_kms_key.inner", "modules/m/main.tofu", 1),  # a module written in .tofu only
        ("IKMS108", "module.m.aws_kms_key.inner", "modules/m/main.tofu", 2),
        ("IKMS201", "module.m.aws_kms_key.inner", "modules/m/main.tofu", 1),
    }  # nothing of main.tf or keys.tf.json (rotation off there), no duplicate resource (IKMS001)
    assert doc["summary"]["keys_checked"] == 3
    # main.tofu, variables.tofu, keys.tofu.json, override.tofu, mod.tf, modules/m/main.tofu
    assert doc["summary"]["files_scanned"] == 6
    # given on the command line (pre-commit): a .tofu file scans its directory the same way
    doc = scan_json("main.tofu", "main.tf", cwd=tmp_path)
    assert {(f["rule_id"], f["file"]) for f in doc["findings"]} == {("IKMS104", "variables.tofu"), ("IKMS201", "main.tofu")}
    assert doc["summary"]["files_scanned"] == 1


def test_merged_notes_of_two_roots_stay_two(tmp_path):
    (tmp_path / ".git").mkdir()
    module = '''variable "admin" {}

resource "aws_kms_key" "this" {
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "Admins"
      Effect    = "Allow"
      Principal = { AWS = var.admin }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}
'''
    call = 'module "kms" {\n  source = "../../modules/kms"\n  admin  = data.aws_iam_role.admin.arn\n}\n'
    write(tmp_path, {"modules/kms/main.tf": module, "envs/a/main.tf": call, "envs/b/main.tf": call})
    doc = scan_json("envs", cwd=tmp_path)
    notes = by_rule(doc, "IKMS002")
    assert notes and sorted({f["root"] for f in notes}) == ["envs/a", "envs/b"]
    per_root = {r: [f for f in notes if f["root"] == r] for r in ("envs/a", "envs/b")}
    assert len(per_root["envs/a"]) == len(per_root["envs/b"])
    assert [f["message"] for f in per_root["envs/a"]] == [f["message"] for f in per_root["envs/b"]]
