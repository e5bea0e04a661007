"""IKMS114 weak-rsa-encryption-key: an RSA encryption key uses 2048-bit keys."""

from __future__ import annotations

from typing import Iterator

from ..model import Key
from ..vocab import STRICT_ONLY
from .base import Fail, Result, RuleMeta, Source, options, rule, where
from .sources import SPEC_DOC


@rule(RuleMeta(
    id="IKMS114",
    name="weak-rsa-encryption-key",
    title="An RSA encryption key uses 2048-bit keys",
    severity="low",
    profiles=STRICT_ONLY,
    targets=("key",),
    what=(
        "Flags `RSA_2048` key specs with `ENCRYPT_DECRYPT` usage, on the same instance or in the same branch "
        "(an `RSA_2048` signing instance next to a symmetric encryption instance passes)."
    ),
    why="RSA-2048 gives about 112 bits of security, the minimum NIST allows through 2030; new encryption keys should use RSA_3072 or larger.",
    sources=(SPEC_DOC, Source("NIST SP 800-57 Part 1 Rev. 5, table 2", "https://csrc.nist.gov/pubs/sp/800/57/pt1/r5/final")),
    fix_tf='Use `customer_master_key_spec = "RSA_3072"` or `"RSA_4096"`.',
    fix_cfn="Use `KeySpec: RSA_3072` or `RSA_4096`.",
    checkov=True,
))
def weak_rsa_encryption_key(key: Key, cfg) -> Iterator[Result]:
    spec = key.attr("key_spec")
    usage = key.attr("key_usage")
    if not spec.present:
        return
    if "RSA_2048" in options(spec):
        u = options(usage)
        if any(x in (None, "ENCRYPT_DECRYPT") for x in u):
            yield Fail(f"{key.address} is an RSA_2048 encryption key; use RSA_3072 or larger", where(spec, key))

