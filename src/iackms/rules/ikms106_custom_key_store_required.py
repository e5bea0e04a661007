"""IKMS106 custom-key-store-required: the key is not in a CloudHSM custom key store."""

from __future__ import annotations

from typing import Iterator

from ..model import Key
from ..vocab import CMMC_L3, OPTIONS
from .base import Fail, Result, RuleMeta, Unresolved, as_str, rule, shown, where
from .sources import CKS_DOC, FIPS_CRYPTO, NIST_SC_11


@rule(RuleMeta(
    id="IKMS106",
    name="custom-key-store-required",
    title="The key is not in a CloudHSM custom key store",
    severity="high",
    profiles=CMMC_L3,
    targets=("key",),
    what=(
        "Requires every key to live in a custom key store of an allowed type (`custom_key_store_types`, "
        "default `AWS_CLOUDHSM`). CloudFormation's `AWS::KMS::Key` cannot create keys in a custom key "
        "store, so CloudFormation keys are reported with that explanation."
    ),
    why="CMMC level 3 programmes often require key material in a single-tenant, FIPS 140 validated HSM under your control.",
    sources=(CKS_DOC, NIST_SC_11),
    controls=FIPS_CRYPTO,
    fix_tf="Create the key with `custom_key_store_id = aws_kms_custom_key_store.hsm.id` (an AWS_CLOUDHSM store).",
    fix_cfn="AWS::KMS::Key has no custom key store property: create the key in Terraform, the API or the console, or suppress with a reason.",
    options=(OPTIONS["custom_key_store_types"],),
    checkov=True,
))
def custom_key_store_required(key: Key, cfg) -> Iterator[Result]:
    allowed = cfg.custom_key_store_types
    if key.source == "cloudformation":
        yield Fail(f"{key.address} is not in a custom key store; {key.resource_type} cannot create keys in one, so create this key outside CloudFormation", key.loc)
        return
    cks = key.attr("custom_key_store_id")
    if not cks.present:
        yield Fail(f"{key.address} is not in a custom key store (allowed: {', '.join(allowed)})", key.loc)
        return
    store_type = None
    if key.custom_key_store is not None:
        t = key.custom_key_store.attr("custom_key_store_type")
        store_type = "AWS_CLOUDHSM" if not t.present else as_str(t.value)
    else:
        o = key.attr("origin")
        store_type = as_str(o.value) if o.present else None
    if store_type is None:
        yield Unresolved(f"cannot tell the type of custom key store {shown(cks)}", where(cks, key))
    elif store_type not in allowed:
        yield Fail(f"{key.address} is in a custom key store of type {store_type}; allowed: {', '.join(allowed)}", where(cks, key))

