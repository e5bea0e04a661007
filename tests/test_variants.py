"""Issue 12.1 (instances and branches are judged as a whole) and issue 17.3
(keys behind a switch that is off by default are code under review): the
switches of values, the variants of a key, how findings of variants are
merged and named, and the branch a key that is off by default is checked in.
Each test names the rule, the file, the line and the resource it expects."""

from __future__ import annotations

import textwrap
from pathlib import Path

from iackms.config import Config
from iackms.engine import MAX_VARIANTS, block_address, scan
from iackms.model import CONDITION, INSTANCES, Attr, Choice, Key, Location, Switch, key_variants, select, variants, variants_when
from iackms.reporters.sarif import fingerprint

ROOT = Path(__file__).resolve().parent.parent


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"))


def run(tmp_path: Path, files: dict[str, str], profile: str = "default", **cfg):
    write(tmp_path, files)
    return scan([str(tmp_path)], Config(profile=profile, **cfg), cwd=tmp_path)


def hits(report, rid: str) -> list[tuple[str, int, str]]:
    return sorted((f.file, f.line, f.resource) for f in report.findings if f.rule_id == rid)


def messages(report, rid: str) -> list[str]:
    return sorted(f.message for f in report.findings if f.rule_id == rid)


# --- the model ---------------------------------------------------------------------


def test_choices_on_one_switch_are_expanded_together():
    sw = Switch(INSTANCES, "aws_kms_key.k")
    spec = Choice(("RSA_2048", "SYMMETRIC_DEFAULT"), "each.value.spec", None, sw, (('["jwt"]',), ('["a"]', '["b"]')))
    rot = Choice((False, True), "each.value.rotate", None, sw, (('["jwt"]',), ('["a"]', '["b"]')))
    # without the switch, four combinations (two impossible); with it, two
    assert variants({"spec": spec, "rotate": rot}) == [{"spec": "RSA_2048", "rotate": False}, {"spec": "SYMMETRIC_DEFAULT", "rotate": True}]
    assert [w for _, w in variants_when([spec, rot])] == [{sw: ('["jwt"]',)}, {sw: ('["a"]', '["b"]')}]
    assert select({"x": [spec]}, {sw: '["b"]'}) == {"x": ["SYMMETRIC_DEFAULT"]}
    # independent choices still combine
    free = Choice((1, 2), "var.x ? 1 : 2")
    assert len(variants([free, free])) == 4


def test_key_variants_group_instances_that_agree_and_respect_the_bound():
    sw = Switch(INSTANCES, "aws_kms_key.k")
    cond = Switch(CONDITION, "var.prod")
    k = Key("aws_kms_key.k", "aws_kms_key", Location("main.tf", 1, 5), "terraform")
    k.attrs["rotation"] = Attr(Choice((False, True), "", None, sw, (('["a"]',), ('["b"]', '["c"]'))), None, True)
    k.attrs["enabled"] = Attr(Choice((True, False), "", None, cond, (("true",), ("false",))), None, True)
    vs = key_variants(k)
    assert [(v.chosen[sw], v.chosen[cond], v.key.attrs["rotation"].value, v.key.attrs["enabled"].value) for v in vs] == [
        (('["a"]',), ("true",), False, True), (('["a"]',), ("false",), False, False),
        (('["b"]', '["c"]'), ("true",), True, True), (('["b"]', '["c"]'), ("false",), True, False)]
    many = Switch(INSTANCES, "aws_kms_key.m")
    k.attrs["description"] = Attr(Choice(tuple(range(17)), "", None, many, tuple((f"[{i}]",) for i in range(17))), None, True)
    assert key_variants(k, 64) is None  # 2 x 2 x 17 > 64


def test_block_address_drops_instance_keys():
    assert block_address('module.kms[0].aws_kms_key.this["a]b"]') == "module.kms.aws_kms_key.this"
    assert block_address("aws_kms_key.k") == "aws_kms_key.k"


# --- Terraform instances -------------------------------------------------------------


