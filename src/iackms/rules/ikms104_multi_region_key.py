"""IKMS104 multi-region-key: the key is a multi-Region key."""

from __future__ import annotations

from typing import Iterator

from ..model import Key
from ..vocab import DEFAULT_ON
from .base import Result, RuleMeta, check_flag, rule
from .sources import KEY_MANAGEMENT, KMS_BP, MRK_DOC, NIST_SC_10


@rule(RuleMeta(
    id="IKMS104",
    name="multi-region-key",
    title="The key is a multi-Region key",
    severity="medium",
    profiles=DEFAULT_ON,
    targets=("key",),
    what="Flags `multi_region = true` / `MultiRegion: true`.",
    why=(
        "Multi-Region keys share key material across Regions: data encrypted in one Region can be decrypted "
        "in another, which can break data-residency rules and widens who can use the material. AWS recommends "
        "single-Region keys unless you need the feature; CMMC guidance keeps CUI keys single-Region."
    ),
    sources=(MRK_DOC, KMS_BP, NIST_SC_10),
    controls=KEY_MANAGEMENT,
    fix_tf="Remove `multi_region = true` (changing it replaces the key), or suppress with a reason when the key must be multi-Region.",
    fix_cfn="Remove `MultiRegion: true` (changing it replaces the key), or suppress with a reason.",
    checkov=True,
))
def multi_region_key(key: Key, cfg) -> Iterator[Result]:
    yield from check_flag(key, "multi_region", True, "is a multi-Region key", "whether the key is multi-Region")

