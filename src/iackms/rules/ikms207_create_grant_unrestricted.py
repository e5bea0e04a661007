"""IKMS207 create-grant-unrestricted: a principal may create grants for anything, not only AWS services."""

from __future__ import annotations

from typing import Iterator

from .. import semantics as sem
from ..model import Key
from ..vocab import DEFAULT_ON
from .base import Fail, Result, RuleMeta, Unresolved, rule
from .sources import CONDITIONS, GRANTS_DOC, KMS_BP


@rule(RuleMeta(
    id="IKMS207",
    name="create-grant-unrestricted",
    title="A principal may create grants for anything, not only AWS services",
    severity="medium",
    profiles=DEFAULT_ON,
    targets=("key", "policy_only"),
    needs_policy=True,
    what=(
        "Flags a principal other than the account root allowed `kms:CreateGrant` without the condition "
        "`kms:GrantIsForAWSResource: true`. A `kms:ViaService` condition with specific services counts as the "
        "same restriction: the grants can then only be created by those AWS services on the caller's behalf "
        "(AWS's own key policies for EBS or Secrets Manager use this pattern)."
    ),
    why="A grant delegates use of the key; an unrestricted CreateGrant lets the principal hand the key to anyone, outside the key policy's control.",
    sources=(GRANTS_DOC, CONDITIONS, KMS_BP),
    fix_tf='Move CreateGrant to a statement with `condition { test = "Bool" variable = "kms:GrantIsForAWSResource" values = ["true"] }`.',
    fix_cfn='Move CreateGrant to a statement with `Condition: {Bool: {"kms:GrantIsForAWSResource": "true"}}`.',
    checkov=True,
))
def create_grant_unrestricted(key: Key, cfg) -> Iterator[Result]:
    for p, st in sem.each_statement(key):
        if "CreateGrant" not in sem.statement_actions(st).actions or sem.grant_for_aws_resource(st) or sem.via_service(st):
            continue
        prs = sem.non_root(st)
        if prs:
            yield Fail(f"{st.label} of {key.address} lets {sem.who(st, prs)} create grants without kms:GrantIsForAWSResource" + sem.in_branch(key, st), st.loc, sem.statement_ident(st))
        elif sem.maybe_root(st):
            yield Unresolved(f"{st.label} of {key.address} lets {sem.who(st, sem.maybe_root(st))} create grants without kms:GrantIsForAWSResource; the principal cannot be resolved", st.loc, sem.statement_ident(st))

