"""IKMS113 deletion-protection: nothing protects the key from being destroyed with its stack."""

from __future__ import annotations

from typing import Iterator

from ..model import Key
from ..vocab import STRICT_ONLY
from .base import Fail, Result, RuleMeta, Source, Unresolved, as_bool, options, rule, shown, where
from .sources import DELETE_DOC, KMS_BP


@rule(RuleMeta(
    id="IKMS113",
    name="deletion-protection",
    title="Nothing protects the key from being destroyed with its stack",
    severity="low",
    profiles=STRICT_ONLY,
    targets=("key",),
    what="Requires `lifecycle { prevent_destroy = true }` in Terraform and `DeletionPolicy: Retain` in CloudFormation.",
    why="Destroying a stack or removing a resource block schedules the key for deletion; everything encrypted with it becomes unreadable once the window ends.",
    sources=(DELETE_DOC, KMS_BP, Source("cfn-lint I3011 (retention on stateful resources)", "https://github.com/aws-cloudformation/cfn-lint/blob/main/docs/rules.md")),
    fix_tf="Add `lifecycle { prevent_destroy = true }` to the key.",
    fix_cfn="Add `DeletionPolicy: Retain` and `UpdateReplacePolicy: Retain` to the key resource.",
    checkov=True,
))
def deletion_protection(key: Key, cfg) -> Iterator[Result]:
    dp = key.attr("deletion_protection")
    cfn = key.source == "cloudformation"
    want = "DeletionPolicy: Retain" if cfn else "lifecycle { prevent_destroy = true }"
    if not dp.present:
        yield Fail(f"{key.address} has no deletion protection (add {want})", key.loc)
        return
    vals = options(dp)
    if any(as_bool(o) is False or o is False for o in vals):
        written = f"DeletionPolicy: {dp.expr}" if cfn else f"prevent_destroy = {dp.expr or 'false'}"
        yield Fail(f"{key.address} has no deletion protection ({written}; use {want})", where(dp, key))
    elif any(as_bool(o) is None and not isinstance(o, bool) for o in vals):
        yield Unresolved(f"cannot tell whether the key is protected from deletion: {shown(dp)}", where(dp, key))

