"""IKMS202 public-principal: the key policy allows anyone (a wildcard principal without a constraining condition)."""

from __future__ import annotations

from typing import Iterator

from .. import semantics as sem
from ..model import Key
from ..vocab import ALL_PROFILES
from .base import Fail, Result, RuleMeta, Unresolved, rule
from .sources import CONDITIONS, FSBP_KMS5, KMS_BP, POLICY_DOC


@rule(RuleMeta(
    id="IKMS202",
    name="public-principal",
    title="The key policy allows anyone (a wildcard principal without a constraining condition)",
    severity="critical",
    profiles=ALL_PROFILES,
    targets=("key", "policy_only"),
    needs_policy=True,
    what=(
        "Flags an Allow statement whose principal is a wildcard in any spelling (`\"*\"`, `{\"AWS\": \"*\"}`, "
        "`{\"AWS\": [\"*\"]}`, `arn:aws:iam::*:root`) unless a condition pins the caller to specific "
        "accounts, organizations or principals: `kms:CallerAccount`, `aws:PrincipalAccount`, "
        "`aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`, `aws:PrincipalArn`, `aws:SourceAccount`, "
        "`aws:SourceArn`, `aws:SourceOrgID`, `aws:userid` or `aws:username` with a positive operator and "
        "specific values, or a Deny statement refusing everyone outside them. `kms:ViaService`, "
        "`aws:SecureTransport`, `aws:SourceIp` and `aws:SourceVpc(e)` alone do not make the key private. "
        "Deny statements with a wildcard are fine."
    ),
    why=(
        "A key any AWS account can use lets strangers decrypt your data or run up your KMS bill. Tools "
        "that treat every condition as a fix miss keys that only require TLS; tools that ignore conditions "
        "flag AWS's own recommended `kms:CallerAccount` + `kms:ViaService` pattern. iackms reads the condition."
    ),
    sources=(FSBP_KMS5, CONDITIONS, POLICY_DOC, KMS_BP),
    fix_tf='Name the principals, or add `condition { test = "StringEquals" variable = "kms:CallerAccount" values = [data.aws_caller_identity.current.account_id] }`.',
    fix_cfn='Name the principals, or add `Condition: {StringEquals: {"kms:CallerAccount": !Ref AWS::AccountId}}`.',
    checkov_ids=("CKV_AWS_33",),
    cfn_nag_ids=("F76",),
    checkov=True,
))
def public_principal(key: Key, cfg) -> Iterator[Result]:
    for p, st in sem.each_statement(key):
        wild = [pr for pr in (st.principals or []) if pr.wildcard]
        if st.not_principals is not None and sem.constrains(st) is not True and not sem.denied_elsewhere(p, st):
            # "everyone except ..." is every other AWS account too
            yield Fail(f"{st.label} of {key.address} allows every principal except {sem.who(st, st.not_principals)} (NotPrincipal)" + sem.in_branch(key, st), st.loc, sem.statement_ident(st))
            continue
        if not wild:
            continue
        c = sem.constrains(st)
        if c is True:
            continue
        if sem.denied_elsewhere(p, st):
            continue
        if c is None:
            what = ", ".join(dict.fromkeys(" ".join(u.split()) for u in st.unknowns[:3])) or "unresolved values"
            yield Unresolved(f"{st.label} of {key.address} allows a wildcard principal; whether its conditions restrict it depends on {what}", st.loc, sem.statement_ident(st))
            continue
        acts = sem.statement_actions(st)
        written = sem.written_actions(st)
        what = "kms:*" if acts.full else (", ".join(written)[:160] or "every action but " + ", ".join(sem.action_name(a) for a in st.not_actions or []))
        cond = " (its conditions do not restrict the caller's account)" if st.conditions else ""
        yield Fail(f"{st.label} of {key.address} allows any principal ({sem.who(st, wild)}) {what}{cond}" + sem.in_branch(key, st), st.loc, sem.statement_ident(st))

