"""The Terraform parser on small configurations written in tmp_path:
addresses, values, lines, modules, policies, notes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from iackms.context import ScanContext
from iackms.model import OPAQUE_CLOSE, OPAQUE_OPEN, THIS_ACCOUNT, Choice, Key, ScanUnit, Unknown, unknown_piece
from iackms.parsers.terraform import parse_modules


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(textwrap.dedent(text).lstrip("\n"))


def scan(root: Path, files: dict[str, str] | None = None, dirs: list[str] | None = None) -> ScanUnit:
    if files:
        write(root, files)
    ctx = ScanContext(roots=[root.resolve()], cwd=root)
    if dirs is None:
        found = {p.parent for p in root.rglob("*.tf")} | {p.parent for p in root.rglob("*.tf.json")}
        paths = sorted(found)
    else:
        paths = [root / d for d in dirs]
    return parse_modules(paths, ctx)


def key(unit: ScanUnit, address: str) -> Key:
    for k in unit.keys:
        if k.address == address:
            return k
    raise AssertionError(f"no key {address}; have {[k.address for k in unit.keys]}")


def test_attributes_values_and_lines(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        variable "days" {
          default = 10
        }
        resource "aws_kms_key" "k" {
          description             = "key for ${var.days} days"
          enable_key_rotation     = "true"
          deletion_window_in_days = var.days
          is_enabled              = false
          customer_master_key_spec = "SYMMETRIC_DEFAULT"
          multi_region            = true
          rotation_period_in_days = 90
          tags = {
            Team = "sec"
          }
          lifecycle {
            prevent_destroy = true
          }
        }
    """})
    k = key(u, "aws_kms_key.k")
    assert k.kind == "key" and k.resource_type == "aws_kms_key" and k.source == "terraform"
    assert (k.loc.file, k.loc.line, k.loc.end_line, k.loc.column) == ("main.tf", 4, 18, 1)
    assert k.attrs["description"].value == "key for 10 days"
    assert k.attrs["description"].loc.line == 5
    assert k.attrs["description"].expr == '"key for ${var.days} days"'
    assert k.attrs["rotation"].value is True  # "true" converted like the provider does
    assert k.attrs["deletion_window"].value == 10 and k.attrs["deletion_window"].loc.line == 7
    assert k.attrs["enabled"].value is False
    assert k.attrs["key_spec"].value == "SYMMETRIC_DEFAULT"
    assert k.attrs["multi_region"].value is True
    assert k.attrs["rotation_period"].value == 90
    assert k.attrs["tags"].value == {"Team": "sec"}
    assert k.attrs["deletion_protection"].value is True and k.attrs["deletion_protection"].loc.line == 16
    assert "origin" not in k.attrs and "bypass_lockout" not in k.attrs
    assert not k.policy.present and k.policies == []


def test_conditional_rotation_is_a_choice(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        variable "c" {}
        resource "aws_kms_key" "k" {
          enable_key_rotation = var.c ? true : false
        }
    """})
    v = key(u, "aws_kms_key.k").attrs["rotation"].value
    assert isinstance(v, Choice)
    assert v.options == (True, False)
    assert v.expr == "var.c ? true : false"
    assert v.loc is not None and v.loc.line == 3


def test_static_conditional_and_right_associative_chain(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        variable "env" { default = "prod" }
        resource "aws_kms_key" "k" {
          description = var.env == "dev" ? "d" : var.env == "prod" ? "p" : "o"
          enable_key_rotation = var.env != "prod" ? false : true
        }
    """})
    k = key(u, "aws_kms_key.k")
    assert k.attrs["description"].value == "p"
    assert k.attrs["rotation"].value is True


def test_tfvars_override_defaults_in_lexical_order(tmp_path: Path) -> None:
    u = scan(tmp_path, {
        "main.tf": """
            variable "rot" { default = true }
            variable "days" { default = 30 }
            variable "desc" { default = "default" }
            resource "aws_kms_key" "k" {
              enable_key_rotation = var.rot
              deletion_window_in_days = var.days
              description = var.desc
            }
        """,
        "terraform.tfvars": 'rot = false\ndays = 7\n',
        "a.auto.tfvars": 'days = 8\n',
        "b.auto.tfvars.json": '{"days": 9, "desc": "from json"}',
    })
    k = key(u, "aws_kms_key.k")
    assert k.attrs["rotation"].value is False
    assert k.attrs["deletion_window"].value == 9
    assert k.attrs["description"].value == "from json"


def test_variable_without_default_is_unknown(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        variable "x" {}
        resource "aws_kms_key" "k" {
          enable_key_rotation = var.x
          description = "pre-${var.x}-post"
        }
    """})
    k = key(u, "aws_kms_key.k")
    assert k.attrs["rotation"].value == Unknown("var.x")
    assert k.attrs["description"].value == "pre-" + unknown_piece("var.x") + "-post"


def test_locals_across_files_functions_and_cycles(tmp_path: Path) -> None:
    u = scan(tmp_path, {
        "locals.tf": """
            locals {
              base = { a = 1, b = "x" }
              merged = merge(local.base, { b = "y", c = [1, 2] })
              names = [for s in ["a", "b", ""] : upper(s) if s != ""]
              m = { for k, v in local.merged : k => v if k != "c" }
              loop1 = local.loop2
              loop2 = local.loop1
              fmt = format("%s-%d-%v", "a", 5, true)
            }
        """,
        "main.tf": """
            resource "aws_kms_key" "k" {
              description = join(",", concat(local.names, [tostring(local.merged.a)], [local.m["b"]], [lookup(local.base, "z", "dflt")]))
              tags = { x = local.loop1, f = local.fmt, n = length(local.merged.c), s = local.merged.c[*] }
            }
        """,
    })
    k = key(u, "aws_kms_key.k")
    assert k.attrs["description"].value == "A,B,1,y,dflt"
    tags = k.attrs["tags"].value
    assert isinstance(tags["x"], Unknown)
    assert tags["f"] == "a-5-true"
    assert tags["n"] == 2
    assert tags["s"] == [1, 2]


def test_try_can_and_data_sources(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        data "aws_caller_identity" "current" {
          count = 1
        }
        data "aws_partition" "p" {}
        data "aws_region" "r" {}
        locals {
          account = try(data.aws_caller_identity.current[0].account_id, "")
          missing = try({ a = 1 }.b, "fallback")
        }
        resource "aws_kms_key" "k" {
          description = "arn:${data.aws_partition.p.partition}:iam::${local.account}:root"
          tags = {
            region = data.aws_region.r.name
            m = local.missing
            c = can({ a = 1 }.b)
            other = aws_s3_bucket.b.arn
          }
        }
    """})
    k = key(u, "aws_kms_key.k")
    assert k.attrs["description"].value == f"arn:aws:iam::{THIS_ACCOUNT}:root"
    tags = k.attrs["tags"].value
    assert tags["region"] == f"{OPAQUE_OPEN}data.aws_region.r.name{OPAQUE_CLOSE}"
    assert tags["m"] == "fallback"
    assert tags["c"] is False
    assert tags["other"] == Unknown("aws_s3_bucket.b.arn")