SERVICE_KEYS = """
    locals {
      keys = {
        jwt  = { spec = "RSA_2048", usage = "SIGN_VERIFY", rotate = false }
        data = { spec = "SYMMETRIC_DEFAULT", usage = "ENCRYPT_DECRYPT", rotate = true }
        logs = { spec = "SYMMETRIC_DEFAULT", usage = "ENCRYPT_DECRYPT", rotate = %s }
      }
    }
    resource "aws_kms_key" "this" {
      for_each                 = local.keys
      customer_master_key_spec = each.value.spec
      key_usage                = each.value.usage
      enable_key_rotation      = each.value.rotate
      deletion_window_in_days  = 7
    }
"""


def test_an_instance_that_cannot_rotate_is_not_a_rotation_finding(tmp_path):
    r = run(tmp_path, {"main.tf": SERVICE_KEYS % "true"}, "strict")
    assert hits(r, "IKMS101") == [] and hits(r, "IKMS114") == []
    # a finding of every instance names the block once, with the message it always had
    assert hits(r, "IKMS107") == [("main.tf", 13, "aws_kms_key.this")]
    assert messages(r, "IKMS107") == ["aws_kms_key.this has a deletion window of 7 days, below the minimum of 30 (deletion_window_in_days = 7)"]


def test_a_finding_of_some_instances_names_their_addresses(tmp_path):
    r = run(tmp_path, {"main.tf": SERVICE_KEYS % "false"})
    assert hits(r, "IKMS101") == [("main.tf", 12, 'aws_kms_key.this["logs"]')]
    assert messages(r, "IKMS101") == ["aws_kms_key.this has automatic rotation disabled: enable_key_rotation = each.value.rotate (false)"]


def test_module_instances_are_instances(tmp_path):
    r = run(tmp_path, {
        "main.tf": """
            module "kms" {
              source = "./kms"
              count  = 3
              rotate = count.index != 1
            }
            module "tenant" {
              source   = "./kms"
              for_each = { a = true, b = false }
              rotate   = each.value
            }
        """,
        "kms/main.tf": """
            variable "rotate" {}
            resource "aws_kms_key" "this" {
              for_each            = { x = 1, y = 2 }
              enable_key_rotation = var.rotate && each.value == 1
            }
        """,
    })
    assert hits(r, "IKMS101") == [
        ("kms/main.tf", 4, 'module.kms.aws_kms_key.this["y"]'),
        ("kms/main.tf", 4, 'module.kms[1].aws_kms_key.this["x"]'),
        ("kms/main.tf", 4, 'module.tenant.aws_kms_key.this["y"]'),
        ("kms/main.tf", 4, 'module.tenant["b"].aws_kms_key.this["x"]'),
    ]


def test_suppression_of_the_block_covers_its_instances(tmp_path):
    r = run(tmp_path, {"main.tf": """
        resource "aws_kms_key" "this" {
          # iackms:skip=IKMS101 signing keys are rotated by hand
          for_each            = { a = true, b = false }
          enable_key_rotation = each.value
        }
    """})
    assert hits(r, "IKMS101") == []
    assert [(f.rule_id, f.resource) for f in r.suppressed] == [("IKMS101", 'aws_kms_key.this["b"]')]


def test_unchanged_findings_keep_their_fingerprint(tmp_path):
    """A finding that holds for every variant is the finding it was before:
    same resource, message and fingerprint."""
    before = run(tmp_path / "a", {"main.tf": 'resource "aws_kms_key" "this" {\n  deletion_window_in_days = 7\n  enable_key_rotation = true\n}\n'})
    after = run(tmp_path / "b", {"main.tf": 'resource "aws_kms_key" "this" {\n  deletion_window_in_days = 7\n  enable_key_rotation = var.x ? true : true\n'
                                            '  is_enabled = var.y ? true : false\n}\nvariable "x" {}\nvariable "y" {}\n'})
    fa = [f for f in before.findings if f.rule_id == "IKMS107"]
    fb = [f for f in after.findings if f.rule_id == "IKMS107"]
    assert [fingerprint(f) for f in fa] == [fingerprint(f) for f in fb] and [f.message for f in fa] == [f.message for f in fb]


# --- Terraform branches ----------------------------------------------------------------


