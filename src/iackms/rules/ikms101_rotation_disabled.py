"""IKMS101 rotation-disabled: automatic rotation is off on a key that can rotate."""

from __future__ import annotations

from typing import Iterator

from ..model import Key
from ..vocab import ALL_PROFILES
from .base import Fail, Result, RuleMeta, Unresolved, as_bool, describe, options, rule, set_attr, shown, where
from .keyspec import rotation_ineligibility
from .sources import CIS, CIS_ROTATION, KEY_MANAGEMENT, KMS_BP, NIST_SC_10, ROTATE_DOC


@rule(RuleMeta(
    id="IKMS101",
    name="rotation-disabled",
    title="Automatic rotation is off on a key that can rotate",
    severity="medium",
    profiles=ALL_PROFILES,
    targets=("key",),
    what=(
        "Checks that automatic key rotation is enabled on every key that AWS can rotate: a symmetric "
        "(`SYMMETRIC_DEFAULT`) `ENCRYPT_DECRYPT` key whose material AWS KMS generated (origin `AWS_KMS`) "
        "and that is not in a custom key store. Replica keys follow their primary and imported (`EXTERNAL`) "
        "keys can only be rotated on demand, so neither is flagged. A string `\"true\"` counts as true. "
        "Each instance and each branch of a condition is judged as a whole: a `for_each` whose only instance "
        "with rotation off is an RSA signing key passes, as AWS could not rotate that instance."
    ),
    why=(
        "Rotation limits how much data one version of the key material protects and is required by CIS "
        "AWS Foundations. Other scanners flag asymmetric, HMAC, imported and custom-store keys here even "
        "though AWS refuses to rotate them; iackms only asks for what AWS allows."
    ),
    sources=(CIS, ROTATE_DOC, KMS_BP, NIST_SC_10),
    controls=CIS_ROTATION + KEY_MANAGEMENT,
    fix_tf="Set `enable_key_rotation = true` on the `aws_kms_key` (optionally `rotation_period_in_days`).",
    fix_cfn="Set `EnableKeyRotation: true` on the `AWS::KMS::Key` (optionally `RotationPeriodInDays`).",
    autofix="`iackms fix` turns rotation on (`enable_key_rotation = true`, `EnableKeyRotation: true`), added or flipped, on a key AWS can rotate.",
    checkov_ids=("CKV_AWS_7",),
    cfn_nag_ids=("F19",),
    checkov=True,
))
def rotation_disabled(key: Key, cfg) -> Iterator[Result]:
    reason, unknown, partial = rotation_ineligibility(key)
    if reason:
        return
    rot = key.attr("rotation")
    if unknown:
        yield Unresolved(f"cannot tell whether the key can rotate: {'; '.join(unknown)}", key.loc)
        return
    off_opts = []
    unk = False
    for o in options(rot):
        b = False if o is None else as_bool(o)
        if b is None:
            unk = True
        elif not b:
            off_opts.append(o)
    if off_opts:
        if not rot.present:
            yield Fail(f"{key.address} has no automatic rotation ({describe(key, 'rotation')}; the default is off)", key.loc,
                       fix=set_attr("rotation", True))
        else:
            yield Fail(f"{key.address} has automatic rotation disabled: {describe(key, 'rotation', off_opts[0])}", where(rot, key),
                       fix=set_attr("rotation", True))
    elif unk:
        yield Unresolved(f"cannot tell whether rotation is enabled: {shown(rot)}", where(rot, key))

