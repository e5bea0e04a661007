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