def test_a_condition_switches_several_arguments_together(tmp_path):
    r = run(tmp_path, {"main.tf": """
        variable "prod" {
          type = bool
        }
        resource "aws_kms_key" "webhook" {
          customer_master_key_spec = var.prod ? "SYMMETRIC_DEFAULT" : "HMAC_256"
          key_usage                = var.prod ? "ENCRYPT_DECRYPT" : "GENERATE_VERIFY_MAC"
          enable_key_rotation      = var.prod ? true : false
          deletion_window_in_days  = var.prod ? 30 : 7
        }
    """})
    assert hits(r, "IKMS101") == [] and hits(r, "IKMS103") == []
    assert hits(r, "IKMS107") == [("main.tf", 8, "aws_kms_key.webhook")]
    assert messages(r, "IKMS107") == ["aws_kms_key.webhook has a deletion window of 7 days, below the minimum of 30 "
                                      "(deletion_window_in_days = var.prod ? 30 : 7 (7)) (when var.prod is false)"]


def test_a_condition_on_instances_follows_the_instances(tmp_path):
    r = run(tmp_path, {"main.tf": """
        resource "aws_kms_key" "this" {
          for_each                 = { sign = true, data = false }
          customer_master_key_spec = each.value ? "ECC_NIST_P256" : "SYMMETRIC_DEFAULT"
          key_usage                = each.value ? "SIGN_VERIFY" : "ENCRYPT_DECRYPT"
          enable_key_rotation      = !each.value
        }
    """})
    assert hits(r, "IKMS101") == [] and hits(r, "IKMS103") == []


def test_a_condition_inside_a_for_expression_stays_independent(tmp_path):
    """`s.public ? ... : ...` inside a `for` means one thing per element:
    no switch, every combination is judged, as before."""
    r = run(tmp_path, {"main.tf": """
        variable "open" {
          type = bool
        }
        locals {
          stmts = [for s in [1, 2] : { Sid = "S${s}", Effect = "Allow", Action = "kms:Decrypt", Resource = "*",
                                       Principal = var.open ? "*" : { AWS = "arn:aws:iam::111122223333:root" } }]
        }
        resource "aws_kms_key" "k" {
          enable_key_rotation = true
          policy              = jsonencode({ Version = "2012-10-17", Statement = local.stmts })
        }
    """})
    assert {f.message.endswith("(when var.open is true)") for f in r.findings if f.rule_id == "IKMS202"} == {True}


def test_past_the_bound_each_setting_is_judged_alone_with_a_note(tmp_path):
    instances = ", ".join(f"k{i} = {i}" for i in range(9))
    r = run(tmp_path, {"main.tf": f"""
        variable "a" {{}}
        variable "b" {{}}
        variable "c" {{}}
        resource "aws_kms_key" "many" {{
          for_each                = {{ {instances} }}
          description             = "key ${{each.value}}"
          enable_key_rotation     = var.a ? true : false
          is_enabled              = var.b ? true : false
          multi_region            = var.c ? true : false
        }}
    """})
    notes = [f for f in r.findings if f.rule_id == "IKMS002" and "combinations" in f.message]
    assert [(f.line, f.resource) for f in notes] == [(4, "aws_kms_key.many")]
    assert f"more than {MAX_VARIANTS} combinations" in notes[0].message
    assert hits(r, "IKMS101") == [("main.tf", 7, "aws_kms_key.many")]
    assert messages(r, "IKMS101") == ["aws_kms_key.many has automatic rotation disabled: enable_key_rotation = false when var.a is false "
                                      "(`var.a ? true : false`)"]


# --- CloudFormation branches -------------------------------------------------------------


