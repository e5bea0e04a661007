"""IKMS103 invalid-key-configuration: aWS would reject this key configuration at deployment."""

from __future__ import annotations

from typing import Iterator

from ..model import Key, display
from ..vocab import DEFAULT_ON
from .base import Fail, Result, RuleMeta, Source, as_bool, as_int, as_str, describe, known_prefix, options, remove_attr, rule, where
from .keyspec import spec_usage_origin, usages_for
from .sources import ALIAS_DOC, CKS_DOC, DELETE_DOC, ROTATE_DOC


#: the Origin values of the AWS::KMS::Key resource schema (aws-kms-key.json: AWS_CLOUDHSM and
#: EXTERNAL_KEY_STORE are the KMS API's, not CloudFormation's)
_CFN_ORIGINS = ("AWS_KMS", "EXTERNAL")
#: settings in days and the range AWS accepts for each
_DAY_RANGES = (("rotation_period", "rotation period", 90, 2560), ("deletion_window", "deletion window", 7, 30))


@rule(RuleMeta(
    id="IKMS103",
    name="invalid-key-configuration",
    title="AWS would reject this key configuration at deployment",
    severity="high",
    profiles=DEFAULT_ON,
    targets=("key",),
    what=(
        "Catches settings that pass `terraform validate` or template validation but fail when applied: "
        "rotation enabled on a key that cannot rotate (asymmetric, HMAC, imported `EXTERNAL` material, "
        "custom key store), a key usage the key spec does not allow (e.g. SIGN_VERIFY on SYMMETRIC_DEFAULT), "
        "a rotation period outside 90–2560 days, a deletion window outside 7–30 days, "
        "`multi_region` together with a custom key store, an alias under the reserved `alias/aws/` prefix, and a "
        "CloudFormation `Origin` other than `AWS_KMS` or `EXTERNAL` (CloudFormation cannot create keys in a custom key store). "
        "Settings that go together are read together: per instance of a `for_each`/`count` and per branch of a "
        "condition (a key in a custom key store in one branch and multi-Region in the other is valid)."
    ),
    why="A failed apply in the middle of a change leaves infrastructure half-updated. These mistakes can be caught before any deployment is attempted.",
    sources=(ROTATE_DOC, DELETE_DOC, CKS_DOC, ALIAS_DOC,
             Source("terraform-provider-aws#28780 (rotation on HMAC keys fails at apply)", "https://github.com/hashicorp/terraform-provider-aws/issues/28780")),
    fix_tf="Remove `enable_key_rotation` from keys that cannot rotate; keep periods and windows in range; do not combine `multi_region` with `custom_key_store_id`; choose an alias outside `alias/aws/`.",
    fix_cfn="Remove `EnableKeyRotation` from keys that cannot rotate; keep `RotationPeriodInDays` in 90–2560 and `PendingWindowInDays` in 7–30; choose an `AliasName` outside `alias/aws/`.",
    autofix="`iackms fix` removes rotation requested on a key AWS cannot rotate (the plain contradiction); the other invalid settings need a decision and are left to you.",
    checkov=True,
))
def invalid_key_configuration(key: Key, cfg) -> Iterator[Result]:
    rot = key.attr("rotation")
    if rot.present and any(as_bool(o) is True for o in options(rot)):
        s, u, o = spec_usage_origin(key)
        why = None
        if key.attr("custom_key_store_id").present:
            why = "it is in a custom key store"
        elif key.is_imported or o == "EXTERNAL":
            why = "its key material is imported (EXTERNAL origin)"
        elif o in ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"):
            why = f"its origin is {o}"
        elif s is not None and s != "SYMMETRIC_DEFAULT":
            why = f"its key spec is {s}"
        elif u is not None and u != "ENCRYPT_DECRYPT":
            why = f"its key usage is {u}"
        if why:
            # a plain contradiction: rotation requested of a key that cannot rotate (removing it is the fix)
            yield Fail(f"{key.address} enables automatic rotation but {why}; AWS rejects EnableKeyRotation for such keys", where(rot, key),
                       fix=remove_attr("rotation"))
    origin = key.attr("origin")
    if origin.present and key.source == "cloudformation":
        for o in options(origin):
            if isinstance(o, str) and o not in _CFN_ORIGINS:
                yield Fail(f"{key.address} has origin {o}; CloudFormation's AWS::KMS::Key accepts only {' or '.join(_CFN_ORIGINS)} "
                           "(a key in a custom key store cannot be created with CloudFormation: create it with the KMS API or "
                           "Terraform's custom_key_store_id)", where(origin, key))
                break
    spec, usage = key.attr("key_spec"), key.attr("key_usage")
    if (spec.present or usage.present) and not key.is_replica:
        # unset, the key spec is SYMMETRIC_DEFAULT and the key usage ENCRYPT_DECRYPT (what both Terraform
        # and CloudFormation send)
        s_val = as_str(spec.value) if spec.present else "SYMMETRIC_DEFAULT"
        u_val = as_str(usage.value) if usage.present else "ENCRYPT_DECRYPT"
        allowed = usages_for(s_val) if s_val else None
        if allowed is not None and u_val and u_val not in allowed:
            said = f"key usage {u_val}" if usage.present else f"no key usage (so {u_val})"
            spec_said = f"key spec {s_val}" if spec.present else f"no key spec (so {s_val})"
            yield Fail(f"{key.address} has {said} with {spec_said}; AWS accepts {', '.join(sorted(allowed))} for that spec",
                       where(usage, key) if usage.present else where(spec, key))
    for name, said, lo, hi in _DAY_RANGES:
        days = key.attr(name)
        if not days.present:
            continue
        for opt in options(days):
            d = as_int(opt)
            if d is not None and not lo <= d <= hi:
                yield Fail(f"{key.address} has a {said} of {d} days ({describe(key, name, d)}); AWS accepts {lo} to {hi}", where(days, key))
                break
    mr = key.attr("multi_region")
    if mr.present and any(as_bool(o) is True for o in options(mr)) and key.attr("custom_key_store_id").present:
        yield Fail(f"{key.address} is multi-Region and in a custom key store; AWS does not support multi-Region keys in custom key stores", where(mr, key))
    for alias in key.aliases:
        for attr_name in ("name", "name_prefix"):
            a = alias.attr(attr_name)
            for v in options(a) if a.present else []:
                known = known_prefix(v)
                if known is not None and known.startswith("alias/aws/"):
                    yield Fail(f"alias '{display(v)}' of {key.address} uses the reserved prefix alias/aws/ (AWS managed keys only)", a.loc or alias.loc, ident=display(v))
                    break

