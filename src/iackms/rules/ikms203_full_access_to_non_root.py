"""IKMS203 full-access-to-non-root: a principal other than the account root is allowed every KMS action."""

from __future__ import annotations

from typing import Iterator

from .. import semantics as sem
from ..model import Key
from ..vocab import DEFAULT_ON
from .base import Fail, Result, RuleMeta, Unresolved, rule
from .sources import DEFAULT_POLICY, KMS_BP, LEAST_PRIVILEGE, NIST_AC_5, POLICY_DOC


@rule(RuleMeta(
    id="IKMS203",
    name="full-access-to-non-root",
    title="A principal other than the account root is allowed every KMS action",
    severity="high",
    profiles=DEFAULT_ON,
    targets=("key", "policy_only"),
    needs_policy=True,
    what=(
        "Flags an Allow of `kms:*` or `*` (any case) to a principal other than the account root: a role, "
        "user, service, the identity that runs Terraform (`data.aws_caller_identity.current.arn`, which is "
        "never the root: AWS tells people not to work as the root user) or a wildcard restricted to an "
        "account. The account root statement (`arn:aws:iam::ACCOUNT:root` or a bare account ID) only "
        "delegates to IAM and is never a finding."
    ),
    why=(
        "`kms:*` lets the principal change the key policy, disable or delete the key and decrypt everything, "
        "without any IAM policy having to allow it. Give administrators admin actions and users usage actions."
    ),
    sources=(POLICY_DOC, DEFAULT_POLICY, KMS_BP, NIST_AC_5),
    controls=LEAST_PRIVILEGE,
    fix_tf="List the actions the principal needs: for administrators CreateAlias, Describe*, Enable*, List*, Put*, Update*, Revoke*, Disable*, Get*, Delete*, TagResource, UntagResource, ScheduleKeyDeletion, CancelKeyDeletion (CreateGrant only with `kms:GrantIsForAWSResource`); for users Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, DescribeKey.",
    fix_cfn="List the actions the principal needs instead of `kms:*`.",
    checkov=True,
))
def full_access_to_non_root(key: Key, cfg) -> Iterator[Result]:
    for p, st in sem.each_statement(key):
        g = sem.statement_actions(st)
        if not g.full:
            continue
        # an unconstrained wildcard is IKMS202's finding
        known = [pr for pr in sem.non_root(st) if not pr.wildcard or sem.constrains(st) is True]
        unknown = sem.maybe_root(st)
        if known:
            scope = " (every principal its conditions admit)" if any(pr.wildcard for pr in known) else ""
            yield Fail(f"{st.label} of {key.address} allows kms:* to {sem.who(st, known)}{scope}" + sem.in_branch(key, st), st.loc, sem.statement_ident(st))
        else:
            for pr in unknown:
                yield Unresolved(f"{st.label} of {key.address} allows kms:* to {pr}, which cannot be resolved (is it the account root?)",
                                 st.loc, sem.statement_ident(st), sem.unresolved_principal(key, st, pr))

