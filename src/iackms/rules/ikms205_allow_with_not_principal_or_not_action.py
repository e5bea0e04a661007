"""IKMS205 allow-with-not-principal-or-not-action: an Allow statement uses NotPrincipal or NotAction."""

from __future__ import annotations

from typing import Iterator

from .. import semantics as sem
from ..model import Key
from ..vocab import DEFAULT_ON
from .base import Fail, Result, RuleMeta, Source, rule
from .sources import KMS_BP


@rule(RuleMeta(
    id="IKMS205",
    name="allow-with-not-principal-or-not-action",
    title="An Allow statement uses NotPrincipal or NotAction",
    severity="high",
    profiles=DEFAULT_ON,
    targets=("key", "policy_only"),
    needs_policy=True,
    what="Flags Allow statements that use `NotPrincipal` or `NotAction` (and `not_principals` / `not_actions` in policy documents).",
    why="\"Allow everyone except X\" and \"allow everything except Y\" grant far more than intended, including principals and actions added later.",
    sources=(Source("IAM JSON policy elements: NotPrincipal", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html"),
             Source("IAM JSON policy elements: NotAction", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html"), KMS_BP),
    fix_tf="Use `principals` and `actions` listing what is allowed.",
    fix_cfn="Use `Principal` and `Action` listing what is allowed.",
    checkov=True,
))
def allow_with_not(key: Key, cfg) -> Iterator[Result]:
    for p, st in sem.each_statement(key):
        if st.not_principals is not None:
            yield Fail(f"{st.label} of {key.address} allows with NotPrincipal (everyone except {sem.who(st, st.not_principals)})" + sem.in_branch(key, st), st.loc, sem.statement_ident(st))
        if st.not_actions is not None:
            yield Fail(f"{st.label} of {key.address} allows with NotAction (every action except {', '.join(sem.action_name(a) for a in st.not_actions)})" + sem.in_branch(key, st), st.loc, sem.statement_ident(st))

