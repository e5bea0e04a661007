"""IKMS204 admin-and-usage-combined: one principal can both administer and use the key."""

from __future__ import annotations

from typing import Iterator

from .. import semantics as sem
from ..model import Key
from ..vocab import DEFAULT_ON
from .base import Fail, Result, RuleMeta, Unresolved, rule
from .sources import DEFAULT_POLICY, KMS_BP, NIST_AC_4, SEPARATION_OF_DUTIES


@rule(RuleMeta(
    id="IKMS204",
    name="admin-and-usage-combined",
    title="One principal can both administer and use the key",
    severity="medium",
    profiles=DEFAULT_ON,
    targets=("key", "policy_only"),
    needs_policy=True,
    what=(
        "Flags a principal other than the account root and AWS services that holds both administrative actions "
        "(PutKeyPolicy, ScheduleKeyDeletion, DisableKey, CreateGrant, TagResource...) and cryptographic "
        "actions (Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, Sign, Verify, GenerateMac, VerifyMac, "
        "DeriveSharedSecret), in one statement or across several. This includes the identity that runs "
        "Terraform and a wildcard principal narrowed by its conditions (`aws:PrincipalOrgID`, "
        "`kms:CallerAccount`...: every principal they admit); a wildcard open to anyone is IKMS202's. "
        "Service-linked roles (`role/aws-service-role/...`) count as their service. Grant actions limited to "
        "AWS services (`kms:GrantIsForAWSResource: true`, or `kms:ViaService` naming services) are not "
        "administration, so AWS's default key-user statements and AWS managed key policies pass."
    ),
    why="Separation of duties: whoever can change who may use the key should not be able to decrypt with it, and vice versa.",
    sources=(KMS_BP, NIST_AC_4, DEFAULT_POLICY),
    controls=SEPARATION_OF_DUTIES,
    fix_tf="Split the key's administrators and users into separate principals and statements.",
    fix_cfn="Split the key's administrators and users into separate principals and statements.",
    checkov=True,
))
def admin_and_usage_combined(key: Key, cfg) -> Iterator[Result]:
    for p in key.policies:
        admin: dict[str, tuple] = {}
        usage: dict[str, tuple] = {}
        names: dict[str, str] = {}
        unresolved: dict[str, object] = {}
        for st in sem.allow_statements(p):
            g = sem.statement_actions(st)
            a = sem.admin_actions(st, g)
            u = set(g.actions) & sem.USAGE_ACTIONS
            if not (a or u):
                continue
            for pr in st.principals or []:
                if pr.is_root or sem.is_service_like(pr):
                    continue  # the root delegates to IAM; a service (or its service-linked role) is not a person
                if pr.wildcard and not sem.narrowed_wildcard(p, st):
                    continue  # a wildcard open to anyone is IKMS202's finding (or its note)
                k = sem.person_key(st, pr)
                if pr.wildcard:
                    names.setdefault(k, f"every principal admitted by {sem.condition_text(st)}")
                else:
                    names.setdefault(k, str(pr))
                if pr.ptype == "unknown":
                    unresolved[k] = pr
                if a:
                    admin.setdefault(k, (st, sorted(a)))
                if u:
                    usage.setdefault(k, (st, sorted(u)))
        for k in admin:
            if k not in usage:
                continue
            sa, aa = admin[k]
            su, uu = usage[k]
            later = sa if (sa.loc.line, sa.index) >= (su.loc.line, su.index) else su
            where_txt = f"in {sa.label}" if sa is su else f"in {sa.label} and {su.label}"
            msg = f"{names[k]} can both administer ({', '.join(aa[:3])}{'...' if len(aa) > 3 else ''}) and use ({', '.join(uu[:3])}{'...' if len(uu) > 3 else ''}) {key.address} {where_txt}"
            if k in unresolved:
                yield Unresolved(msg + " (the principal cannot be resolved: it may be the account root)", later.loc, "principal:" + k,
                                 sem.unresolved_principal(key, later, unresolved[k]))
            else:
                yield Fail(msg, later.loc, "principal:" + k)