def test_unknown_says_what_it_refers_to_and_whether_it_is_an_error(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        variable "v" {}
        resource "aws_kms_key" "a" {}
        module "m" {
          source = "./m"
        }
        resource "aws_kms_key" "k" {
          tags = {
            arn  = aws_kms_key.a.arn
            fn   = upper(aws_kms_key.a.key_id)
            sub  = module.m.key_arn
            bad  = {}.missing
            var  = var.v
            safe = try({}.missing, var.v)
          }
        }
    """, "m/main.tf": """
        resource "aws_kms_key" "inner" {}
        output "key_arn" { value = aws_kms_key.inner.arn }
    """})
    tags = key(u, "aws_kms_key.k").attrs["tags"].value
    assert tags["arn"] == Unknown("aws_kms_key.a.arn", ref="aws_kms_key.a", attr="arn")
    assert tags["fn"] == Unknown("upper(aws_kms_key.a.key_id)", ref="aws_kms_key.a")
    assert tags["sub"] == Unknown("aws_kms_key.inner.arn", ref="module.m.aws_kms_key.inner", attr="arn")
    assert tags["bad"] == Unknown("{}.missing", error=True)
    assert tags["var"] == Unknown("var.v") and tags["safe"] == Unknown("var.v")


def test_count_zero_skips_the_resource(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        variable "create" { default = false }
        resource "aws_kms_key" "off" {
          count = var.create ? 1 : 0
        }
        resource "aws_kms_key" "empty" {
          for_each = {}
        }
        resource "aws_kms_key" "on" {
          count = var.create ? 0 : 2
        }
        variable "unknown" {}
        resource "aws_kms_key" "maybe" {
          count = var.unknown ? 1 : 0
        }
    """})
    # a literal count = 0 or empty for_each is never deployed; `off` is off only by the
    # default of var.create: checked as the branch in which it exists (issue 17.3)
    assert sorted((k.address, k.exists_when) for k in u.keys) == [
        ("aws_kms_key.maybe", ()), ("aws_kms_key.off", ("var.create is true",)), ("aws_kms_key.on", ())]


def test_heredoc_dedent_policy_statement_lines(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        resource "aws_kms_key" "k" {
          policy = <<-EOT
            {
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Sid": "Root",
                  "Effect": "Allow",
                  "Principal": {"AWS": "arn:aws:iam::${data.aws_caller_identity.c.account_id}:root"},
                  "Action": "kms:*",
                  "Resource": "*"
                },
                {
                  "Sid": "Second",
                  "Effect": "Deny",
                  "Principal": "*",
                  "Action": ["kms:Decrypt"],
                  "Resource": "*"
                }
              ]
            }
          EOT
        }
    """})
    k = key(u, "aws_kms_key.k")
    assert k.policy.present and k.policy.loc.line == 2
    assert isinstance(k.policy.value, str) and k.policy.value.startswith('{\n  "Version"')
    [p] = k.policies
    assert p.source == "inline" and p.errors == []
    s1, s2 = p.statements
    assert (s1.sid, s1.loc.line, s1.loc.end_line) == ("Root", 6, 12)
    assert (s2.sid, s2.loc.line) == ("Second", 13)
    assert s1.principals[0].value == f"arn:aws:iam::{THIS_ACCOUNT}:root"
    assert s1.principals[0].ptype == "root"


def test_heredoc_with_unknown_outside_json_strings(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        variable "principals" {}
        resource "aws_kms_key" "k" {
          policy = <<EOF
        {
          "Version": "2012-10-17",
          "Statement": [
            {
              "Effect": "Allow",
              "Principal": {"AWS": ${jsonencode(var.principals)}},
              "Action": "kms:*",
              "Resource": "*"
            }
          ]
        }
        EOF
        }
    """})
    [p] = key(u, "aws_kms_key.k").policies
    assert p.errors == []
    [s] = p.statements
    assert s.loc.line == 7
    assert s.principals[0].ptype == "unknown"


def test_jsonencode_statement_lines_and_choice(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        variable "strict" {}
        resource "aws_kms_key" "k" {
          policy = jsonencode({
            Version = "2012-10-17"
            Statement = [
              {
                Sid       = "A"
                Effect    = "Allow"
                Principal = { AWS = "*" }
                Action    = "kms:*"
                Resource  = "*"
              },
              {
                Sid       = "B"
                Effect    = var.strict ? "Deny" : "Allow"
                Principal = "*"
                Action    = "kms:Decrypt"
                Resource  = "*"
              },
            ]
          })
        }
    """})
    k = key(u, "aws_kms_key.k")
    assert len(k.policies) == 2  # one per branch of var.strict
    for p in k.policies:
        a, b = p.statements
        assert (a.sid, a.loc.line, a.loc.end_line) == ("A", 6, 12)
        assert (b.sid, b.loc.line) == ("B", 13)
    assert sorted(p.statements[1].effect for p in k.policies) == ["Allow", "Deny"]


def test_jsonencode_in_interpolation_gives_json_text(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        resource "aws_kms_key" "k" {
          description = "doc: ${jsonencode({ b = 1, a = "<x>" })}"
        }
    """})
    assert key(u, "aws_kms_key.k").attrs["description"].value == 'doc: {"a":"\\u003cx\\u003e","b":1}'


POLICY_DOC = """
data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "base" {
  statement {
    sid       = "Base"
    actions   = ["kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::111122223333:root"]
    }
  }
  statement {
    sid       = "Replaced"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }
}

data "aws_iam_policy_document" "override" {
  statement {
    sid       = "Root"
    effect    = "Deny"
    actions   = ["kms:ScheduleKeyDeletion"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "key" {
  source_policy_documents   = [data.aws_iam_policy_document.base.json]
  override_policy_documents = [data.aws_iam_policy_document.override.json]

  statement {
    sid       = "Root"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  statement {
    sid     = "Replaced"
    actions = ["kms:Decrypt"]
    resources = ["*"]
    not_principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::444455556666:root"]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.us-east-1.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "k" {
  policy = data.aws_iam_policy_document.key.json
}
"""


def test_policy_document_conversion_and_merging(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": POLICY_DOC})
    k = key(u, "aws_kms_key.k")
    [p] = k.policies
    assert p.source == "policy_document" and p.errors == []
    assert p.version == "2012-10-17"
    assert [s.sid for s in p.statements] == ["Base", "Replaced", "Root"]
    base, replaced, root = p.statements
    assert base.loc.line == 4
    assert replaced.loc.line == 50  # the source statement was replaced in place
    assert replaced.principals is None
    assert [x.value for x in replaced.not_principals] == ["arn:aws:iam::444455556666:root"]
    assert replaced.conditions == {"stringequals": {"kms:viaservice": ["s3.us-east-1.amazonaws.com"]}}
    assert root.loc.line == 25 and root.effect == "Deny"  # from the override document
    assert [(x.kind, x.value) for x in root.principals] == [("Service", "ec2.amazonaws.com")]
    raw = k.policy.value
    assert raw["Statement"][0]["Principal"] == {"AWS": ["arn:aws:iam::111122223333:root"]}


def test_policy_document_wildcard_principal_dynamic_and_unknown(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        variable "admins" { default = ["arn:aws:iam::111122223333:role/a", "arn:aws:iam::111122223333:role/b"] }
        variable "extra" {}
        data "aws_iam_policy_document" "d" {
          statement {
            principals {
              type        = "*"
              identifiers = ["*"]
            }
            actions   = ["kms:Decrypt"]
            resources = ["*"]
          }
          dynamic "statement" {
            for_each = var.admins
            content {
              sid       = "Admin${statement.key}"
              actions   = ["kms:*"]
              resources = ["*"]
              principals {
                type        = "AWS"
                identifiers = [statement.value]
              }
            }
          }
          dynamic "statement" {
            for_each = var.extra
            iterator = e
            content {
              actions = e.value
            }
          }
        }
        resource "aws_kms_key" "k" {
          policy = data.aws_iam_policy_document.d.json
        }
    """})
    [p] = key(u, "aws_kms_key.k").policies
    assert p.complete is False  # the dynamic block over var.extra is unknown
    assert [s.sid for s in p.statements] == [None, "Admin0", "Admin1"]
    assert p.statements[0].effect == "Allow"
    assert p.statements[0].principals[0].ptype == "wildcard"
    assert p.statements[0].raw["Principal"] == "*"
    assert p.statements[2].principals[0].value == "arn:aws:iam::111122223333:role/b"
    assert p.statements[1].loc.line == 14  # the content block


def test_key_policy_resource_wins_over_inline(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        resource "aws_kms_key" "k" {
          policy = jsonencode({ Version = "2012-10-17", Statement = [] })
        }

        resource "aws_kms_key_policy" "p" {
          key_id = aws_kms_key.k.id
          bypass_policy_lockout_safety_check = true
          policy = jsonencode({
            Version = "2012-10-17"
            Statement = [{ Sid = "S", Effect = "Allow", Principal = { AWS = "*" }, Action = "kms:*", Resource = "*" }]
          })
        }
    """})
    k = key(u, "aws_kms_key.k")
    assert k.policy.loc.line == 8
    [p] = k.policies
    assert p.source == "aws_kms_key_policy"
    assert [s.sid for s in p.statements] == ["S"] and p.statements[0].loc.line == 10
    assert k.attrs["bypass_lockout"].value is True and k.attrs["bypass_lockout"].loc.line == 7