def test_cloudformation_if_on_one_condition_is_one_decision(tmp_path):
    r = run(tmp_path, {"t.yaml": """
        AWSTemplateFormatVersion: "2010-09-09"
        Parameters:
          Env: {Type: String}
        Conditions:
          IsProd: !Equals [!Ref Env, prod]
        Resources:
          Key:
            Type: AWS::KMS::Key
            Properties:
              KeySpec: !If [IsProd, SYMMETRIC_DEFAULT, RSA_2048]
              KeyUsage: !If [IsProd, ENCRYPT_DECRYPT, SIGN_VERIFY]
              EnableKeyRotation: !If [IsProd, true, !Ref AWS::NoValue]
              PendingWindowInDays: !If [IsProd, 30, 7]
              KeyPolicy:
                Version: "2012-10-17"
                Statement:
                  - Effect: Allow
                    Principal: {AWS: !If [IsProd, !Sub "arn:aws:iam::${AWS::AccountId}:root", "*"]}
                    Action: kms:*
                    Resource: "*"
    """}, "strict")
    assert hits(r, "IKMS101") == [] and hits(r, "IKMS114") == []
    assert hits(r, "IKMS107") == [("t.yaml", 13, "Key")]
    assert messages(r, "IKMS107")[0].endswith("(when IsProd is false)")
    assert hits(r, "IKMS202") == [("t.yaml", 17, "Key")]
    assert messages(r, "IKMS202") == ["statement #1 of Key allows any principal (*) kms:* (when IsProd is false)"]


# --- issue 17.3: switches that are off by default ------------------------------------------


def test_a_module_off_by_default_is_checked_in_its_branch(tmp_path):
    r = run(tmp_path, {
        "main.tf": """
            variable "enable_archive" {
              default = false
            }
            variable "create_replica" {
              default = false
            }
            module "archive" {
              source = "./archive"
              count  = var.enable_archive ? 1 : 0
              replica = var.create_replica
            }
            module "fixed" {
              source  = "./archive"
              count   = 0
              replica = true
            }
        """,
        "archive/main.tf": """
            variable "replica" {}
            resource "aws_kms_key" "this" {
              enable_key_rotation = false
            }
            resource "aws_kms_replica_key" "copy" {
              count           = var.replica ? 1 : 0
              primary_key_arn = aws_kms_key.this.arn
            }
        """,
    })
    assert hits(r, "IKMS101") == [("archive/main.tf", 3, "module.archive.aws_kms_key.this")]
    assert messages(r, "IKMS101") == ["module.archive.aws_kms_key.this has automatic rotation disabled: enable_key_rotation = false "
                                      "(when var.enable_archive is true)"]
    assert hits(r, "IKMS105") == [("archive/main.tf", 5, "module.archive.aws_kms_replica_key.copy")]
    assert messages(r, "IKMS105") == ["module.archive.aws_kms_replica_key.copy replicates a multi-Region key into another Region "
                                      "(when var.enable_archive is true and var.create_replica is true)"]


def test_the_fewest_switches_are_turned(tmp_path):
    r = run(tmp_path, {"main.tf": """
        variable "create" { default = true }
        variable "create_external" { default = false }
        variable "create_replica" { default = false }
        resource "aws_kms_external_key" "this" {
          count = var.create && var.create_external && !var.create_replica ? 1 : 0
        }
        resource "aws_kms_key" "never" {
          count = var.create && false ? 1 : 0
        }
    """})
    assert hits(r, "IKMS109") == [("main.tf", 4, "aws_kms_external_key.this")]
    assert messages(r, "IKMS109")[0].endswith("(when var.create_external is true)")
    assert not [f for f in r.findings if f.resource == "aws_kms_key.never"]


def test_values_that_are_not_switches_are_opened(tmp_path):
    r = run(tmp_path, {"main.tf": """
        variable "secondary_region" { default = "" }
        resource "aws_kms_key" "secondary" {
          count               = var.secondary_region == "" ? 0 : 1
          enable_key_rotation = false
        }
    """})
    assert hits(r, "IKMS101") == [("main.tf", 4, "aws_kms_key.secondary")]
    assert messages(r, "IKMS101")[0].endswith('(when var.secondary_region == "" is false)')


def test_tfvars_fix_a_switch(tmp_path):
    r = run(tmp_path, {
        "main.tf": 'variable "on" { default = true }\nresource "aws_kms_key" "k" {\n  count = var.on ? 1 : 0\n  enable_key_rotation = false\n}\n',
        "terraform.tfvars": "on = false\n",
    })
    assert hits(r, "IKMS101") == []


