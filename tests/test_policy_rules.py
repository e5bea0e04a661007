"""Key-policy semantics and rules on hand-built models: each case names the
rule, the statement line and what must (not) fire."""

from __future__ import annotations

import json

import pytest

from iackms import semantics as sem
from iackms.config import Config
from iackms.engine import enabled_rules, evaluate
from iackms.model import THIS_ACCOUNT, Attr, Key, Location, ScanUnit, Unknown
from iackms.policy import build_policies, parse_policy_text

ROOT = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{THIS_ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}


def key_with(statements, *, cfg=None, **attrs) -> tuple[Key, list]:
    doc = {"Version": "2012-10-17", "Statement": statements}
    text = json.dumps(doc, indent=1)
    loc = Location("k.json", 1, text.count("\n") + 1)
    k = Key("aws_kms_key.k", "aws_kms_key", Location("main.tf", 10, 20), "terraform")
    k.policy = Attr(text, loc, True, "policy")
    k.policies = build_policies(text, loc)
    for name, v in attrs.items():
        k.attrs[name] = Attr(v, Location("main.tf", 12, 12), True, name)
    cfg = cfg or Config(profile="strict")
    return k, evaluate(ScanUnit(keys=[k]), cfg, enabled_rules(cfg))


def ids(findings, rule=None):
    return sorted({f.rule_id for f in findings if rule is None or f.rule_id == rule})


def fired(findings, rule):
    return [f for f in findings if f.rule_id == rule]


def stmt_line(text_key: Key, index: int) -> int:
    return text_key.policies[0].statements[index].loc.line


def test_action_list_matches_policy_sentry():
    ps = pytest.importorskip("policy_sentry.querying.actions")
    live = sorted(a.split(":", 1)[1] for a in ps.get_actions_for_service("kms"))
    assert list(sem.kms_actions()) == live


def test_action_wildcards_and_case():
    st = parse_policy_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": ["KMS:create*", "kms:Describe?ey"], "Resource": "*"}]}), Location("p", 1, 1)).statements[0]
    assert sem.statement_actions(st).actions == {"CreateAlias", "CreateCustomKeyStore", "CreateGrant", "CreateKey", "DescribeKey"}
    st2 = parse_policy_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "NotAction": "kms:Decrypt", "Resource": "*"}]}), Location("p", 1, 1)).statements[0]
    g = sem.statement_actions(st2)
    assert "Decrypt" not in g.actions and "Encrypt" in g.actions and not g.full


def test_root_statement_is_clean():
    k, f = key_with([ROOT], cfg=Config())
    assert ids(f) == ["IKMS101"]  # rotation is unset; the root statement itself is no finding


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["*"]}, {"AWS": "arn:aws:iam::*:root"}])
def test_public_principal_any_spelling(principal):
    k, f = key_with([ROOT, {"Sid": "Pub", "Effect": "Allow", "Principal": principal, "Action": "kms:Decrypt", "Resource": "*"}])
    hits = fired(f, "IKMS202")
    assert len(hits) == 1 and hits[0].line == stmt_line(k, 1) and "'Pub'" in hits[0].message


def test_public_principal_constrained_by_caller_account_passes():
    k, f = key_with([ROOT, {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
                            "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333", "kms:ViaService": "s3.us-east-1.amazonaws.com"}}}])
    assert not fired(f, "IKMS202")