def test_file_inside_root_and_outside(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    outside = tmp_path / "secret.json"
    outside.write_text('{"Version": "2012-10-17", "Statement": []}')
    u = scan(root, {
        "main.tf": """
            resource "aws_kms_key" "inside" {
              policy = file("${path.module}/policies/key.json")
            }
            resource "aws_kms_key" "abs" {
              policy = file("/etc/passwd")
            }
            resource "aws_kms_key" "up" {
              policy = file("../secret.json")
            }
            resource "aws_kms_key" "tpl" {
              policy = templatefile("key.json.tpl", { account = "111122223333" })
            }
        """,
        "policies/key.json": '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Sid": "F", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}\n  ]\n}\n',
        "key.json.tpl": '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {"Sid": "T", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::${account}:root"}, "Action": "kms:*", "Resource": "*"}\n  ]\n}\n',
    })
    inside = key(u, "aws_kms_key.inside")
    [p] = inside.policies
    assert p.source == "file"
    assert p.statements[0].sid == "F"
    assert (p.statements[0].loc.file, p.statements[0].loc.line) == ("policies/key.json", 4)
    for name in ("abs", "up"):
        k = key(u, f"aws_kms_key.{name}")
        assert isinstance(k.policy.value, Unknown) and k.policies == []
    [t] = key(u, "aws_kms_key.tpl").policies
    assert t.source == "file"
    assert t.statements[0].principals[0].value == "arn:aws:iam::111122223333:root"
    assert (t.statements[0].loc.file, t.statements[0].loc.line) == ("key.json.tpl", 4)


LOCAL_MODULE = {
    "main.tf": """
        module "payments" {
          source   = "./modules/kms"
          rotate   = false
          key_name = "pay-${local.env}"
        }
        locals { env = "prod" }
        resource "aws_kms_alias" "a" {
          name          = "alias/payments"
          target_key_id = module.payments.key_id
        }
    """,
    "modules/kms/main.tf": """
        variable "rotate" { default = true }
        variable "key_name" {}
        variable "days" { default = 20 }
        resource "aws_kms_key" "this" {
          description             = var.key_name
          enable_key_rotation     = var.rotate
          deletion_window_in_days = var.days
        }
        module "inner" {
          source = "../inner"
        }
        output "key_id" { value = aws_kms_key.this.key_id }
    """,
    "modules/inner/main.tf": """
        resource "aws_kms_key" "deep" {}
    """,
}


def test_local_module_with_arguments_and_nesting(tmp_path: Path) -> None:
    u = scan(tmp_path, LOCAL_MODULE)
    assert sorted(k.address for k in u.keys) == ["module.payments.aws_kms_key.this", "module.payments.module.inner.aws_kms_key.deep"]
    k = key(u, "module.payments.aws_kms_key.this")
    assert k.attrs["description"].value == "pay-prod"
    assert k.attrs["rotation"].value is False
    assert k.attrs["deletion_window"].value == 20
    assert (k.loc.file, k.loc.line) == ("modules/kms/main.tf", 4)
    # the module blocks that instantiate it, from the root down; the root module's directory
    assert [(c.file, c.line, name) for c, name in k.calls] == [("main.tf", 1, "module.payments")]
    assert k.root == "."
    deep = key(u, "module.payments.module.inner.aws_kms_key.deep")
    assert [(c.file, name) for c, name in deep.calls] == [("main.tf", "module.payments"), ("modules/kms/main.tf", "module.payments.module.inner")]
    [a] = u.aliases
    assert a.target == "module.payments.aws_kms_key.this"
    assert k.aliases == [a]
    assert u.notes == []


def test_local_module_not_in_module_dirs_is_loaded(tmp_path: Path) -> None:
    u = scan(tmp_path, LOCAL_MODULE, dirs=["."])
    assert sorted(k.address for k in u.keys) == ["module.payments.aws_kms_key.this", "module.payments.module.inner.aws_kms_key.deep"]


def test_module_outside_scan_roots_is_not_read(tmp_path: Path) -> None:
    write(tmp_path, {"shared/main.tf": 'resource "aws_kms_key" "x" {}\n'})
    u = scan(tmp_path / "app", {"main.tf": 'module "m" {\n  source = "../shared"\n}\n'})
    assert u.keys == []
    [n] = u.notes
    assert n.rule_id == "IKMS002" and "outside the scan boundary . (the repository of the scanned path)" in n.message and n.loc.line == 1


def test_module_count_zero_and_cycle(tmp_path: Path) -> None:
    u = scan(tmp_path, {
        "main.tf": """
            module "off" {
              source = "./m"
              count  = 0
            }
            module "loop" {
              source = "./a"
            }
        """,
        "m/main.tf": 'resource "aws_kms_key" "x" {}\n',
        "a/main.tf": 'resource "aws_kms_key" "a" {}\nmodule "b" {\n  source = "../b"\n}\n',
        "b/main.tf": 'module "a" {\n  source = "../a"\n}\n',
    })
    assert [k.address for k in u.keys] == ["module.loop.aws_kms_key.a"]
    assert any(n.rule_id == "IKMS002" and "calls itself" in n.message for n in u.notes)


def test_remote_module_note(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        module "kms" {
          source  = "terraform-aws-modules/kms/aws"
          version = "~> 3.0"
        }
        module "git" {
          source = "git::https://example.com/kms.git?ref=v1"
        }
    """})
    # not findings: the report lists them in its summary
    assert u.notes == []
    assert [(r.source, r.name, r.loc.line) for r in u.remote_modules] == [
        ("terraform-aws-modules/kms/aws", "kms", 1), ("git::https://example.com/kms.git?ref=v1", "git", 5)]


def test_suppression_comments(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        # iackms:skip=IKMS998 separated from the block by a blank line: ignored

        # iackms:skip=IKMS999 directly above the header (as tfsec and Trivy users write it)
        resource "aws_kms_key" "k" {
          # iackms:skip=IKMS101 rotation handled by the HSM team
          // iackms:skip=IKMS102,IKMS103
          /* checkov:skip=CKV_AWS_7:rotated elsewhere */
          # checkov:skip=CKV_AWS_33
          enable_key_rotation = false
        }
    """})
    sup = key(u, "aws_kms_key.k").suppressions
    got = [(s.rule_id, s.reason, s.loc.line, s.origin, s.written_id) for s in sup]
    assert got == [
        ("IKMS999", "directly above the header (as tfsec and Trivy users write it)", 3, "iackms", "IKMS999"),
        ("IKMS101", "rotation handled by the HSM team", 5, "iackms", "IKMS101"),
        ("IKMS102", "", 6, "iackms", "IKMS102"),
        ("IKMS103", "", 6, "iackms", "IKMS103"),
        ("", "rotated elsewhere", 7, "checkov", "CKV_AWS_7"),
        ("", "", 8, "checkov", "CKV_AWS_33"),
    ]


