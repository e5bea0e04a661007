"""IKMS209 critical-actions-without-mfa: a principal may change the key policy or delete the key without MFA."""

from __future__ import annotations

from typing import Iterator

from .. import semantics as sem
from ..model import Key
from ..vocab import CMMC
from .base import Fail, Result, RuleMeta, Source, Unresolved, rule
from .sources import KMS_BP, MFA, NIST_IA_3


@rule(RuleMeta(
    id="IKMS209",
    name="critical-actions-without-mfa",
    title="A principal may change the key policy or delete the key without MFA",
    severity="medium",
    profiles=CMMC,
    targets=("key", "policy_only"),
    needs_policy=True,
    what=(
        "Flags a principal other than the account root or an AWS service (or a service-linked role, which "
        "only its service can assume and which cannot use MFA) that may call PutKeyPolicy, "
        "ScheduleKeyDeletion, DisableKey, DeleteAlias or DeleteImportedKeyMaterial without "
        "`Bool aws:MultiFactorAuthPresent: true` (not BoolIfExists) or a `NumericLessThan(Equals) "
        "aws:MultiFactorAuthAge` limit on the statement, or a Deny statement refusing those actions without MFA."
    ),
    why="These actions can make data unrecoverable or hand the key away; requiring MFA stops a leaked access key from doing it alone.",
    sources=(KMS_BP, NIST_IA_3, Source("IAM: MFA-protected API access", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html")),
    controls=MFA,
    fix_tf='Add `condition { test = "Bool" variable = "aws:MultiFactorAuthPresent" values = ["true"] }` to the administrators\' statement.',
    fix_cfn='Add `Condition: {Bool: {"aws:MultiFactorAuthPresent": "true"}}` to the administrators\' statement.',
    checkov=True,
))
def critical_without_mfa(key: Key, cfg) -> Iterator[Result]:
    for p in key.policies:
        denied: set[str] = set()
        for other in p.statements:
            if sem.denies_without_mfa(other):
                denied |= sem.statement_actions(other).actions
        for st in sem.allow_statements(p):
            crit = sorted(set(sem.MFA_ACTIONS) & sem.statement_actions(st).actions - denied)
            if not crit or sem.requires_mfa(st):
                continue
            prs = [pr for pr in sem.non_root(st) if not sem.is_service_like(pr)]
            if prs:
                yield Fail(f"{st.label} of {key.address} lets {sem.who(st, prs)} call {', '.join(crit)} without MFA" + sem.in_branch(key, st), st.loc, sem.statement_ident(st))
            else:
                for pr in sem.maybe_root(st):
                    yield Unresolved(f"{st.label} of {key.address} lets {pr} call {', '.join(crit)} without MFA; the principal cannot be resolved",
                                     st.loc, sem.statement_ident(st), sem.unresolved_principal(key, st, pr))