def test_cloudformation_condition_false_with_defaults_is_checked_in_its_branch(tmp_path):
    r = run(tmp_path, {"t.yaml": """
        AWSTemplateFormatVersion: "2010-09-09"
        Parameters:
          Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}
        Conditions:
          IsProd: !Equals [!Ref Env, prod]
          IsDev: !Equals [!Ref Env, dev]
        Resources:
          ProdKey:
            Type: AWS::KMS::Key
            Condition: IsProd
            Properties:
              EnableKeyRotation: !If [IsDev, true, false]
              PendingWindowInDays: !If [IsProd, 7, 30]
    """})
    # the branch is Env = prod: IsDev is then false, consistently
    assert hits(r, "IKMS101") == [("t.yaml", 12, "ProdKey")]
    assert messages(r, "IKMS101")[0].endswith("(when IsProd is true)")
    assert hits(r, "IKMS107") == [("t.yaml", 13, "ProdKey")]
    assert not [f for f in r.findings if f.rule_id == "IKMS002"]


def test_a_for_each_empty_by_default_is_opened_without_notes(tmp_path):
    """Its instances' values are unknown because the branch gives them any
    value, not because of the code: failures are reported, no IKMS002 note."""
    r = run(tmp_path, {"main.tf": """
        variable "tenants" {
          default = {}
        }
        resource "aws_kms_external_key" "tenant" {
          for_each = var.tenants
          enabled  = each.value.enabled
        }
    """})
    assert hits(r, "IKMS109") == [("main.tf", 4, "aws_kms_external_key.tenant")]
    assert messages(r, "IKMS109")[0].endswith("(when var.tenants is not empty)")
    assert [f.message for f in r.findings if f.rule_id == "IKMS002"] == []


def test_try_with_a_default_is_tried_instance_by_instance(tmp_path):
    """The terraform-aws-modules "keys map" pattern: an instance whose map has
    no `enable_key_rotation` takes try()'s default, the others their own
    value; `key_usage` defaulted the same way leaves the key judgeable."""
    r = run(tmp_path, {
        "main.tf": """
            locals {
              keys = {
                s3      = { description = "s3" }
                rds     = { description = "rds", enable_key_rotation = false }
                signing = { description = "jwt", key_usage = "SIGN_VERIFY", spec = "RSA_2048", enable_key_rotation = false }
              }
            }

            resource "aws_kms_key" "this" {
              for_each                 = local.keys
              description              = each.value.description
              enable_key_rotation      = try(each.value.enable_key_rotation, true)
              key_usage                = try(each.value.key_usage, "ENCRYPT_DECRYPT")
              customer_master_key_spec = try(each.value.spec, "SYMMETRIC_DEFAULT")
            }
        """,
    })
    assert hits(r, "IKMS101") == [("main.tf", 12, 'aws_kms_key.this["rds"]')]
    assert hits(r, "IKMS002") == []


# --- statements behind a switch that is off by default -------------------------------


PUBLIC_READ_DOC = """
    variable "public_read" {
      type    = bool
      default = false
    }
    data "aws_iam_policy_document" "k" {
      statement {
        sid = "Root"
        principals {
          type        = "AWS"
          identifiers = ["arn:aws:iam::111122223333:root"]
        }
        actions   = ["kms:*"]
        resources = ["*"]
      }
      dynamic "statement" {
        for_each = var.public_read ? [1] : []
        content {
          actions   = ["kms:Decrypt"]
          resources = ["*"]
          principals {
            type        = "*"
            identifiers = ["*"]
          }
        }
      }
    }
    resource "aws_kms_key" "k" {
      enable_key_rotation = true
      policy              = data.aws_iam_policy_document.k.json
    }
"""


def test_a_dynamic_statement_off_by_default_is_judged_in_its_branch(tmp_path):
    r = run(tmp_path, {"main.tf": PUBLIC_READ_DOC})
    assert hits(r, "IKMS202") == [("main.tf", 17, "aws_kms_key.k")]
    assert messages(r, "IKMS202") == ["statement #2 of aws_kms_key.k allows any principal (*) kms:Decrypt (when var.public_read is true)"]
    assert hits(r, "IKMS002") == []


def test_tfvars_fix_a_statement_switch(tmp_path):
    r = run(tmp_path, {"main.tf": PUBLIC_READ_DOC, "terraform.tfvars": "public_read = false\n"})
    assert r.findings == []


