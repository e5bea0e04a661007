"""IKMS110 required-tags: the key lacks a required tag."""

from __future__ import annotations

from typing import Iterator

from ..model import Key
from ..vocab import CMMC, OPTIONS
from .base import Fail, Result, RuleMeta, Source, Unresolved, rule, shown, where
from .sources import BASELINE_INVENTORY, NIST_CM


@rule(RuleMeta(
    id="IKMS110",
    name="required-tags",
    title="The key lacks a required tag",
    severity="low",
    profiles=CMMC,
    targets=("key",),
    what="Checks that the key carries every tag in `required_tags` (in the cmmc and strict profiles: `DataClassification`, `Environment`, `Owner`).",
    why="Tags tie a key to its owner and the data it protects, which inventories and access reviews depend on (and ABAC policies may use).",
    sources=(NIST_CM, Source("AWS KMS: tagging keys", "https://docs.aws.amazon.com/kms/latest/developerguide/tagging-keys.html")),
    controls=BASELINE_INVENTORY,
    fix_tf='Add the tags: `tags = { DataClassification = "cui", Environment = "prod", Owner = "team@example.com" }`.',
    fix_cfn="Add the tags under `Tags:` as `- Key: Owner` / `Value: team@example.com`.",
    options=(OPTIONS["required_tags"],),
    checkov=True,
))
def required_tags(key: Key, cfg) -> Iterator[Result]:
    need = cfg.tags()
    if not need:
        return
    tags = key.attr("tags")
    if tags.present and not isinstance(tags.value, dict):
        yield Unresolved(f"cannot tell the key's tags: {shown(tags)}", where(tags, key))
        return
    have = {str(k) for k in (tags.value or {})} if tags.present else set()
    missing = [t for t in need if t not in have]
    if missing:
        yield Fail(f"{key.address} lacks required tag(s): {', '.join(missing)}", where(tags, key))

