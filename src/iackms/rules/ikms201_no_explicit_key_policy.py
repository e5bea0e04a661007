"""IKMS201 no-explicit-key-policy: the key has no key policy of its own."""

from __future__ import annotations

from typing import Iterator

from ..model import Key
from ..vocab import DEFAULT_ON
from .base import Fail, Result, RuleMeta, Unresolved, rule, shown
from .sources import DEFAULT_POLICY, KMS_BP


@rule(RuleMeta(
    id="IKMS201",
    name="no-explicit-key-policy",
    title="The key has no key policy of its own",
    severity="low",
    profiles=DEFAULT_ON,
    targets=("key",),
    needs_policy=True,
    what=(
        "Flags a key with no policy from any of the places a policy can come from: the `policy` argument, "
        "a `data.aws_iam_policy_document`, a separate `aws_kms_key_policy` resource or a `file()` "
        "(Terraform), `KeyPolicy` (CloudFormation)."
    ),
    why=(
        "Without one, AWS applies its default policy: the account root gets `kms:*`, so every IAM "
        "principal whose identity policy allows KMS can use and manage the key. Writing the policy makes "
        "who may administer and use the key explicit and reviewable."
    ),
    sources=(DEFAULT_POLICY, KMS_BP),
    fix_tf="Give the key a `policy` (or an `aws_kms_key_policy`) that names its administrators and users.",
    fix_cfn="Add a `KeyPolicy` that names the key's administrators and users.",
    checkov_ids=("CKV2_AWS_64",),
    checkov=True,
))
def no_explicit_key_policy(key: Key, cfg) -> Iterator[Result]:
    if key.policy.present or key.policies:
        if not key.policies:
            yield Unresolved(
                f"the key policy of {key.address} cannot be resolved statically ({shown(key.policy)}); key-policy rules were not checked",
                key.policy.loc or key.loc,
            )
        return
    if key.is_replica and key.source == "plan":
        return
    yield Fail(f"{key.address} has no key policy; AWS applies the default policy (account root gets kms:*)", key.loc)

