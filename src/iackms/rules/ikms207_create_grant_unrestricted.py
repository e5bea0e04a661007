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
        "(AWS's own key policies for EBS or Secrets Manager use this pattern). Not reported: AWS service "
        "principals and service-linked roles (`role/aws-service-role/...`, which only their service can "
        "assume), and a principal that may also call `kms:PutKeyPolicy` (it could give itself anything; "
        "AWS's console policy gives key administrators `kms:Create*` and `kms:Put*`)."
    ),
    why="A grant delegates use of the key; an unrestricted CreateGrant lets the principal hand the key to anyone, outside the key policy's control.",
    sources=(GRANTS_DOC, CONDITIONS, KMS_BP),
    fix_tf='Move CreateGrant to a statement with `condition { test = "Bool" variable = "kms:GrantIsForAWSResource" values = ["true"] }`.',
    fix_cfn='Move CreateGrant to a statement with `Condition: {Bool: {"kms:GrantIsForAWSResource": "true"}}`.',
    checkov=True,
))
def create_grant_unrestricted(key: Key, cfg) -> Iterator[Result]:
    owners: dict[int, set[str]] = {}
    for p, st in sem.each_statement(key):
        if "CreateGrant" not in sem.statement_actions(st).actions or sem.grant_restricted(st):
            continue
        # whoever may change the key policy gains nothing from CreateGrant
        if id(p) not in owners:
            owners[id(p)] = sem.holders(p, "PutKeyPolicy")
        held = owners[id(p)]
        prs = [pr for pr in sem.non_root(st) if not sem.is_service_like(pr) and sem.person_key(st, pr) not in held]
        if prs:
            yield Fail(f"{st.label} of {key.address} lets {sem.who(st, prs)} create grants without kms:GrantIsForAWSResource" + sem.in_branch(key, st), st.loc, sem.statement_ident(st))
        else:
            for pr in sem.maybe_root(st):
                if sem.person_key(st, pr) in held:
                    continue
                yield Unresolved(f"{st.label} of {key.address} lets {pr} create grants without kms:GrantIsForAWSResource; the principal cannot be resolved",
                                 st.loc, sem.statement_ident(st), sem.unresolved_principal(key, st, pr))