def test_alias_grant_and_custom_key_store_linking(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        resource "aws_kms_custom_key_store" "hsm" {
          custom_key_store_name = "hsm"
          cloud_hsm_cluster_id  = "cluster-1"
          key_store_password    = "secret"
        }
        resource "aws_kms_custom_key_store" "xks" {
          custom_key_store_type = "EXTERNAL_KEY_STORE"
          xks_proxy_authentication_credential {
            access_key_id         = "AKIA"
            raw_secret_access_key = "s"
          }
        }
        resource "aws_kms_key" "k" {
          custom_key_store_id = aws_kms_custom_key_store.hsm.id
        }
        resource "aws_kms_key" "x" {
          custom_key_store_id = aws_kms_custom_key_store.xks.id
          xks_key_id          = "ext-1"
        }
        resource "aws_kms_key" "other" {
          custom_key_store_id = "cks-1234567890"
        }
        resource "aws_kms_alias" "a" {
          name          = "alias/k"
          target_key_id = aws_kms_key.k.key_id
        }
        resource "aws_kms_grant" "g" {
          name              = "g"
          key_id            = aws_kms_key.k.arn
          grantee_principal = "arn:aws:iam::111122223333:role/r"
          operations        = ["Encrypt", "Decrypt"]
          constraints {
            encryption_context_equals = { Department = "Finance" }
          }
        }
        resource "aws_kms_grant" "g2" {
          key_id            = "1234abcd"
          grantee_principal = "x"
          operations        = ["Decrypt"]
        }
    """})
    k = key(u, "aws_kms_key.k")
    hsm, xks = u.stores
    assert hsm.attrs["custom_key_store_type"].value == "AWS_CLOUDHSM" and not hsm.attrs["custom_key_store_type"].present
    assert hsm.attrs["key_store_password"].value == "secret"
    assert xks.attrs["xks_proxy_authentication_credential"].value == {"access_key_id": "AKIA", "raw_secret_access_key": "s"}
    assert k.custom_key_store is hsm and k.attrs["origin"].value == "AWS_CLOUDHSM"
    x = key(u, "aws_kms_key.x")
    assert x.custom_key_store is xks and x.attrs["origin"].value == "EXTERNAL_KEY_STORE"
    assert x.attrs["xks_key_id"].value == "ext-1"
    other = key(u, "aws_kms_key.other")
    assert other.custom_key_store is None and isinstance(other.attrs["origin"].value, Unknown)
    [a] = u.aliases
    assert a.target == "aws_kms_key.k" and k.aliases == [a] and a.attrs["name"].value == "alias/k"
    g, g2 = u.grants
    assert g.target == "aws_kms_key.k" and k.grants == [g]
    assert g.attrs["operations"].value == ["Encrypt", "Decrypt"]
    assert g.attrs["constraints"].value == [{"encryption_context_equals": {"Department": "Finance"}}]
    assert g.attrs["constraints"].loc.line == 32
    assert g2.target is None and "constraints" not in g2.attrs


def test_external_and_replica_keys(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        resource "aws_kms_key" "primary" {
          multi_region = true
        }
        resource "aws_kms_replica_key" "r" {
          primary_key_arn = aws_kms_key.primary.arn
          enabled         = true
        }
        resource "aws_kms_external_key" "e" {
          key_material_base64 = "AAAA"
          valid_to            = "2030-01-01T00:00:00Z"
          key_spec            = "SYMMETRIC_DEFAULT"
          enabled             = false
        }
        resource "aws_kms_replica_external_key" "re" {
          primary_key_arn = aws_kms_external_key.e.arn
        }
    """})
    r = key(u, "aws_kms_replica_key.r")
    assert r.kind == "replica" and r.is_replica
    assert r.attrs["primary_key"].value.expr == "aws_kms_key.primary.arn"
    assert r.attrs["enabled"].value is True
    e = key(u, "aws_kms_external_key.e")
    assert e.kind == "external" and e.attrs["origin"].value == "EXTERNAL"
    assert e.attrs["key_material"].value == "AAAA" and e.attrs["valid_to"].value == "2030-01-01T00:00:00Z"
    assert e.attrs["enabled"].value is False and e.attrs["key_spec"].value == "SYMMETRIC_DEFAULT"
    re_ = key(u, "aws_kms_replica_external_key.re")
    assert re_.kind == "replica_external" and re_.attrs["origin"].value == "EXTERNAL"


