"""What AWS allows of a key's settings: which keys rotate automatically, and
which key usages each key spec accepts. Shared by the key rules."""

from __future__ import annotations

from ..model import Key, is_known
from .base import as_str, is_unknown, options, shown


def rotation_ineligibility(key: Key) -> tuple[str | None, list[str], list[str]]:
    """(reason the key can never rotate automatically | None,
    unknown expressions that might make it ineligible, reasons some branch is ineligible)."""
    if key.is_replica:
        return "it is a replica key (rotation is set on its primary key)", [], []
    if key.is_imported:
        return "its key material is imported (origin EXTERNAL): rotation is on demand only", [], []
    unknown: list[str] = []
    partial: list[str] = []
    checks = (
        ("key_spec", "SYMMETRIC_DEFAULT", "its key spec is {v} (only SYMMETRIC_DEFAULT keys rotate automatically)"),
        ("key_usage", "ENCRYPT_DECRYPT", "its key usage is {v} (only ENCRYPT_DECRYPT keys rotate automatically)"),
        ("origin", "AWS_KMS", "its origin is {v} (only AWS_KMS keys rotate automatically)"),
    )
    for name, good, why in checks:
        attr = key.attr(name)
        if not attr.present:
            continue
        opts = options(attr)
        bad = [o for o in opts if isinstance(o, str) and is_known(o) and o != good]
        unk = [o for o in opts if is_unknown(o) or o is None and False]
        if bad and len(bad) == len(opts):
            return why.format(v=bad[0]), [], []
        if bad:
            partial.append(why.format(v=bad[0]))
        if unk:
            unknown.append(f"{attr.expr or name} = {shown(attr)}")
    cks = key.attr("custom_key_store_id")
    if cks.present and cks.value is not None:
        return "it is in a custom key store (keys there cannot rotate automatically)", [], []
    return None, unknown, partial


def spec_usage_origin(key: Key) -> tuple[str | None, str | None, str | None]:
    spec = key.attr("key_spec")
    usage = key.attr("key_usage")
    origin = key.attr("origin")
    s = "SYMMETRIC_DEFAULT" if not spec.present else as_str(spec.value)
    u = "ENCRYPT_DECRYPT" if not usage.present else as_str(usage.value)
    o = "AWS_KMS" if not origin.present else as_str(origin.value)
    return s, u, o


def usages_for(spec: str) -> set[str] | None:
    """The key usages AWS accepts for a key spec (None: a spec iackms does not know)."""
    if spec == "SYMMETRIC_DEFAULT":
        return {"ENCRYPT_DECRYPT"}
    if spec.startswith("RSA_"):
        return {"ENCRYPT_DECRYPT", "SIGN_VERIFY"}
    if spec.startswith("ECC_NIST_P"):
        return {"SIGN_VERIFY", "KEY_AGREEMENT"}
    if spec in ("ECC_SECG_P256K1", "ECC_NIST_EDWARDS25519") or spec.startswith("ML_DSA_"):
        return {"SIGN_VERIFY"}
    if spec.startswith("HMAC_"):
        return {"GENERATE_VERIFY_MAC"}
    if spec == "SM2":
        return {"ENCRYPT_DECRYPT", "SIGN_VERIFY", "KEY_AGREEMENT"}
    return None