def test_a_module_argument_fixes_a_statement_switch(tmp_path):
    r = run(tmp_path, {
        "kms/main.tf": PUBLIC_READ_DOC,
        "main.tf": 'module "kms" {\n  source      = "./kms"\n  public_read = false\n}\n',
    })
    assert hits(r, "IKMS202") == []


def test_a_conditional_concat_in_jsonencode_is_judged_in_its_branch(tmp_path):
    r = run(tmp_path, {"main.tf": """
        variable "open_decrypt" {
          type    = bool
          default = false
        }
        resource "aws_kms_key" "k" {
          enable_key_rotation = true
          policy = jsonencode({
            Version = "2012-10-17"
            Statement = concat([
              {
                Sid       = "Root"
                Effect    = "Allow"
                Principal = { AWS = "arn:aws:iam::111122223333:root" }
                Action    = "kms:*"
                Resource  = "*"
              }
            ], var.open_decrypt ? [
              {
                Sid       = "Public"
                Effect    = "Allow"
                Principal = "*"
                Action    = "kms:Decrypt"
                Resource  = "*"
              }
            ] : [])
          })
        }
    """})
    assert hits(r, "IKMS202") == [("main.tf", 18, "aws_kms_key.k")]
    assert messages(r, "IKMS202") == ["statement 'Public' of aws_kms_key.k allows any principal (*) kms:Decrypt (when var.open_decrypt is true)"]


def test_a_statement_list_chosen_in_a_local_is_judged_in_its_branch(tmp_path):
    r = run(tmp_path, {"main.tf": """
        variable "public_read" {
          type    = bool
          default = false
        }
        locals {
          root   = [{ sid = "Root", actions = ["kms:*"], principals = [{ type = "AWS", identifiers = ["arn:aws:iam::111122223333:root"] }] }]
          public = [{ sid = "Public", actions = ["kms:Decrypt"], principals = [{ type = "*", identifiers = ["*"] }] }]
          statements = var.public_read ? concat(local.root, local.public) : local.root
        }
        data "aws_iam_policy_document" "k" {
          dynamic "statement" {
            for_each = local.statements
            content {
              sid       = statement.value.sid
              actions   = statement.value.actions
              resources = ["*"]
              dynamic "principals" {
                for_each = statement.value.principals
                content {
                  type        = principals.value.type
                  identifiers = principals.value.identifiers
                }
              }
            }
          }
        }
        resource "aws_kms_key" "k" {
          enable_key_rotation = true
          policy              = data.aws_iam_policy_document.k.json
        }
    """})
    assert hits(r, "IKMS202") == [("main.tf", 13, "aws_kms_key.k")]
    assert messages(r, "IKMS202")[0].endswith("(when var.public_read is true)")


TRUSTED_TEMPLATE = """
    AWSTemplateFormatVersion: "2010-09-09"
    Parameters:
      TrustedAccount:
        Type: String
        Default: ""
    Conditions:
      HasTrusted: !Not [!Equals [!Ref TrustedAccount, ""]]
    Resources:
      Key:
        Type: AWS::KMS::Key
        Properties:
          EnableKeyRotation: true
          KeyPolicy:
            Version: "2012-10-17"
            Statement:
              - Sid: Root
                Effect: Allow
                Principal:
                  AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"
                Action: "kms:*"
                Resource: "*"
              - !If
                - HasTrusted
                - Sid: Trusted
                  Effect: Allow
                  Principal:
                    AWS: !Sub "arn:aws:iam::${TrustedAccount}:root"
                  Action: "kms:*"
                  Resource: "*"
                - !Ref AWS::NoValue
"""


def test_cloudformation_if_off_by_default_is_judged_in_its_branch(tmp_path):
    """No value makes HasTrusted true that the template names: the account is
    unknown in that branch, an IKMS002 note of IKMS206 at the statement."""
    r = run(tmp_path, {"t.yaml": TRUSTED_TEMPLATE})
    assert hits(r, "IKMS002") == [("t.yaml", 24, "Key")]
    assert messages(r, "IKMS002") == [
        "IKMS206 cross-account-principal: statement 'Trusted' of Key: cannot tell the account of principal "
        "arn:aws:iam::${TrustedAccount}:root (it gets kms:*: full control of the key if it is another account) (when HasTrusted is true)"]