def test_local_principals(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        resource "aws_iam_role" "admin" {
          name = "key-admin"
          path = "/ops/"
        }
        resource "aws_iam_user" "u" {
          name_prefix = "x"
        }
        resource "aws_kms_key" "k" {
          policy = jsonencode({
            Version = "2012-10-17"
            Statement = [{ Effect = "Allow", Principal = { AWS = aws_iam_role.admin.arn }, Action = "kms:*", Resource = "*" }]
          })
        }
    """})
    k = key(u, "aws_kms_key.k")
    role_arn = f"arn:aws:iam::{THIS_ACCOUNT}:role/ops/key-admin"
    user_arn = f"arn:aws:iam::{THIS_ACCOUNT}:user/" + unknown_piece("aws_iam_user.u.name")
    assert k.local_principals == {"aws_iam_role.admin", role_arn, "aws_iam_user.u", user_arn}
    [p] = k.policies
    assert p.statements[0].principals[0].value == role_arn
    assert p.statements[0].principals[0].ptype == "role"


def test_syntax_error_note_keeps_other_blocks(tmp_path: Path) -> None:
    u = scan(tmp_path, {
        "main.tf": """
            resource "aws_kms_key" "good" {
              enable_key_rotation = true
            }

            resource "aws_kms_key" "bad" {
              description =
            }

            resource "aws_kms_key" "after" {
              enable_key_rotation = false
            }
        """,
        "other.tf": 'resource "aws_kms_key" "fine" {}\n',
    })
    notes = [n for n in u.notes if n.rule_id == "IKMS001"]
    assert len(notes) == 1
    assert notes[0].loc.file == "main.tf" and notes[0].loc.line == 6
    addrs = {k.address for k in u.keys}
    assert {"aws_kms_key.good", "aws_kms_key.after", "aws_kms_key.fine"} <= addrs
    assert key(u, "aws_kms_key.after").attrs["rotation"].value is False


def test_an_unclosed_string_is_reported_where_it_opens(tmp_path: Path) -> None:
    """The parser reads an unclosed string on to the next quote, lines later;
    the note names the line where the string opens. A string whose
    interpolation spans lines is valid HCL and does not move the note."""
    u = scan(tmp_path, {
        "main.tf": """
            resource "aws_kms_key" "a" {
              description = "${join(",",
              ["a"])}"
            }

            resource "aws_kms_key" "b" {
              enable_key_rotation = true
              description         = "b
            }

            resource "aws_kms_key" "c" {
              deletion_window_in_days = 7
            }
        """,
    })
    notes = [n for n in u.notes if n.rule_id == "IKMS001"]
    assert [(n.loc.file, n.loc.line) for n in notes] == [("main.tf", 8)]
    assert "a quoted string is not closed on its line" in notes[0].message


def test_invalid_utf8_and_invalid_json(tmp_path: Path) -> None:
    u = scan(tmp_path, {
        "bad.tf": b'resource "aws_kms_key" "k" {\n  description = "\xff\xfe"\n}\n',
        "broken.tf.json": '{\n  "resource": {\n    "aws_kms_key": {\n      "j": {,}\n',
        "ok.tf": 'resource "aws_kms_key" "ok" {}\n',
    })
    notes = sorted((n.loc.file, n.loc.line) for n in u.notes if n.rule_id == "IKMS001")
    assert notes == [("bad.tf", 1), ("broken.tf.json", 4)]
    assert [k.address for k in u.keys] == ["aws_kms_key.ok"]


def test_tf_json_files(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf.json": """
        {
          "variable": {"rot": {"default": false}},
          "locals": {"env": "prod"},
          "resource": {
            "aws_kms_key": {
              "k": {
                "description": "key-${local.env}",
                "enable_key_rotation": "${var.rot}",
                "policy": "${jsonencode({Version = \\"2012-10-17\\", Statement = []})}",
                "lifecycle": {"prevent_destroy": true}
              }
            },
            "aws_kms_alias": {
              "a": {"name": "alias/k", "target_key_id": "${aws_kms_key.k.key_id}"}
            }
          }
        }
    """})
    k = key(u, "aws_kms_key.k")
    assert (k.loc.file, k.loc.line) == ("main.tf.json", 6)
    assert k.attrs["description"].value == "key-prod" and k.attrs["description"].loc.line == 7
    assert k.attrs["rotation"].value is False
    assert k.attrs["deletion_protection"].value is True
    [p] = k.policies
    assert p.statements == [] and p.errors == []
    [a] = u.aliases
    assert a.target == "aws_kms_key.k"


def test_dir_scanned_and_called_is_evaluated_once(tmp_path: Path) -> None:
    u = scan(tmp_path, {
        "main.tf": 'module "m" {\n  source = "./mod"\n  rot = false\n}\n',
        "mod/main.tf": 'variable "rot" { default = true }\nresource "aws_kms_key" "k" {\n  enable_key_rotation = var.rot\n}\n',
    })
    assert [k.address for k in u.keys] == ["module.m.aws_kms_key.k"]
    assert u.keys[0].attrs["rotation"].value is False


def test_override_files(tmp_path: Path) -> None:
    u = scan(tmp_path, {
        "main.tf": 'resource "aws_kms_key" "k" {\n  enable_key_rotation = false\n  description = "d"\n}\n',
        "main_override.tf": 'resource "aws_kms_key" "k" {\n  enable_key_rotation = true\n}\n',
    })
    k = key(u, "aws_kms_key.k")
    assert k.attrs["rotation"].value is True and k.attrs["rotation"].loc.file == "main_override.tf"
    assert k.attrs["description"].value == "d"


def test_templates_directives_and_escapes(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": r'''
        variable "names" { default = ["a", "b"] }
        variable "flag" { default = true }
        variable "unk" {}
        resource "aws_kms_key" "k" {
          description = "x %{ if var.flag }yes%{ else }no%{ endif } $${lit} \"q\" \u00e9"
          tags = {
            loop = <<-EOT
              %{ for n in var.names ~}
              - ${n}
              %{ endfor ~}
            EOT
            unk  = "%{ if var.unk }a%{ endif }"
            ws   = "KMS key ${var.flag} here"
          }
        }
    '''})
    k = key(u, "aws_kms_key.k")
    assert k.attrs["description"].value == 'x yes ${lit} "q" \u00e9'
    tags = k.attrs["tags"].value
    assert tags["loop"] == "- a\n- b\n"
    assert isinstance(tags["unk"], Unknown)
    assert tags["ws"] == "KMS key true here"


def test_deeply_nested_expression_is_unknown_not_a_crash(tmp_path: Path) -> None:
    deep = "[" * 300 + "1" + "]" * 300
    u = scan(tmp_path, {"main.tf": f'resource "aws_kms_key" "k" {{\n  tags = {{ x = {deep} }}\n}}\n'})
    k = key(u, "aws_kms_key.k")
    assert "tags" in k.attrs
    assert any(n.rule_id == "IKMS001" and "nested too deeply" in n.message for n in u.notes)


def test_module_typed_variable_optional_attributes(tmp_path: Path) -> None:
    u = scan(tmp_path, {
        "main.tf": """
            module "m" {
              source = "./m"
              statements = [{ sid = "S", actions = ["kms:*"] }]
            }
        """,
        "m/main.tf": """
            variable "statements" {
              type = list(object({
                sid         = optional(string)
                actions     = optional(list(string))
                not_actions = optional(list(string))
                effect      = optional(string, "Allow")
              }))
              default = []
            }
            data "aws_iam_policy_document" "d" {
              dynamic "statement" {
                for_each = var.statements
                content {
                  sid         = statement.value.sid
                  effect      = statement.value.effect
                  actions     = statement.value.actions
                  not_actions = statement.value.not_actions
                  resources   = ["*"]
                  principals {
                    type        = "AWS"
                    identifiers = ["arn:aws:iam::111122223333:root"]
                  }
                }
              }
            }
            resource "aws_kms_key" "k" {
              policy = data.aws_iam_policy_document.d.json
            }
        """,
    })
    [p] = key(u, "module.m.aws_kms_key.k").policies
    [s] = p.statements
    assert s.sid == "S" and s.effect == "Allow" and s.actions == ["kms:*"] and s.not_actions is None
    assert s.unknowns == []


def test_never_raises_on_garbage(tmp_path: Path) -> None:
    u = scan(tmp_path, {
        "a.tf": "}}}}{{{{ resource \"aws_kms_key\" {\n = = \"\n",
        "b.tf.json": "[1, 2]",
        "c.tf": 'resource "aws_kms_key" "k" {\n  policy = jsonencode(local.nope)\n  description = upper(1, 2, 3)\n  tags = {for k in 5 : k => k}\n}\n',
    })
    assert isinstance(u, ScanUnit)
    assert key(u, "aws_kms_key.k").policies == []


@pytest.mark.parametrize("expr,expected", [
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("10 / 4", 2.5),
    ("7 % 3", 1),
    ("-5 + 1", -4),
    ("!true || false", False),
    ("1 < 2 && 3 >= 3", True),
    ("\"a\" == \"a\" && 1 != 2", True),
    ("max(1, 5, 3)", 5),
    ("min(4, 2)", 2),
    ("abs(-3)", 3),
    ("coalesce(null, \"\", \"x\")", "x"),
    ("compact([\"a\", \"\", null, \"b\"])", ["a", "b"]),
    ("distinct([1, 2, 1])", [1, 2]),
    ("flatten([[1], [2, [3]]])", [1, 2, 3]),
    ("element([\"a\", \"b\"], 3)", "b"),
    ("keys({ b = 1, a = 2 })", ["a", "b"]),
    ("values({ b = 1, a = 2 })", [2, 1]),
    ("contains([\"a\"], \"a\")", True),
    ("split(\",\", \"a,b\")", ["a", "b"]),
    ("replace(\"a-b-c\", \"-\", \"_\")", "a_b_c"),
    ("trimspace(\"  x \")", "x"),
    ("trimprefix(\"alias/x\", \"alias/\")", "x"),
    ("trimsuffix(\"x.json\", \".json\")", "x"),
    ("startswith(\"alias/x\", \"alias/\")", True),
    ("endswith(\"x\", \"y\")", False),
    ("substr(\"hello\", 1, 3)", "ell"),
    ("tonumber(\"42\")", 42),
    ("tobool(\"true\")", True),
    ("tolist(toset([\"b\", \"b\"]))", ["b"]),
    ("jsondecode(\"{\\\"a\\\": [1]}\")", {"a": [1]}),
    ("format(\"%q\", \"x\")", '"x"'),
    ("[for i, v in [\"a\", \"b\"] : \"${i}${v}\"]", ["0a", "1b"]),
    ("{ for v in [\"a\", \"a\", \"b\"] : v => v... }", {"a": ["a", "a"], "b": ["b"]}),
    ("[{ a = 1 }, { a = 2 }][*].a", [1, 2]),
    ("lookup({ a = 1 }, \"a\")", 1),
    ("length(\"abc\")", 3),
    ("can(tonumber(\"x\"))", False),
    ("fileexists(\"main.tf\")", True),
])
def test_expression_values(tmp_path: Path, expr: str, expected: object) -> None:
    u = scan(tmp_path, {"main.tf": f'resource "aws_kms_key" "k" {{\n  tags = {{ v = {expr} }}\n}}\n'})
    assert key(u, "aws_kms_key.k").attrs["tags"].value["v"] == expected


def test_policy_document_json_in_string_functions_and_local(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        data "aws_iam_policy_document" "d" {
          statement {
            actions   = ["kms:*"]
            resources = ["*"]
            principals {
              type        = "AWS"
              identifiers = ["arn:aws:iam::111122223333:root"]
            }
          }
        }
        locals {
          doc = data.aws_iam_policy_document.d.json
        }
        resource "aws_kms_key" "via_local" {
          policy = local.doc
        }
        resource "aws_kms_key" "via_replace" {
          policy = replace(data.aws_iam_policy_document.d.json, "111122223333", "444455556666")
        }
    """})
    [p] = key(u, "aws_kms_key.via_local").policies
    assert p.source == "policy_document" and p.statements[0].loc.line == 2
    [q] = key(u, "aws_kms_key.via_replace").policies
    assert q.source == "inline"
    assert q.statements[0].principals[0].value == "arn:aws:iam::444455556666:root"


