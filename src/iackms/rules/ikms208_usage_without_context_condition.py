"""IKMS208 usage-without-context-condition: a principal may use the key without an encryption-context or ViaService condition."""

from __future__ import annotations

from typing import Iterator

from .. import semantics as sem
from ..model import Key
from ..vocab import CMMC
from .base import Fail, Result, RuleMeta, Source, Unresolved, rule
from .sources import CONDITIONS, KMS_BP


@rule(RuleMeta(
    id="IKMS208",
    name="usage-without-context-condition",
    title="A principal may use the key without an encryption-context or ViaService condition",
    severity="low",
    profiles=CMMC,
    targets=("key", "policy_only"),
    needs_policy=True,
    what=(
        "Flags statements giving cryptographic actions to a principal other than the account root or an AWS "
        "service (or a service-linked role, which only its service can assume) without a `kms:EncryptionContext:*`, `kms:EncryptionContextKeys` or `kms:ViaService` condition."
    ),
    why="Encryption context and ViaService conditions bind the key's use to the data and the service it was meant for, limiting what a stolen credential can decrypt.",
    sources=(CONDITIONS, Source("AWS KMS: encryption context", "https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html"), KMS_BP),
    fix_tf='Add e.g. `condition { test = "StringEquals" variable = "kms:ViaService" values = ["s3.us-east-1.amazonaws.com"] }`.',
    fix_cfn='Add e.g. `Condition: {StringEquals: {"kms:ViaService": !Sub "s3.${AWS::Region}.amazonaws.com"}}`.',
    checkov=True,
))
def usage_without_context(key: Key, cfg) -> Iterator[Result]:
    for p, st in sem.each_statement(key):
        u = sem.statement_actions(st).actions & sem.CONTEXT_ACTIONS
        if not u or sem.has_context_condition(st):
            continue
        prs = [pr for pr in sem.non_root(st) if not sem.is_service_like(pr)]
        acts = f"{', '.join(sorted(u)[:3])}{'...' if len(u) > 3 else ''}"
        if prs:
            yield Fail(f"{st.label} of {key.address} lets {sem.who(st, prs)} use the key ({acts}) without an encryption-context or kms:ViaService condition" + sem.in_branch(key, st), st.loc, sem.statement_ident(st))
        else:
            for pr in sem.maybe_root(st):
                yield Unresolved(f"{st.label} of {key.address} lets {pr} use the key ({acts}) without a context condition; the principal cannot be resolved",
                                 st.loc, sem.statement_ident(st), sem.unresolved_principal(key, st, pr))

