"""IKMS210 invalid-key-policy: the key policy is not a valid policy document."""

from __future__ import annotations

from typing import Iterator

from ..model import Key
from ..vocab import DEFAULT_ON
from .base import Fail, Result, RuleMeta, Source, rule
from .sources import POLICY_DOC


@rule(RuleMeta(
    id="IKMS210",
    name="invalid-key-policy",
    title="The key policy is not a valid policy document",
    severity="medium",
    profiles=DEFAULT_ON,
    targets=("key", "policy_only"),
    needs_policy=True,
    what=(
        "Flags a key policy that is not valid JSON, whose `Version` is missing or not `2012-10-17`, with a "
        "statement lacking `Effect`, `Principal`/`NotPrincipal`, `Action`/`NotAction` or `Resource`, with "
        "values of the wrong type, or over the 32 KB size limit."
    ),
    why="AWS rejects such a policy at deployment, or (for an old Version) silently disables policy variables.",
    sources=(POLICY_DOC, Source("IAM JSON policy grammar", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html"),
             Source("AWS KMS quotas: key policy document size", "https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html")),
    fix_tf='Use `jsonencode({ Version = "2012-10-17", Statement = [...] })` or `data.aws_iam_policy_document`, with every statement complete.',
    fix_cfn="Write `Version: '2012-10-17'` and give every statement Effect, Principal, Action and Resource.",
    checkov=True,
))
def invalid_key_policy(key: Key, cfg) -> Iterator[Result]:
    seen = set()
    for p in key.policies:
        for msg, loc in p.errors:
            if (msg, loc) in seen:
                continue
            seen.add((msg, loc))
            yield Fail(f"{key.address}: {msg}", loc, ident=msg)

