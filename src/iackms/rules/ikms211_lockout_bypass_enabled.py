"""IKMS211 lockout-bypass-enabled: the policy lockout safety check is bypassed."""

from __future__ import annotations

from typing import Iterator

from ..model import Key
from ..vocab import DEFAULT_ON
from .base import Result, RuleMeta, Source, check_flag, remove_attr, rule
from .sources import DEFAULT_POLICY, LOCKOUT


@rule(RuleMeta(
    id="IKMS211",
    name="lockout-bypass-enabled",
    title="The policy lockout safety check is bypassed",
    severity="high",
    profiles=DEFAULT_ON,
    targets=("key", "policy_only"),
    what="Flags `bypass_policy_lockout_safety_check = true` / `BypassPolicyLockoutSafetyCheck: true`.",
    why="The safety check stops a policy that would lock everyone out of the key for good; bypassing it removes that protection.",
    sources=(LOCKOUT, DEFAULT_POLICY, Source("AWS Control Tower CT.KMS.PV.3", "https://docs.aws.amazon.com/controltower/latest/controlreference/kms-rules.html")),
    fix_tf="Remove `bypass_policy_lockout_safety_check` (default false).",
    fix_cfn="Remove `BypassPolicyLockoutSafetyCheck` (default false).",
    autofix="`iackms fix` removes the lockout-safety bypass.",
    checkov=True,
))
def lockout_bypass(key: Key, cfg) -> Iterator[Result]:
    yield from check_flag(key, "bypass_lockout", True, "bypasses the policy lockout safety check",
                          "whether the lockout safety check is bypassed", fix=remove_attr("bypass_lockout"))

