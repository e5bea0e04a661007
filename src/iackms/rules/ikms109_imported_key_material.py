"""IKMS109 imported-key-material: the key uses imported key material."""

from __future__ import annotations

from typing import Iterator

from ..model import Key
from ..vocab import DEFAULT_ON
from .base import Fail, Result, RuleMeta, describe, options, rule, where
from .sources import IMPORT_DOC, KMS_BP


@rule(RuleMeta(
    id="IKMS109",
    name="imported-key-material",
    title="The key uses imported key material",
    severity="medium",
    profiles=DEFAULT_ON,
    targets=("key",),
    what="Flags `aws_kms_external_key`, `aws_kms_replica_external_key` and keys with `Origin: EXTERNAL`.",
    why=(
        "With imported material you own its generation, durability and expiry (AWS cannot recover it), and "
        "rotation is on demand only, never automatic. Use it only where a policy requires it."
    ),
    sources=(IMPORT_DOC, KMS_BP),
    fix_tf="Use `aws_kms_key` (AWS-generated material) unless imported material is required; otherwise suppress with the reason.",
    fix_cfn="Remove `Origin: EXTERNAL` unless imported material is required; otherwise suppress with the reason.",
    checkov=True,
))
def imported_key_material(key: Key, cfg) -> Iterator[Result]:
    tail = "you own its durability and expiry, and it never rotates automatically"
    o = key.attr("origin")
    if key.source != "terraform" and o.present and any(x == "EXTERNAL" for x in options(o)):
        yield Fail(f"{key.address} uses imported key material ({describe(key, 'origin', 'EXTERNAL')}): {tail}", where(o, key))
    elif key.is_imported:
        yield Fail(f"{key.address} uses imported key material ({key.resource_type}): {tail}", key.loc)

