"""IKMS212 lockout-risk: no principal can change the key policy."""

from __future__ import annotations

from typing import Iterator

from .. import semantics as sem
from ..model import Key
from ..vocab import DEFAULT_ON
from .base import Fail, Result, RuleMeta, Source, Unresolved, rule
from .sources import DEFAULT_POLICY, LOCKOUT


@rule(RuleMeta(
    id="IKMS212",
    name="lockout-risk",
    title="No principal can change the key policy",
    severity="high",
    profiles=DEFAULT_ON,
    targets=("key", "policy_only"),
    needs_policy=True,
    what="Flags a known key policy in which no principal (the account root or a named administrator) is allowed `kms:PutKeyPolicy`.",
    why="Nobody could ever fix the policy again; recovering the key then needs AWS Support, if it is possible at all.",
    sources=(LOCKOUT, DEFAULT_POLICY, Source("cloudtools/awacs#279 (policy lockout at deployment)", "https://github.com/cloudtools/awacs/issues/279")),
    fix_tf='Keep the root statement: `{ Sid = "EnableRoot", Effect = "Allow", Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }, Action = "kms:*", Resource = "*" }`.',
    fix_cfn='Keep the root statement: `Principal: {AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}`, `Action: kms:*`, `Resource: "*"`.',
    checkov=True,
))
def lockout_risk(key: Key, cfg) -> Iterator[Result]:
    for p in key.policies:
        if p.errors:
            continue  # IKMS210: a policy AWS would reject is not judged on the statements iackms could read
        unknown = not p.complete
        # an unconditional Deny of PutKeyPolicy to everyone overrides every Allow
        blanket_deny = False
        deny_st = None
        denied_principals: set[str] = set()
        for st in p.statements:
            if st.effect != "Deny" or st.conditions:
                continue
            if "PutKeyPolicy" not in sem.statement_actions(st).actions:
                continue
            for pr in st.principals or []:
                if pr.wildcard and not blanket_deny:
                    blanket_deny = True
                    deny_st = st
                denied_principals.add(sem.principal_key(pr))
        ok = False
        for st in sem.allow_statements(p):
            g = sem.statement_actions(st)
            if g.unknown:
                unknown = True
            if "PutKeyPolicy" not in g.actions or blanket_deny:
                continue
            if any(pr.ptype != "service" and sem.principal_key(pr) not in denied_principals for pr in st.principals or []):
                ok = True
                break
        if ok:
            continue
        where_ = key.policy.loc or p.loc
        if unknown:
            yield Unresolved(f"cannot tell whether anyone may change the key policy of {key.address}: parts of it are unresolved", where_)
        elif blanket_deny:
            yield Fail(f"{deny_st.label} of the key policy of {key.address} denies kms:PutKeyPolicy to everyone; nobody could change it again",
                       deny_st.loc, ident="lockout")
        else:
            yield Fail(f"no statement of the key policy of {key.address} allows kms:PutKeyPolicy; nobody could change it again", where_, ident="lockout")