def test_provider_default_tags_are_merged(tmp_path: Path) -> None:
    u = scan(tmp_path, {
        "main.tf": """
            provider "aws" {
              default_tags {
                tags = { Owner = "sec", Env = "prod" }
              }
            }
            provider "aws" {
              alias = "west"
            }
            resource "aws_kms_key" "plain" {}
            resource "aws_kms_key" "own" {
              tags = { Env = "dev" }
            }
            resource "aws_kms_key" "west" {
              provider = aws.west
            }
            module "m" {
              source = "./m"
            }
        """,
        "m/main.tf": 'resource "aws_kms_key" "inner" {}\n',
    })
    plain = key(u, "aws_kms_key.plain").attrs["tags"]
    assert plain.value == {"Owner": "sec", "Env": "prod"} and plain.loc.line == 3
    assert key(u, "aws_kms_key.own").attrs["tags"].value == {"Owner": "sec", "Env": "dev"}
    assert "tags" not in key(u, "aws_kms_key.west").attrs
    assert key(u, "module.m.aws_kms_key.inner").attrs["tags"].value == {"Owner": "sec", "Env": "prod"}


def test_static_for_each_and_count_give_every_instance(tmp_path: Path) -> None:
    unit = scan(tmp_path, {"main.tf": """
        locals {
          keys = {
            a = { rotate = false }
            b = { rotate = true }
          }
        }
        resource "aws_kms_key" "k" {
          for_each            = local.keys
          enable_key_rotation = each.value.rotate
          description         = "key ${each.key}"
        }
        resource "aws_kms_key" "one" {
          count               = 1
          enable_key_rotation = count.index == 0
        }
        resource "aws_kms_key" "dyn" {
          for_each            = var.unknown_map
          enable_key_rotation = each.value.rotate
        }
        variable "unknown_map" {}
    """})
    k = key(unit, "aws_kms_key.k")
    rot = k.attrs["rotation"]
    assert isinstance(rot.value, Choice) and set(rot.value.options) == {True, False} and rot.loc.line == 9
    assert set(k.attrs["description"].value.options) == {"key a", "key b"}  # a template over instances
    assert key(unit, "aws_kms_key.one").attrs["rotation"].value is True
    assert isinstance(key(unit, "aws_kms_key.dyn").attrs["rotation"].value, Unknown)


def test_remote_modules_are_listed_in_the_summary_not_noted(tmp_path: Path, monkeypatch) -> None:
    files = {
        "a/main.tf": 'module "vpc" {\n  source = "terraform-aws-modules/vpc/aws"\n}\nresource "aws_kms_key" "k" {}\n',
        "b/main.tf": 'module "network" {\n  source = "terraform-aws-modules/vpc/aws"\n}\nmodule "kms" {\n  source = "terraform-aws-modules/kms/aws"\n}\n',
    }
    unit = scan(tmp_path, files)
    assert not [n for n in unit.notes if "remote source" in n.message]
    from iackms.config import Config
    from iackms.engine import scan as scan_paths
    from iackms.reporters import jsonfmt, text

    monkeypatch.chdir(tmp_path)
    report = scan_paths(["."], Config())
    assert not [f for f in report.findings if f.rule_id == "IKMS002" and "remote" in f.message]
    assert [(r.source, [(c.file, c.line, c.module) for c in r.calls]) for r in report.remote_modules] == [
        ("terraform-aws-modules/kms/aws", [("b/main.tf", 4, "kms")]),
        ("terraform-aws-modules/vpc/aws", [("a/main.tf", 1, "vpc"), ("b/main.tf", 1, "network")]),
    ]
    assert text.render(report).rstrip().splitlines()[-1] == (
        "2 remote modules not scanned: terraform-aws-modules/kms/aws, terraform-aws-modules/vpc/aws (2 calls)")
    import json

    summary = json.loads(jsonfmt.render(report))["summary"]
    assert summary["remote_modules"][1] == {"source": "terraform-aws-modules/vpc/aws", "calls": [
        {"file": "a/main.tf", "line": 1, "module": "vpc"}, {"file": "b/main.tf", "line": 1, "module": "network"}]}