def test_cloudformation_if_off_by_default_takes_an_allowed_value(tmp_path):
    r = run(tmp_path, {"t.yaml": TRUSTED_TEMPLATE.replace('Default: ""', 'Default: ""\n        AllowedValues: ["", "444455556666"]')})
    assert hits(r, "IKMS206") == [("t.yaml", 25, "Key")]
    assert messages(r, "IKMS206")[0].endswith("(when HasTrusted is true)")
    assert hits(r, "IKMS002") == []


def test_cloudformation_if_on_a_constant_condition_is_not_turned(tmp_path):
    r = run(tmp_path, {"t.yaml": TRUSTED_TEMPLATE.replace('!Not [!Equals [!Ref TrustedAccount, ""]]', '!Equals ["a", "b"]')})
    assert r.findings == []


def test_a_switch_of_the_keys_existence_is_not_a_branch_of_its_policy(tmp_path):
    """The policy document has the key's count too: turning var.create removes
    the key, so only var.public_read names the branch."""
    r = run(tmp_path, {"main.tf": PUBLIC_READ_DOC.replace(
        'data "aws_iam_policy_document" "k" {', 'variable "create" {\n  default = true\n}\ndata "aws_iam_policy_document" "k" {\n  count = var.create ? 1 : 0', 1).replace(
        "data.aws_iam_policy_document.k.json", "data.aws_iam_policy_document.k[0].json").replace(
        'resource "aws_kms_key" "k" {', 'resource "aws_kms_key" "k" {\n  count = var.create ? 1 : 0', 1)})
    assert hits(r, "IKMS202") == [("main.tf", 21, "aws_kms_key.k")]
    assert messages(r, "IKMS202")[0].endswith("kms:Decrypt (when var.public_read is true)")


def test_a_statement_switch_on_by_default_is_not_turned_off(tmp_path):
    """terraform-aws-kms's `enable_default_policy` (default true) removes the
    root statement when false, for `key_owners` to replace it: that branch is
    not judged on its own (it would be a lockout nobody deploys)."""
    r = run(tmp_path, {
        "main.tf": """
            variable "enable_default_policy" {
              type    = bool
              default = true
            }

            data "aws_iam_policy_document" "this" {
              dynamic "statement" {
                for_each = var.enable_default_policy ? [1] : []
                content {
                  sid       = "Default"
                  actions   = ["kms:*"]
                  resources = ["*"]
                  principals {
                    type        = "AWS"
                    identifiers = ["arn:aws:iam::111122223333:root"]
                  }
                }
              }
            }

            resource "aws_kms_key" "this" {
              enable_key_rotation = true
              policy              = data.aws_iam_policy_document.this.json
            }
        """,
    })
    assert [f for f in r.findings if f.rule_id != "IKMS002"] == []


# --- consumer keys behind a switch that is off by default ------------------------------------

ALARM_TOPIC = """
    variable "use_aws_managed_key" {
      type    = bool
      default = false
    }

    data "aws_caller_identity" "current" {}

    resource "aws_kms_key" "alerts" {
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
          {
            Sid       = "CloudWatch"
            Effect    = "Allow"
            Principal = { Service = "cloudwatch.amazonaws.com" }
            Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
            Resource  = "*"
          }
        ]
      })
    }

    resource "aws_sns_topic" "t" {
      name              = "alerts"
      kms_master_key_id = var.use_aws_managed_key ? "alias/aws/sns" : aws_kms_key.alerts.arn
    }

    resource "aws_cloudwatch_metric_alarm" "a" {
      alarm_name          = "high-cpu"
      comparison_operator = "GreaterThanThreshold"
      evaluation_periods  = 1
      metric_name         = "CPUUtilization"
      namespace           = "AWS/EC2"
      period              = 60
      statistic           = "Average"
      threshold           = 80
      alarm_actions       = [aws_sns_topic.t.arn]
    }
"""


