"""IKMS112 key-material-in-source: key material or a key store secret is written in the code."""

from __future__ import annotations

from typing import Iterator

from ..model import Choice, CustomKeyStore, Key, Unknown, is_known
from ..vocab import DEFAULT_ON
from .base import Fail, Result, RuleMeta, rule, where
from .sources import CKS_DOC, IMPORT_DOC, KMS_BP


@rule(RuleMeta(
    id="IKMS112",
    name="key-material-in-source",
    title="Key material or a key store secret is written in the code",
    severity="critical",
    profiles=DEFAULT_ON,
    targets=("key", "store"),
    what=(
        "Flags `key_material_base64` on external keys and `key_store_password` or "
        "`xks_proxy_authentication_credential` on custom key stores when their value is in the scanned "
        "files (a literal, or a variable default, tfvars or local)."
    ),
    why="Whoever can read the repository (or the Terraform state) can then decrypt everything the key protects or impersonate the key store.",
    sources=(IMPORT_DOC, CKS_DOC, KMS_BP),
    fix_tf="Pass the secret at apply time from a secret manager (a variable marked `sensitive` without a default, or an ephemeral resource); never commit it.",
    fix_cfn="Not applicable: CloudFormation has no such property for KMS keys.",
    cfn_applicable=False,
    checkov=True,
))
def key_material_in_source(res: Key | CustomKeyStore, cfg) -> Iterator[Result]:
    if isinstance(res, CustomKeyStore):
        # a store's secrets are reported once, on the store, where its suppression applies
        yield from _store_secrets(res)
        return
    key = res
    km = key.attr("key_material")
    if km.present and _literal_secret(km.value):
        yield Fail(f"{key.address} has its key material (key_material_base64) written in the code", where(km, key), ident="key_material_base64")


def _store_secrets(store: CustomKeyStore) -> Iterator[Result]:
    for name in ("key_store_password", "xks_proxy_authentication_credential"):
        a = store.attr(name)
        if a.present and _literal_secret(a.value):
            yield Fail(f"{store.address} has its {name} written in the code", a.loc or store.loc, ident=name)


def _literal_secret(v) -> bool:
    if isinstance(v, (Unknown, Choice)) or v is None:
        return False
    if isinstance(v, str):
        return bool(v.strip()) and is_known(v)
    if isinstance(v, dict):
        return any(_literal_secret(x) for x in v.values())
    if isinstance(v, list):
        return any(_literal_secret(x) for x in v)
    return False