POLICY_ONLY = """
    data "aws_kms_key" "existing" {
      key_id = "alias/shared"
    }
    resource "aws_kms_key_policy" "existing" {
      key_id = data.aws_kms_key.existing.id
      bypass_policy_lockout_safety_check = false
      policy = jsonencode({
        Version = "2012-10-17"
        Statement = [{ Sid = "Everyone", Effect = "Allow", Principal = { AWS = "*" }, Action = "kms:Decrypt", Resource = "*" }]
      })
    }
    resource "aws_kms_key_policy" "arn" {
      # iackms:skip=IKMS202 reviewed
      key_id = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      policy = <<EOF
    {"Version": "2012-10-17", "Statement": [{"Sid": "Arn", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]}
    EOF
    }
    resource "aws_kms_key_policy" "unresolved" {
      key_id = var.key_id
      policy = jsonencode({ Version = "2012-10-17", Statement = [] })
    }
    variable "key_id" {}
    resource "aws_kms_key" "gone" {
      count = 0
    }
    resource "aws_kms_key_policy" "gone" {
      key_id = aws_kms_key.gone[0].id
      policy = jsonencode({ Version = "2012-10-17", Statement = [] })
    }
    resource "aws_kms_key" "k" {}
    resource "aws_kms_alias" "k" {
      name          = "alias/k"
      target_key_id = aws_kms_key.k.key_id
    }
    resource "aws_kms_key_policy" "via_alias" {
      key_id = aws_kms_alias.k.target_key_id
      policy = jsonencode({ Version = "2012-10-17", Statement = [{ Sid = "ViaAlias", Effect = "Allow", Principal = { AWS = "arn:aws:iam::111122223333:root" }, Action = "kms:*", Resource = "*" }] })
    }
"""


def test_key_policy_for_a_key_outside_the_scan_is_a_policy_only_key(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": POLICY_ONLY})
    assert sorted(k.address for k in u.keys) == [
        "aws_kms_key.k", "aws_kms_key_policy.arn", "aws_kms_key_policy.existing", "aws_kms_key_policy.unresolved",
    ]
    e = key(u, "aws_kms_key_policy.existing")
    assert (e.kind, e.resource_type, e.source) == ("policy_only", "aws_kms_key_policy", "terraform")
    assert (e.loc.file, e.loc.line, e.loc.end_line) == ("main.tf", 4, 11)
    assert sorted(e.attrs) == ["bypass_lockout"]
    assert e.attrs["bypass_lockout"].value is False and e.attrs["bypass_lockout"].loc.line == 6
    assert e.policy.present and e.policy.loc.line == 7
    [p] = e.policies
    assert p.source == "aws_kms_key_policy"
    [s] = p.statements
    assert (s.sid, s.loc.line) == ("Everyone", 9) and s.principals[0].wildcard
    a = key(u, "aws_kms_key_policy.arn")
    assert a.kind == "policy_only" and a.attrs == {}
    assert [(x.rule_id, x.loc.line) for x in a.suppressions] == [("IKMS202", 13)]
    [p] = a.policies
    assert p.source == "aws_kms_key_policy" and [(s.sid, s.loc.line) for s in p.statements] == [("Arn", 16)]
    un = key(u, "aws_kms_key_policy.unresolved")
    assert un.kind == "policy_only" and un.policies[0].statements == []
    # a policy attached through the alias's target_key_id is the key's own
    k = key(u, "aws_kms_key.k")
    assert k.kind == "key" and [s.sid for s in k.policies[0].statements] == ["ViaAlias"]
    assert k.policies[0].source == "aws_kms_key_policy"


def test_key_policy_for_each_over_keys_is_linked_to_them(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        resource "aws_kms_key" "each" {
          for_each            = toset(["a", "b"])
          description         = each.key
          enable_key_rotation = true
        }
        resource "aws_kms_key_policy" "each" {
          for_each = aws_kms_key.each
          key_id   = each.value.key_id
          policy = jsonencode({
            Version = "2012-10-17"
            Statement = [{ Sid = "Everyone", Effect = "Allow", Principal = "*", Action = "kms:Decrypt", Resource = "*" }]
          })
        }
        resource "aws_kms_alias" "each" {
          for_each      = aws_kms_key.each
          name          = "alias/${each.key}"
          target_key_id = each.value.id
        }
    """})
    assert [k.address for k in u.keys] == ["aws_kms_key.each"]
    k = key(u, "aws_kms_key.each")
    assert k.policy.loc.line == 9
    [p] = k.policies
    assert p.source == "aws_kms_key_policy"
    assert [(s.sid, s.loc.line) for s in p.statements] == [("Everyone", 11)]
    assert [a.address for a in k.aliases] == ["aws_kms_alias.each"]


def test_caller_identity_splat_is_this_account(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        variable "enabled" { default = true }
        data "aws_caller_identity" "current" {
          count = var.enabled ? 1 : 0
        }
        data "aws_caller_identity" "plain" {}
        data "aws_caller_identity" "dyn" {
          count = var.unknown ? 1 : 0
        }
        variable "unknown" {}
        resource "aws_iam_role" "app" {
          count = 1
          name  = "app"
        }
        resource "aws_kms_key" "k" {
          tags = {
            join   = "arn:aws:iam::${join("", data.aws_caller_identity.current[*].account_id)}:root"
            one    = one(data.aws_caller_identity.current[*].account_id)
            plain  = one(data.aws_caller_identity.plain[*].account_id)
            attr   = data.aws_caller_identity.current.*.account_id
            role   = one(aws_iam_role.app[*].arn)
            trim   = trimspace(" ${data.aws_caller_identity.plain.account_id}\n")
          }
          description = join("", data.aws_caller_identity.dyn[*].account_id)
        }
    """})
    k = key(u, "aws_kms_key.k")
    t = k.attrs["tags"].value
    assert t["join"] == f"arn:aws:iam::{THIS_ACCOUNT}:root"
    assert t["one"] == THIS_ACCOUNT and t["plain"] == THIS_ACCOUNT
    assert t["attr"] == [THIS_ACCOUNT]
    assert t["role"] == f"arn:aws:iam::{THIS_ACCOUNT}:role/app"
    assert t["trim"] == THIS_ACCOUNT
    d = k.attrs["description"].value
    assert isinstance(d, Unknown) and d.expr == 'join("", data.aws_caller_identity.dyn[*].account_id)'