def test_a_consumer_key_off_by_default_is_followed_in_its_branch(tmp_path):
    """The topic uses alias/aws/sns only when var.use_aws_managed_key is
    turned on: the alarm cannot publish to it in that branch (IKMS302), at
    alarm_actions; in the default branch the key's policy allows CloudWatch."""
    r = run(tmp_path, {"main.tf": ALARM_TOPIC})
    assert hits(r, "IKMS302") == [("main.tf", 45, "aws_cloudwatch_metric_alarm.a")]
    assert messages(r, "IKMS302")[0].endswith(
        "Use a customer managed key whose policy allows the service. (when var.use_aws_managed_key is true)")
    assert [f.rule_id for f in r.findings] == ["IKMS302"]


def test_tfvars_fix_a_consumer_key_switch(tmp_path):
    r = run(tmp_path, {"main.tf": ALARM_TOPIC, "terraform.tfvars": "use_aws_managed_key = false\n"})
    assert r.findings == []


def test_a_consumer_key_and_its_statement_on_one_switch_are_taken_together(tmp_path):
    """terraform-aws-control_tower_account_factory: the log group uses the key
    and the key policy gains the logs statement on the same switch; in the
    branch, the key's policy is that branch's (no finding), and the default
    branch's null is no key (no note)."""
    r = run(tmp_path, {"main.tf": """
        variable "cmk" {
          type    = bool
          default = false
        }
        data "aws_caller_identity" "c" {}
        data "aws_region" "r" {}
        resource "aws_kms_key" "k" {
          enable_key_rotation = true
          policy = jsonencode({
            Version = "2012-10-17"
            Statement = concat([{
              Sid = "Root", Effect = "Allow", Action = "kms:*", Resource = "*"
              Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.c.account_id}:root" }
              }], var.cmk ? [{
              Sid = "Logs", Effect = "Allow", Resource = "*"
              Principal = { Service = "logs.${data.aws_region.r.name}.amazonaws.com" }
              Action = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
              Condition = { ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:${data.aws_region.r.name}:${data.aws_caller_identity.c.account_id}:*" } }
            }] : [])
          })
        }
        resource "aws_cloudwatch_log_group" "g" {
          name       = "g"
          kms_key_id = var.cmk ? aws_kms_key.k.arn : null
        }
    """})
    assert r.findings == []


EVENTS_TOPIC = """
    AWSTemplateFormatVersion: "2010-09-09"
    Parameters:
      Env:
        Type: String
        Default: dev
        AllowedValues: [dev, prod]
    Conditions:
      IsProd: !Equals [!Ref Env, prod]
    Resources:
      AlarmTopicKey:
        Type: AWS::KMS::Key
        Condition: IsProd
        Properties:
          EnableKeyRotation: true
          KeyPolicy:
            Version: "2012-10-17"
            Statement:
              - Sid: Root
                Effect: Allow
                Principal:
                  AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"
                Action: "kms:*"
                Resource: "*"
      Topic:
        Type: AWS::SNS::Topic
        Properties:
          KmsMasterKeyId: !If [IsProd, !Ref AlarmTopicKey, !Ref AWS::NoValue]
      Rule:
        Type: AWS::Events::Rule
        Properties:
          EventPattern:
            source: ["aws.ec2"]
          Targets:
            - Id: topic
              Arn: !Ref Topic
"""


def test_cloudformation_consumer_key_off_by_default_is_followed_in_its_branch(tmp_path):
    """The topic is encrypted with AlarmTopicKey only when IsProd is true (Env
    defaults to dev): EventBridge cannot use that key (IKMS301), at the
    rule's target."""
    r = run(tmp_path, {"t.yaml": EVENTS_TOPIC})
    assert hits(r, "IKMS301") == [("t.yaml", 35, "Rule")]
    assert messages(r, "IKMS301")[0].startswith("EventBridge rule target -> SNS topic: Rule (Targets.Arn) sends into Topic, whose key is AlarmTopicKey")
    assert messages(r, "IKMS301")[0].endswith('"Resource":"*"} (when IsProd is true)')
    assert [f.rule_id for f in r.findings] == ["IKMS301"]


def test_cloudformation_consumer_key_on_a_fixed_condition_is_not_turned(tmp_path):
    r = run(tmp_path, {"t.yaml": EVENTS_TOPIC.replace("!Equals [!Ref Env, prod]", '!Equals ["a", "b"]')})
    assert r.findings == []
