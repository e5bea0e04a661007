"""IKMS108 key-disabled: the key is created disabled."""

from __future__ import annotations

from typing import Iterator

from ..model import Key
from ..vocab import DEFAULT_ON
from .base import Result, RuleMeta, Source, check_flag, rule


@rule(RuleMeta(
    id="IKMS108",
    name="key-disabled",
    title="The key is created disabled",
    severity="low",
    profiles=DEFAULT_ON,
    targets=("key",),
    what="Flags `is_enabled = false` (`enabled = false` on replica and external keys) and `Enabled: false`. `PendingWindowInDays` has nothing to do with it.",
    why="A disabled key cannot encrypt or decrypt: whatever depends on it fails. Usually this is a leftover from testing or an incident.",
    sources=(Source("AWS KMS: enabling and disabling keys", "https://docs.aws.amazon.com/kms/latest/developerguide/enabling-keys.html"),),
    fix_tf="Remove `is_enabled = false` (or `enabled = false`).",
    fix_cfn="Remove `Enabled: false`.",
    checkov_ids=("CKV_AWS_227",),
    checkov=True,
))
def key_disabled(key: Key, cfg) -> Iterator[Result]:
    yield from check_flag(key, "enabled", False, "is disabled", "whether the key is enabled")