def test_filebase64_reads_only_inside_the_roots(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (tmp_path / "outside.bin").write_bytes(b"\x00\x01secret")
    write(root, {"key.bin": b"\xff\x00\x10material"})
    u = scan(root, {"main.tf": """
        resource "aws_kms_external_key" "in" {
          key_material_base64 = filebase64("${path.module}/key.bin")
        }
        resource "aws_kms_external_key" "out" {
          key_material_base64 = filebase64("../outside.bin")
        }
        resource "aws_kms_external_key" "missing" {
          key_material_base64 = filebase64("nope.bin")
        }
    """})
    km = key(u, "aws_kms_external_key.in").attrs["key_material"]
    assert km.value == "/wAQbWF0ZXJpYWw=" and km.loc.line == 2
    out = key(u, "aws_kms_external_key.out").attrs["key_material"].value
    assert isinstance(out, Unknown) and "outside the scan root" in out.reason
    missing = key(u, "aws_kms_external_key.missing").attrs["key_material"].value
    assert isinstance(missing, Unknown) and missing.reason == "nope.bin does not exist"


def test_heredoc_directives_keep_source_lines(tmp_path: Path) -> None:
    u = scan(tmp_path, {"main.tf": """
        variable "allow_public" { default = false }
        variable "environment" { default = "dev" }
        resource "aws_kms_key" "k" {
          policy = <<EOF
        {
          "Version": "2012-10-17",
          "Statement": [
            {
              "Sid": "Root",
              "Effect": "Allow",
              "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
              "Action": "kms:*",
              "Resource": "*"
            }%{ if var.allow_public },
            {
              "Sid": "Public",
              "Effect": "Allow",
              "Principal": "*",
              "Action": "kms:Decrypt",
              "Resource": "*"
            }%{ endif }%{ if var.environment != "prod" },
            {
              "Sid": "Dev",
              "Effect": "Allow",
              "Principal": {"AWS": "*"},
              "Action": "kms:Encrypt",
              "Resource": "*"
            }%{ endif }
          ]
        }
        EOF
        }
        resource "aws_kms_key" "loop" {
          policy = <<-EOT
            {"Version": "2012-10-17", "Statement": [
            %{~ for i, a in ["111122223333", "444455556666"] ~}
            %{ if i > 0 },%{ endif }
              {"Sid": "A${i}", "Effect": "Allow",
               "Principal": {"AWS": "arn:aws:iam::${a}:root"}, "Action": "kms:*", "Resource": "*"}
            %{~ endfor ~}
            ]}
          EOT
        }
    """})
    # var.allow_public is false by default: the policy as deployed with the
    # default, and the branch in which it is turned (the Public statement)
    on, off = key(u, "aws_kms_key.k").policies
    assert [list(w.values()) for w in on.when] == [[("true",)]] and [list(w.values()) for w in off.when] == [[("false",)]]
    for p in (on, off):
        assert p.errors == []
        assert p.loc.line == 5
    assert [(s.sid, s.loc.line, s.loc.end_line) for s in off.statements] == [("Root", 8, 14), ("Dev", 22, 28)]
    assert [(s.sid, s.loc.line, s.loc.end_line) for s in on.statements] == [("Root", 8, 14), ("Public", 15, 21), ("Dev", 22, 28)]
    [p] = key(u, "aws_kms_key.loop").policies
    assert p.errors == []
    assert [(s.sid, s.loc.line, s.loc.end_line) for s in p.statements] == [("A0", 38, 39), ("A1", 38, 39)]


def test_templatefile_and_jsondecode_statement_lines(tmp_path: Path) -> None:
    u = scan(tmp_path, {
        "main.tf": """
            resource "aws_kms_key" "enc" {
              policy = templatefile("enc.tpl", { acct = "111122223333" })
            }
            resource "aws_kms_key" "dir" {
              policy = templatefile("dir.tpl", { public = false })
            }
            resource "aws_kms_key" "dec" {
              policy = jsonencode(jsondecode(<<EOF
            {"Version": "2012-10-17", "Statement": [
            %{ if false }
            {"Sid": "No", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"},
            %{ endif }
            {"Sid": "Yes", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}
            ]}
            EOF
              ))
            }
        """,
        "enc.tpl": '${jsonencode({\n  Version = "2012-10-17"\n  Statement = [\n    { Sid = "E", Effect = "Allow", Principal = { AWS = "arn:aws:iam::${acct}:root" }, Action = "kms:*", Resource = "*" },\n  ]\n})}',
        "dir.tpl": '{"Version": "2012-10-17", "Statement": [\n%{ if public }\n{"Sid": "P", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"},\n%{ endif }\n{"Sid": "Q", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}\n]}\n',
    })
    [p] = key(u, "aws_kms_key.enc").policies
    assert [(s.sid, s.loc.file, s.loc.line) for s in p.statements] == [("E", "enc.tpl", 4)]
    [p] = key(u, "aws_kms_key.dir").policies
    assert [(s.sid, s.loc.file, s.loc.line) for s in p.statements] == [("Q", "dir.tpl", 5)]
    [p] = key(u, "aws_kms_key.dec").policies
    assert [(s.sid, s.loc.file, s.loc.line) for s in p.statements] == [("Yes", "main.tf", 13)]


def test_tf_json_interpolated_policy_is_located_at_its_attribute(tmp_path: Path) -> None:
    u = scan(tmp_path, {"kms.tf.json": (
        '{\n'
        '  "resource": {\n'
        '    "aws_kms_key": {\n'
        '      "shared": {\n'
        '        "description": "shared key",\n'
        '        "tags": {"Name": "${jsonencode({a = 1})}"},\n'
        '        "policy": "${jsonencode({Version = \\"2012-10-17\\", Statement = [{Sid = \\"Any\\", Effect = \\"Allow\\", Principal = {AWS = \\"*\\"}, Action = \\"kms:*\\", Resource = \\"*\\"}]})}"\n'
        '      }\n'
        '    }\n'
        '  }\n'
        '}\n'
    )})
    k = key(u, "aws_kms_key.shared")
    assert k.policy.loc.line == 7
    [p] = k.policies
    assert p.loc.file == "kms.tf.json" and p.loc.line == 7
    assert [(s.sid, s.loc.file, s.loc.line, s.loc.end_line) for s in p.statements] == [("Any", "kms.tf.json", 7, 7)]
    tags = k.attrs["tags"].value
    assert tags["Name"].loc == p.loc.__class__("kms.tf.json", 6, 6, tags["Name"].loc.column)


def test_module_for_each_and_count_bind_each_and_count_index(tmp_path: Path) -> None:
    u = scan(tmp_path, {
        "main.tf": """
            locals {
              tenants = {
                alpha = { rotate = true }
                beta  = { rotate = false }
              }
            }
            module "tenant_key" {
              source   = "./modules/key"
              for_each = local.tenants
              name     = "tenant-${each.key}"
              rotate   = each.value.rotate
            }
            module "counted" {
              source = "./modules/key"
              count  = 2
              name   = "counted"
              rotate = count.index == 0
            }
            module "single" {
              source   = "./modules/key"
              for_each = { only = { rotate = false } }
              name     = each.key
              rotate   = each.value.rotate
            }
        """,
        "modules/key/main.tf": """
            variable "name" {}
            variable "rotate" { default = true }
            resource "aws_kms_key" "this" {
              description         = var.name
              enable_key_rotation = var.rotate
            }
        """,
    })
    rot = key(u, "module.tenant_key.aws_kms_key.this").attrs["rotation"]
    assert isinstance(rot.value, Choice) and set(rot.value.options) == {True, False}
    assert (rot.loc.file, rot.loc.line) == ("modules/key/main.tf", 5)
    assert set(key(u, "module.counted.aws_kms_key.this").attrs["rotation"].value.options) == {True, False}
    single = key(u, "module.single.aws_kms_key.this")
    assert single.attrs["rotation"].value is False and single.attrs["description"].value == "only"


def test_duplicate_key_blocks_are_both_kept(tmp_path: Path) -> None:
    unit = scan(tmp_path, {"main.tf": 'resource "aws_kms_key" "a" {\n  description = "one"\n}\nresource "aws_kms_key" "a" {\n  description = "two"\n}\n'})
    assert sorted((k.address, k.loc.line) for k in unit.keys) == [("aws_kms_key.a", 1), ("aws_kms_key.a", 4)]
    assert [(n.rule_id, n.loc.line) for n in unit.notes] == [("IKMS001", 4)]


def test_template_over_instances_is_a_choice_of_strings(tmp_path: Path) -> None:
    unit = scan(tmp_path, {"main.tf": """
        resource "aws_kms_key" "k" {}
        resource "aws_kms_alias" "x" {
          for_each      = { a = "payments", b = "ledger" }
          name          = "alias/${each.value}"
          target_key_id = aws_kms_key.k.key_id
        }
        data "aws_caller_identity" "me" {}
    """})
    name = unit.aliases[0].attrs["name"].value
    assert isinstance(name, Choice) and set(name.options) == {"alias/payments", "alias/ledger"}
