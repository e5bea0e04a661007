"""Terraform plan JSON: values from resource_changes, unknowns from
after_unknown, locations at the resource's entry in the plan file."""

from __future__ import annotations

import json
from pathlib import Path

from iackms.config import Config
from iackms.engine import scan

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "plan"


def run(path: Path, cwd: Path, **kw):
    return scan([str(path)], Config(**kw), cwd=cwd)


def lines_of(findings, rule):
    return sorted((f.resource, f.line) for f in findings if f.rule_id == rule)


def test_plan_keys_rules_and_lines():
    r = run(FIX / "plan.json", FIX.parent.parent)
    f = r.findings
    assert r.keys_checked == 2  # the deleted key is not checked
    assert lines_of(f, "IKMS101") == [("aws_kms_key.logs", 7)]
    assert lines_of(f, "IKMS107") == [("aws_kms_key.logs", 7)]
    # no policy configured: the provider computes AWS's default one
    assert lines_of(f, "IKMS201") == [("aws_kms_key.logs", 7)]
    assert lines_of(f, "IKMS104") == [("module.app.aws_kms_key.this[0]", 30)]
    pub = [x for x in f if x.rule_id == "IKMS202"]
    assert len(pub) == 1 and pub[0].file == "fixtures/plan/plan.json" and "'Public'" in pub[0].message


def test_not_a_plan_and_unsupported_version(tmp_path):
    (tmp_path / "data.json").write_text(json.dumps({"format_version": "1.0", "something": []}))
    (tmp_path / "future.json").write_text('{\n  "format_version": "2.0",\n  "resource_changes": []\n}\n')
    r = run(tmp_path, tmp_path)
    assert [(x.rule_id, x.file, x.line) for x in r.findings] == [("IKMS001", "future.json", 2)]


def test_policy_unknown_at_plan_time_is_unresolved(tmp_path):
    plan = {"format_version": "1.2", "resource_changes": [{
        "address": "aws_kms_key.k", "mode": "managed", "type": "aws_kms_key", "name": "k",
        "change": {"actions": ["create"], "after": {"enable_key_rotation": True}, "after_unknown": {"policy": True}}}],
        "configuration": {"root_module": {"resources": [{"address": "aws_kms_key.k", "type": "aws_kms_key", "name": "k",
                                                          "expressions": {"policy": {"references": ["aws_s3_bucket.b.arn"]}}}]}}}
    (tmp_path / "plan.json").write_text(json.dumps(plan, indent=2))
    r = run(tmp_path, tmp_path)
    assert [(x.rule_id, x.about) for x in r.findings] == [("IKMS002", "IKMS201")]


def _parse_plan(tmp_path, plan):
    from iackms.context import ScanContext
    from iackms.parsers import plan as plan_parser

    p = tmp_path / "plan.json"
    data = json.dumps(plan, indent=2).encode()
    p.write_bytes(data)
    return plan_parser.parse_file(p, data, ScanContext([tmp_path], cwd=tmp_path))


def _key_change(address, after, after_unknown=None, **extra):
    rc = {"mode": "managed", "type": "aws_kms_key", "name": "k",
          "change": {"actions": ["create"], "after": after, "after_unknown": after_unknown or {}}, **extra}
    if address is not None:
        rc["address"] = address
    return rc


def test_plan_values_have_no_source_expression(tmp_path):
    from iackms.model import Unknown

    plan = {"format_version": "1.2", "resource_changes": [
        _key_change("aws_kms_key.k", {"enable_key_rotation": False, "deletion_window_in_days": 7}, {"policy": True})]}
    u = _parse_plan(tmp_path, plan)
    (k,) = u.keys
    rot = k.attrs["rotation"]
    assert (rot.value, rot.expr, rot.present) == (False, "", True)
    assert k.policy.value == Unknown("policy", "known after apply") and k.policy.expr == ""
    dp = k.attrs["deletion_protection"]
    assert dp.value == Unknown("lifecycle.prevent_destroy", "not recorded in plan JSON") and dp.expr == ""
    r = run(tmp_path / "plan.json", tmp_path)
    msgs = {(f.rule_id, f.about): f.message for f in r.findings}
    assert msgs[("IKMS101", "")] == "aws_kms_key.k has automatic rotation disabled: enable_key_rotation = false"
    assert msgs[("IKMS107", "")].endswith("(deletion_window_in_days = 7)")
    assert "(${policy}: known after apply)" in msgs[("IKMS002", "IKMS201")]
    r = run(tmp_path / "plan.json", tmp_path, profile="strict")
    (dp_msg,) = [f.message for f in r.findings if f.about == "IKMS113"]
    assert dp_msg.endswith("${lifecycle.prevent_destroy}: not recorded in plan JSON")


def test_plan_entry_without_address_is_named_by_type_and_name(tmp_path):
    plan = {"format_version": "1.2", "resource_changes": [
        _key_change(None, {"enable_key_rotation": False}),
        _key_change(None, {"enable_key_rotation": False}, module_address="module.m", index="a\"b"),
        _key_change(None, {"enable_key_rotation": False}, index=2),
    ]}
    u = _parse_plan(tmp_path, plan)
    assert [k.address for k in u.keys] == ["aws_kms_key.k", 'module.m.aws_kms_key.k["a\\"b"]', "aws_kms_key.k[2]"]
    assert all(k.loc.line > 1 for k in u.keys)


def test_plan_with_odd_configuration_or_entry_keeps_the_rest(tmp_path):
    good = _key_change("aws_kms_key.k", {"enable_key_rotation": False})
    for config in (
        {"root_module": {"module_calls": ["not", "a", "map"], "resources": [{"address": "aws_kms_key.k", "expressions": ["x"]}]}},
        {"root_module": {"resources": {"aws_kms_key.k": {}}, "module_calls": {"m": "x", "n": {"module": []}}}},
        {"root_module": {"resources": [{"address": 5}, {"address": "aws_kms_key.k", "expressions": {"policy": {"references": [1, None]}}}]}},
        ["not", "a", "map"],
    ):
        plan = {"format_version": "1.2", "resource_changes": [good], "configuration": config}
        u = _parse_plan(tmp_path, plan)
        assert [k.address for k in u.keys] == ["aws_kms_key.k"] and u.notes == [], config
        assert u.keys[0].attrs["rotation"].value is False
    # an entry of unexpected shape is reported where it is (not read as a key
    # with every setting missing); the others are still checked
    plan = {"format_version": "1.2", "resource_changes": [
        {"address": "aws_kms_key.odd", "type": "aws_kms_key", "change": "x"},
        {"address": "aws_kms_alias.a", "type": "aws_kms_alias", "change": {"after": [1]}},
        good,
        {"address": "aws_s3_bucket.b", "type": "aws_s3_bucket", "change": 5},
    ]}
    u = _parse_plan(tmp_path, plan)
    assert [k.address for k in u.keys] == ["aws_kms_key.k"] and u.aliases == []
    assert [(n.rule_id, n.resource, n.loc.line, n.message) for n in u.notes] == [
        ("IKMS001", "aws_kms_key.odd", 5, "the plan entry for aws_kms_key.odd has an unexpected shape (its change is not an object); it is not checked"),
        # a bucket is a KMS consumer (issue 14): its odd entry is reported too
        ("IKMS001", "aws_s3_bucket.b", 34, "the plan entry for aws_s3_bucket.b has an unexpected shape (its change is not an object); it is not checked"),
        ("IKMS001", "aws_kms_alias.a", 10, "the plan entry for aws_kms_alias.a has an unexpected shape (its change.after is not an object); it is not checked"),
    ]