@pytest.mark.parametrize("cond", [
    {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}},
    {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abc123"}},
    {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/x"}},
    {"StringEquals": {"kms:CallerAccount": "*"}},
])
def test_non_constraining_conditions_still_public(cond):
    k, f = key_with([ROOT, {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": cond}])
    assert len(fired(f, "IKMS202")) == 1


def test_constraining_with_unknown_value_is_unresolved():
    k, f = key_with([ROOT, {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
                            "Condition": {"StringLike": {"aws:PrincipalOrgID": "\ue000var.org_id\ue001"}}}])
    assert not fired(f, "IKMS202")
    assert any(x.rule_id == "IKMS002" and x.about == "IKMS202" for x in f)


@pytest.mark.parametrize("value", ["\ue000var.org_id\ue001", "o-\ue000var.org_suffix\ue001"])
def test_exact_condition_pins_whatever_the_unknown_value(value):
    """StringEquals compares whole strings: an unresolved organization ID still
    names one organization, so the verdict does not depend on it (no note)."""
    k, f = key_with([ROOT, {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
                            "Condition": {"StringEquals": {"aws:PrincipalOrgID": value}}}])
    assert not fired(f, "IKMS202") and not [x for x in f if x.rule_id == "IKMS002" and "IKMS202" in x.about]


def test_deny_outside_org_makes_wildcard_private():
    k, f = key_with([ROOT,
                     {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
                     {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
                      "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}}}])
    assert not fired(f, "IKMS202")


def test_deny_with_wildcard_is_fine():
    k, f = key_with([ROOT, {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}])
    assert not fired(f, "IKMS202")


def test_full_access_to_role_but_not_root():
    k, f = key_with([ROOT, {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{THIS_ACCOUNT}:role/admin"}, "Action": "KMS:*", "Resource": "*"}])
    hits = fired(f, "IKMS203")
    assert len(hits) == 1 and hits[0].line == stmt_line(k, 1)
    k, f = key_with([{**ROOT, "Principal": {"AWS": "111122223333"}}])
    assert not fired(f, "IKMS203")


def test_default_key_user_statements_pass_separation_of_duties():
    role = {"AWS": f"arn:aws:iam::{THIS_ACCOUNT}:role/app"}
    k, f = key_with([ROOT,
                     {"Sid": "Use", "Effect": "Allow", "Principal": role, "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*"},
                     {"Sid": "Attach", "Effect": "Allow", "Principal": role, "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
                      "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}])
    assert not fired(f, "IKMS204")
    assert not fired(f, "IKMS207")


def test_admin_and_usage_across_statements():
    role = {"AWS": f"arn:aws:iam::{THIS_ACCOUNT}:role/ops"}
    k, f = key_with([ROOT,
                     {"Sid": "Admin", "Effect": "Allow", "Principal": role, "Action": ["kms:PutKeyPolicy", "kms:Describe*"], "Resource": "*"},
                     {"Sid": "Use", "Effect": "Allow", "Principal": role, "Action": "kms:Decrypt", "Resource": "*"}])
    hits = fired(f, "IKMS204")
    assert len(hits) == 1 and hits[0].line == stmt_line(k, 2) and "'Admin'" in hits[0].message and "'Use'" in hits[0].message


def test_not_principal_and_not_action():
    k, f = key_with([ROOT, {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"}, "NotAction": "kms:Decrypt", "Resource": "*"}])
    assert len(fired(f, "IKMS205")) == 2


def test_cross_account():
    k, f = key_with([{**ROOT, "Principal": {"AWS": "arn:aws:iam::111122223333:root"}},
                     {"Sid": "Other", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:role/r"}, "Action": "kms:Decrypt", "Resource": "*"},
                     {"Sid": "Svc", "Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*"}])
    hits = fired(f, "IKMS206")
    assert len(hits) == 1 and "444455556666" in hits[0].message and hits[0].line == stmt_line(k, 1)


def test_cross_account_symbolic_home_is_unresolved_and_trusted_passes():
    stmts = [ROOT, {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "kms:Decrypt", "Resource": "*"}]
    k, f = key_with(stmts)
    assert not fired(f, "IKMS206") and any(x.about == "IKMS206" for x in f)
    k, f = key_with(stmts, cfg=Config(profile="strict", trusted_accounts=("444455556666",)))
    assert not fired(f, "IKMS206") and not any(x.about == "IKMS206" for x in f)


def test_usage_without_context_and_mfa():
    role = {"AWS": f"arn:aws:iam::{THIS_ACCOUNT}:role/app"}
    k, f = key_with([ROOT,
                     {"Sid": "Use", "Effect": "Allow", "Principal": role, "Action": "kms:Decrypt", "Resource": "*"},
                     {"Sid": "UseVia", "Effect": "Allow", "Principal": role, "Action": "kms:Encrypt", "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}},
                     {"Sid": "Adm", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{THIS_ACCOUNT}:role/adm"}, "Action": ["kms:ScheduleKeyDeletion"], "Resource": "*"},
                     {"Sid": "AdmMfa", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{THIS_ACCOUNT}:role/adm"}, "Action": ["kms:PutKeyPolicy"], "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
                     {"Sid": "AdmIfExists", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{THIS_ACCOUNT}:role/adm"}, "Action": ["kms:DisableKey"], "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}}])
    assert [h.line for h in fired(f, "IKMS208")] == [stmt_line(k, 1)]
    assert sorted(h.line for h in fired(f, "IKMS209")) == [stmt_line(k, 3), stmt_line(k, 5)]


def test_invalid_policy_shapes():
    k, f = key_with([{"Effect": "Allow", "Principal": 5, "Action": [["kms:Decrypt"]]}])
    msgs = " | ".join(h.message for h in fired(f, "IKMS210"))
    assert "Principal has the wrong type" in msgs and "no Resource" in msgs and "Action must be" in msgs


def test_not_json_policy_is_ikms210_with_line():
    k = Key("aws_kms_key.k", "aws_kms_key", Location("main.tf", 1, 9), "terraform")
    loc = Location("main.tf", 3, 8)
    k.policy = Attr("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n}", loc, True, "policy")
    k.policies = build_policies(k.policy.value, loc)
    f = evaluate(ScanUnit(keys=[k]), Config(), enabled_rules(Config()))
    hits = fired(f, "IKMS210")
    assert len(hits) == 1 and "not valid JSON" in hits[0].message and hits[0].line >= 3


def test_lockout_risk():
    k, f = key_with([{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{THIS_ACCOUNT}:role/app"}, "Action": "kms:Decrypt", "Resource": "*"}])
    assert len(fired(f, "IKMS212")) == 1
    k, f = key_with([ROOT])
    assert not fired(f, "IKMS212")


def test_unknown_policy_is_one_unresolved_note():
    k = Key("aws_kms_key.k", "aws_kms_key", Location("main.tf", 1, 9), "terraform")
    k.policy = Attr(Unknown("data.external.p.result"), Location("main.tf", 4, 4), True, "policy")
    f = evaluate(ScanUnit(keys=[k]), Config(), enabled_rules(Config()))
    notes = [x for x in f if x.rule_id == "IKMS002"]
    assert len(notes) == 1 and notes[0].line == 4 and "data.external.p.result" in notes[0].message
    assert not fired(f, "IKMS201")


def test_unresolved_account_of_the_root_statement_is_home():
    acct = "\ue000var.management_account_id\ue001"
    k, f = key_with([{**ROOT, "Principal": {"AWS": f"arn:aws:iam::{acct}:root"}},
                     {"Sid": "Same", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:role/reader"}, "Action": "kms:Decrypt", "Resource": "*"},
                     {"Sid": "Other", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::\ue000var.other\ue001:root"}, "Action": "kms:Decrypt", "Resource": "*"}])
    assert not fired(f, "IKMS206")
    notes = [x for x in f if x.about == "IKMS206"]
    assert len(notes) == 1 and notes[0].line == stmt_line(k, 2)


def test_unresolved_principal_is_never_a_separation_of_duties_failure():
    who = {"AWS": "\ue000var.owner\ue001"}
    k, f = key_with([ROOT, {"Sid": "Owner", "Effect": "Allow", "Principal": who, "Action": ["kms:PutKeyPolicy", "kms:Decrypt", "kms:CreateGrant"], "Resource": "*"}])
    assert not fired(f, "IKMS204") and not fired(f, "IKMS207") and not fired(f, "IKMS203")
    about = {x.about for x in f if x.rule_id == "IKMS002"}
    # whoever may call PutKeyPolicy gains nothing from CreateGrant: IKMS207 needs no answer, root or not
    assert "IKMS204" in about and "IKMS207" not in about


def test_every_branch_of_a_statement_is_checked():
    from iackms.model import Choice

    k = Key("aws_kms_key.k", "aws_kms_key", Location("main.tf", 1, 30), "terraform")
    root = {**ROOT}
    maybe = {"Sid": "Maybe", "Effect": "Allow", "Principal": {"AWS": Choice((f"arn:aws:iam::{THIS_ACCOUNT}:role/App", "*"), "var.open ? ... : ...")},
             "Action": "kms:Decrypt", "Resource": "*"}
    from iackms.model import LDict
    raw = LDict({"Version": "2012-10-17", "Statement": [LDict(root, loc=Location("main.tf", 12, 18)), LDict(maybe, loc=Location("main.tf", 19, 25))]},
                loc=Location("main.tf", 9, 26))
    k.policy = Attr(raw, Location("main.tf", 9, 26), True, "policy")
    k.policies = build_policies(raw, Location("main.tf", 9, 26))
    f = evaluate(ScanUnit(keys=[k]), Config(), enabled_rules(Config()))
    hits = fired(f, "IKMS202")
    assert [(h.line, h.message.endswith("(in one branch of a condition)")) for h in hits] == [(19, True)]


def test_allow_with_not_principal_is_public():
    k, f = key_with([ROOT, {"Sid": "AllBut", "Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{THIS_ACCOUNT}:role/Blocked"},
                            "Action": "kms:Decrypt", "Resource": "*"}], cfg=Config(profile="cis"))
    assert [h.line for h in fired(f, "IKMS202")] == [stmt_line(k, 1)]


def test_create_grant_through_a_named_service_is_restricted():
    k, f = key_with([ROOT, {"Sid": "EBS", "Effect": "Allow", "Principal": {"AWS": "*"}, "Resource": "*",
                            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
                            "Condition": {"StringEquals": {"kms:ViaService": "ec2.us-east-1.amazonaws.com", "kms:CallerAccount": "111122223333"}}}])
    assert not fired(f, "IKMS207") and not fired(f, "IKMS202")


def test_wildcard_pinned_to_a_foreign_account_is_cross_account():
    k, f = key_with([{**ROOT, "Principal": {"AWS": "arn:aws:iam::123456789012:root"}},
                     {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
                      "Condition": {"StringEquals": {"kms:CallerAccount": "999988887777"}}}])
    hits = fired(f, "IKMS206")
    assert [h.line for h in hits] == [stmt_line(k, 1)] and "999988887777" in hits[0].message


def test_caller_arn_is_a_principal_of_this_account():
    me = f"arn:aws:iam::{THIS_ACCOUNT}:\ue000data.aws_caller_identity.current.arn\ue001"
    k, f = key_with([ROOT, {"Sid": "Me", "Effect": "Allow", "Principal": {"AWS": me}, "Action": "kms:Decrypt", "Resource": "*"}])
    assert not fired(f, "IKMS206") and not [x for x in f if x.about == "IKMS206"]
    assert "${data.aws_caller_identity.current.arn}" in str(k.policies[0].statements[1].principals[0])


def test_usage_without_spec_is_checked_against_the_default_spec():
    k, f = key_with([ROOT], key_usage="SIGN_VERIFY")
    assert [h.line for h in fired(f, "IKMS103")] == [12]


# --- home accounts (issue 12.2) -----------------------------------------------------------


def _home(statements, trusted=(), local=()):
    p = build_policies(json.dumps({"Version": "2012-10-17", "Statement": statements}), Location("k.json", 1, 1))[0]
    return sem.home_accounts(p, trusted, local)


def test_home_accounts_rule():
    lit_root = {**ROOT, "Principal": {"AWS": "arn:aws:iam::111122223333:root"}}
    # nothing names this account, nothing configured: the account whose root gets kms:* is the likely home
    assert _home([lit_root]).literal == {"111122223333"} and not _home([lit_root]).shown
    # the policy names this account: no literal account is taken as home
    h = _home([ROOT, lit_root])
    assert h.shown and h.literal == frozenset() and h.classify("111122223333") is None
    # trusted accounts configured: they are the literal home accounts
    h = _home([lit_root], trusted=("444455556666",))
    assert h.literal == {"444455556666"} and h.classify("111122223333") is False
    # an unresolved but consistent account expression is still the likely home when this account is not named
    acct = "\ue000var.management\ue001"
    assert _home([{**ROOT, "Principal": {"AWS": f"arn:aws:iam::{acct}:root"}}], trusted=("444455556666",)).classify(acct) is True
    # a role defined in the scan (a local principal) names this account
    role = {"Sid": "R", "Effect": "Allow", "Principal": {"AWS": "app-role"}, "Action": "kms:Decrypt", "Resource": "*"}
    assert _home([lit_root, role], local={"app-role"}).shown


def test_kms_star_to_another_account_once_this_account_is_named_is_high():
    k, f = key_with([ROOT, {"Sid": "Other", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
                     {"Sid": "Reader", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "kms:Decrypt", "Resource": "*"}])
    hits = fired(f, "IKMS206")
    assert [(h.line, h.severity) for h in hits] == [(stmt_line(k, 1), "high")] and "full control" in hits[0].message
    # less access to a literal account than full control: the symbolic home cannot be compared with it, a note
    assert [x.line for x in f if x.rule_id == "IKMS002" and "IKMS206" in x.about] == [stmt_line(k, 2)]
    # before: the root with kms:* was taken as home and nothing was said of it
    k, f = key_with([{**ROOT, "Principal": {"AWS": "arn:aws:iam::111122223333:root"}}])
    assert not fired(f, "IKMS206") and not [x for x in f if x.rule_id == "IKMS002"]


def test_grant_hygiene_uses_the_keys_home_accounts():
    from iackms.model import Grant

    k, _ = key_with([{**ROOT, "Principal": {"AWS": "arn:aws:iam::111122223333:root"}}])
    cfg = Config(profile="strict")

    def grant(grantee: str) -> list:
        g = Grant("aws_kms_grant.g", "aws_kms_grant", Location("main.tf", 30, 36), "terraform", target=k.address)
        g.attrs["grantee_principal"] = Attr(grantee, Location("main.tf", 32, 32), True, "grantee_principal")
        g.attrs["operations"] = Attr(["DescribeKey"], Location("main.tf", 33, 33), True, "operations")
        return evaluate(ScanUnit(keys=[k], grants=[g]), cfg, {"IKMS213", "IKMS002"})

    assert [(x.rule_id, x.line) for x in grant("arn:aws:iam::444455556666:role/partner")] == [("IKMS213", 32)]
    assert grant("arn:aws:iam::111122223333:role/app") == []  # home: passes with no note
    assert grant(f"arn:aws:iam::{THIS_ACCOUNT}:\ue000data.aws_caller_identity.current.arn\ue001") == []


# --- who counts as a person (issue 12.3) ----------------------------------------------------


def test_caller_identity_is_a_person_of_this_account():
    me = f"arn:aws:iam::{THIS_ACCOUNT}:\ue000data.aws_caller_identity.this[0].arn\ue001"
    k, f = key_with([ROOT, {"Sid": "Me", "Effect": "Allow", "Principal": {"AWS": me}, "Action": "kms:*", "Resource": "*"}])
    pr = k.policies[0].statements[1].principals[0]
    assert pr.ptype == "caller" and str(pr) == "the identity that runs Terraform (${data.aws_caller_identity.this[0].arn})"
    assert [h.line for h in fired(f, "IKMS203")] == [stmt_line(k, 1)] and "the identity that runs Terraform" in fired(f, "IKMS203")[0].message
    assert [h.line for h in fired(f, "IKMS204")] == [stmt_line(k, 1)]
    assert not fired(f, "IKMS207")  # it may call PutKeyPolicy: CreateGrant gives it nothing more
    assert not [x for x in f if x.rule_id == "IKMS002"]


def test_service_linked_role_is_its_service():
    slr = {"AWS": f"arn:aws:iam::{THIS_ACCOUNT}:role/aws-service-role/lakeformation.amazonaws.com/AWSServiceRoleForLakeFormationDataAccess"}
    k, f = key_with([ROOT, {"Sid": "SLR", "Effect": "Allow", "Principal": slr, "Action": ["kms:CreateGrant", "kms:Decrypt"], "Resource": "*"}])
    assert not fired(f, "IKMS204") and not fired(f, "IKMS207") and not fired(f, "IKMS208")


def test_narrowed_wildcard_is_judged_for_separation_of_duties():
    org = {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}
    k, f = key_with([ROOT, {"Sid": "Org", "Effect": "Allow", "Principal": "*", "Action": ["kms:Decrypt", "kms:DisableKey"], "Resource": "*", "Condition": org}])
    hits = fired(f, "IKMS204")
    assert [h.line for h in hits] == [stmt_line(k, 1)] and "every principal admitted by aws:PrincipalOrgID = o-abc123" in hits[0].message
    # CreateGrant through a named service is not administration, in IKMS204 as in IKMS207
    via = {"StringEquals": {"aws:PrincipalOrgID": "o-abc123", "kms:ViaService": "ec2.us-east-1.amazonaws.com"}}
    k, f = key_with([ROOT, {"Sid": "Org", "Effect": "Allow", "Principal": "*", "Action": ["kms:Decrypt", "kms:CreateGrant"], "Resource": "*", "Condition": via}])
    assert not fired(f, "IKMS204") and not fired(f, "IKMS207")
    # a wildcard open to anyone is IKMS202's finding, not IKMS204's
    k, f = key_with([ROOT, {"Sid": "All", "Effect": "Allow", "Principal": "*", "Action": ["kms:Decrypt", "kms:DisableKey"], "Resource": "*"}])
    assert fired(f, "IKMS202") and not fired(f, "IKMS204")


def test_alias_naming_with_this_account_in_the_name_is_shown_and_judged(tmp_path, monkeypatch):
    """An alias name holding the caller's account is judged only when the digits cannot change the verdict,
    and shown with `<this account>`, never with the internal marker."""
    from iackms.config import Config
    from iackms.engine import scan

    (tmp_path / "main.tf").write_text(
        'data "aws_caller_identity" "current" {}\n'
        'resource "aws_kms_key" "k" {\n  enable_key_rotation = true\n}\n'
        'resource "aws_kms_alias" "bad" {\n'
        '  name          = "alias/team-${data.aws_caller_identity.current.account_id}-key"\n'
        '  target_key_id = aws_kms_key.k.key_id\n}\n'
        'resource "aws_kms_alias" "good" {\n'
        '  name          = "alias/cmmc-${data.aws_caller_identity.current.account_id}"\n'
        '  target_key_id = aws_kms_key.k.key_id\n}\n')
    monkeypatch.chdir(tmp_path)
    found = [f for f in scan(["."], Config(profile="cmmc-l2")).findings if f.rule_id in ("IKMS111", "IKMS002")]
    assert [(f.rule_id, f.file, f.line, f.resource) for f in found] == [("IKMS111", "main.tf", 6, "aws_kms_key.k")]
    assert "alias/team-<this account>-key" in found[0].message and "\ue002" not in found[0].message
