"""Rules on a key's own settings: rotation, regions, custom key stores,
deletion, state, imported material, tags, aliases."""

from __future__ import annotations

import re
from typing import Iterator

from ..model import Choice, Key, Unknown, display, is_known
from .base import (
    Fail,
    Result,
    RuleMeta,
    Source,
    Unresolved,
    as_bool,
    as_int,
    as_str,
    check_flag,
    describe,
    is_unknown,
    options,
    rule,
    shown,
    where,
)

CIS = Source("CIS AWS Foundations Benchmark: 3.8 (v1.4–2.0), 3.6 (v3.0+) — rotation for customer-created symmetric CMKs",
             "https://www.cisecurity.org/benchmark/amazon_web_services")
KMS_BP = Source("AWS KMS best practices (AWS Prescriptive Guidance)",
                "https://docs.aws.amazon.com/prescriptive-guidance/latest/aws-kms-best-practices/introduction.html")
ROTATE_DOC = Source("AWS KMS: rotating keys", "https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html")
MRK_DOC = Source("AWS KMS: multi-Region keys", "https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-overview.html")
CKS_DOC = Source("AWS KMS: custom key stores", "https://docs.aws.amazon.com/kms/latest/developerguide/key-store-overview.html")
DELETE_DOC = Source("AWS KMS: deleting keys", "https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys.html")
IMPORT_DOC = Source("AWS KMS: importing key material", "https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html")
NIST_SC_10 = Source("NIST SP 800-171 3.13.10 / CMMC SC.L2-3.13.10 (key management)",
                    "https://csrc.nist.gov/pubs/sp/800/171/r2/upd1/final")
NIST_SC_11 = Source("NIST SP 800-171 3.13.11 / CMMC SC.L2-3.13.11 (FIPS-validated cryptography)",
                    "https://csrc.nist.gov/pubs/sp/800/171/r2/upd1/final")
NIST_CM = Source("NIST SP 800-171 3.4.1 / CMMC CM.L2-3.4.1 (baseline inventory)", "https://csrc.nist.gov/pubs/sp/800/171/r2/upd1/final")
ALIAS_DOC = Source("AWS KMS: aliases", "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html")
SPEC_DOC = Source("AWS KMS: key spec reference", "https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html")

DEFAULT_ON = ("default", "cmmc-l2", "cmmc-l3")
CMMC = ("cmmc-l2", "cmmc-l3")


# --- eligibility for automatic rotation ---------------------------------------


def _ineligible_reason(key: Key) -> tuple[str | None, list[str], list[str]]:
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


@rule(RuleMeta(
    id="IKMS101",
    name="rotation-disabled",
    title="Automatic rotation is off on a key that can rotate",
    severity="medium",
    profiles=("default", "cis", "cmmc-l2", "cmmc-l3"),
    scope="key",
    what=(
        "Checks that automatic key rotation is enabled on every key that AWS can rotate: a symmetric "
        "(`SYMMETRIC_DEFAULT`) `ENCRYPT_DECRYPT` key whose material AWS KMS generated (origin `AWS_KMS`) "
        "and that is not in a custom key store. Replica keys follow their primary and imported (`EXTERNAL`) "
        "keys can only be rotated on demand, so neither is flagged. A string `\"true\"` counts as true."
    ),
    why=(
        "Rotation limits how much data one version of the key material protects and is required by CIS "
        "AWS Foundations. Other scanners flag asymmetric, HMAC, imported and custom-store keys here even "
        "though AWS refuses to rotate them; iackms only asks for what AWS allows."
    ),
    sources=(CIS, ROTATE_DOC, KMS_BP, NIST_SC_10),
    fix_tf="Set `enable_key_rotation = true` on the `aws_kms_key` (optionally `rotation_period_in_days`).",
    fix_cfn="Set `EnableKeyRotation: true` on the `AWS::KMS::Key` (optionally `RotationPeriodInDays`).",
    checkov_ids=("CKV_AWS_7",),
    cfn_nag_ids=("F19",),
    checkov=True,
))
def rotation_disabled(key: Key, cfg) -> Iterator[Result]:
    reason, unknown, partial = _ineligible_reason(key)
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
            yield Fail(f"{key.address} has no automatic rotation ({describe(key, 'rotation')}; the default is off)", key.loc)
        else:
            yield Fail(f"{key.address} has automatic rotation disabled: {describe(key, 'rotation', off_opts[0])}", where(rot, key))
    elif unk:
        yield Unresolved(f"cannot tell whether rotation is enabled: {shown(rot)}", where(rot, key))


@rule(RuleMeta(
    id="IKMS102",
    name="rotation-period-above-max",
    title="The rotation period is longer than the configured maximum",
    severity="low",
    profiles=DEFAULT_ON,
    scope="key",
    what=(
        "When automatic rotation is on, checks that the rotation period (`rotation_period_in_days` / "
        "`RotationPeriodInDays`, 365 days when unset) does not exceed `rotation_max_days` (default 365). "
        "A key with rotation off is IKMS101's concern, not this rule's."
    ),
    why="A cryptoperiod longer than your key-management policy allows leaves more data under one key version.",
    sources=(ROTATE_DOC, Source("NIST SP 800-57 Part 1 (cryptoperiods)", "https://csrc.nist.gov/pubs/sp/800/57/pt1/r5/final"), NIST_SC_10),
    fix_tf="Set `rotation_period_in_days` to at most the configured maximum.",
    fix_cfn="Set `RotationPeriodInDays` to at most the configured maximum.",
    options=("rotation_max_days",),
    checkov=True,
))
def rotation_period_above_max(key: Key, cfg) -> Iterator[Result]:
    reason, unknown, _ = _ineligible_reason(key)
    if reason or unknown:
        return
    rot = key.attr("rotation")
    if not any(as_bool(o) is True for o in options(rot)):
        return
    per = key.attr("rotation_period")
    limit = cfg.rotation_max_days
    for o in options(per):
        days = 365 if o is None else as_int(o)
        if days is None:
            yield Unresolved(f"cannot tell the rotation period: {shown(per)}", where(per, key))
            return
        if days > limit:
            what = describe(key, "rotation_period", days) if per.present else "the default period of 365 days"
            yield Fail(f"{key.address} rotates every {days} days, more than the maximum of {limit} ({what})", where(per, key))
            return


def _spec_usage_origin(key: Key) -> tuple[str | None, str | None, str | None]:
    spec = key.attr("key_spec")
    usage = key.attr("key_usage")
    origin = key.attr("origin")
    s = "SYMMETRIC_DEFAULT" if not spec.present else as_str(spec.value)
    u = "ENCRYPT_DECRYPT" if not usage.present else as_str(usage.value)
    o = "AWS_KMS" if not origin.present else as_str(origin.value)
    return s, u, o


@rule(RuleMeta(
    id="IKMS103",
    name="invalid-key-configuration",
    title="AWS would reject this key configuration at deployment",
    severity="high",
    profiles=DEFAULT_ON,
    scope="key",
    what=(
        "Catches settings that pass `terraform validate` or template validation but fail when applied: "
        "rotation enabled on a key that cannot rotate (asymmetric, HMAC, imported `EXTERNAL` material, "
        "custom key store), a key usage the key spec does not allow (e.g. SIGN_VERIFY on SYMMETRIC_DEFAULT), "
        "a rotation period outside 90–2560 days, a deletion window outside 7–30 days, "
        "`multi_region` together with a custom key store, and an alias under the reserved `alias/aws/` prefix."
    ),
    why="A failed apply in the middle of a change leaves infrastructure half-updated. These mistakes can be caught before any deployment is attempted.",
    sources=(ROTATE_DOC, DELETE_DOC, CKS_DOC, ALIAS_DOC,
             Source("terraform-provider-aws#28780 (rotation on HMAC keys fails at apply)", "https://github.com/hashicorp/terraform-provider-aws/issues/28780")),
    fix_tf="Remove `enable_key_rotation` from keys that cannot rotate; keep periods and windows in range; do not combine `multi_region` with `custom_key_store_id`; choose an alias outside `alias/aws/`.",
    fix_cfn="Remove `EnableKeyRotation` from keys that cannot rotate; keep `RotationPeriodInDays` in 90–2560 and `PendingWindowInDays` in 7–30; choose an `AliasName` outside `alias/aws/`.",
    checkov=True,
))
def invalid_key_configuration(key: Key, cfg) -> Iterator[Result]:
    rot = key.attr("rotation")
    if rot.present and any(as_bool(o) is True for o in options(rot)):
        s, u, o = _spec_usage_origin(key)
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
            yield Fail(f"{key.address} enables automatic rotation but {why}; AWS rejects EnableKeyRotation for such keys", where(rot, key))
    spec, usage = key.attr("key_spec"), key.attr("key_usage")
    if (spec.present or usage.present) and not key.is_replica:
        # unset, the key spec is SYMMETRIC_DEFAULT and the key usage ENCRYPT_DECRYPT (what both Terraform
        # and CloudFormation send)
        s_val = as_str(spec.value) if spec.present else "SYMMETRIC_DEFAULT"
        u_val = as_str(usage.value) if usage.present else "ENCRYPT_DECRYPT"
        allowed = _usages_for(s_val) if s_val else None
        if allowed is not None and u_val and u_val not in allowed:
            said = f"key usage {u_val}" if usage.present else f"no key usage (so {u_val})"
            spec_said = f"key spec {s_val}" if spec.present else f"no key spec (so {s_val})"
            yield Fail(f"{key.address} has {said} with {spec_said}; AWS accepts {', '.join(sorted(allowed))} for that spec",
                       where(usage, key) if usage.present else where(spec, key))
    per = key.attr("rotation_period")
    if per.present:
        for opt in options(per):
            d = as_int(opt)
            if d is not None and not 90 <= d <= 2560:
                yield Fail(f"{key.address} has a rotation period of {d} days ({describe(key, 'rotation_period', d)}); AWS accepts 90 to 2560", where(per, key))
                break
    win = key.attr("deletion_window")
    if win.present:
        for opt in options(win):
            d = as_int(opt)
            if d is not None and not 7 <= d <= 30:
                yield Fail(f"{key.address} has a deletion window of {d} days ({describe(key, 'deletion_window', d)}); AWS accepts 7 to 30", where(win, key))
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


def _usages_for(spec: str) -> set[str] | None:
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


def known_prefix(v) -> str | None:
    """The part of a string value written before anything unresolved."""
    if not isinstance(v, str):
        return None
    return v.split("\ue000", 1)[0].split("\ue003", 1)[0]


@rule(RuleMeta(
    id="IKMS104",
    name="multi-region-key",
    title="The key is a multi-Region key",
    severity="medium",
    profiles=DEFAULT_ON,
    scope="key",
    what="Flags `multi_region = true` / `MultiRegion: true`.",
    why=(
        "Multi-Region keys share key material across Regions: data encrypted in one Region can be decrypted "
        "in another, which can break data-residency rules and widens who can use the material. AWS recommends "
        "single-Region keys unless you need the feature; CMMC guidance keeps CUI keys single-Region."
    ),
    sources=(MRK_DOC, KMS_BP, NIST_SC_10),
    fix_tf="Remove `multi_region = true` (changing it replaces the key), or suppress with a reason when the key must be multi-Region.",
    fix_cfn="Remove `MultiRegion: true` (changing it replaces the key), or suppress with a reason.",
    checkov=True,
))
def multi_region_key(key: Key, cfg) -> Iterator[Result]:
    yield from check_flag(key, "multi_region", True, "is a multi-Region key", "whether the key is multi-Region")


@rule(RuleMeta(
    id="IKMS105",
    name="replica-key",
    title="A replica of a multi-Region key is created",
    severity="medium",
    profiles=DEFAULT_ON,
    scope="key",
    what="Flags `aws_kms_replica_key`, `aws_kms_replica_external_key` and `AWS::KMS::ReplicaKey`.",
    why="A replica copies the key material into another Region; make sure each replication is intended and allowed by your data-residency rules.",
    sources=(MRK_DOC, KMS_BP),
    fix_tf="Remove the replica, or suppress with a reason naming the approved Region.",
    fix_cfn="Remove the `AWS::KMS::ReplicaKey`, or suppress with a reason naming the approved Region.",
    checkov=True,
))
def replica_key(key: Key, cfg) -> Iterator[Result]:
    if key.is_replica:
        yield Fail(f"{key.address} replicates a multi-Region key into another Region", key.loc)


@rule(RuleMeta(
    id="IKMS106",
    name="custom-key-store-required",
    title="The key is not in a CloudHSM custom key store",
    severity="high",
    profiles=("cmmc-l3",),
    scope="key",
    what=(
        "Requires every key to live in a custom key store of an allowed type (`custom_key_store_types`, "
        "default `AWS_CLOUDHSM`). CloudFormation's `AWS::KMS::Key` cannot create keys in a custom key "
        "store, so CloudFormation keys are reported with that explanation."
    ),
    why="CMMC level 3 programmes often require key material in a single-tenant, FIPS 140 validated HSM under your control.",
    sources=(CKS_DOC, NIST_SC_11),
    fix_tf="Create the key with `custom_key_store_id = aws_kms_custom_key_store.hsm.id` (an AWS_CLOUDHSM store).",
    fix_cfn="AWS::KMS::Key has no custom key store property: create the key in Terraform, the API or the console, or suppress with a reason.",
    options=("custom_key_store_types",),
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


@rule(RuleMeta(
    id="IKMS107",
    name="deletion-window-below-min",
    title="The deletion waiting period is shorter than the configured minimum",
    severity="low",
    profiles=DEFAULT_ON,
    scope="key",
    what=(
        "Checks `deletion_window_in_days` / `PendingWindowInDays` against `deletion_window_min_days` "
        "(default 30). An unset window passes: AWS then waits 30 days."
    ),
    why="The waiting period is the only way back from an accidental or malicious ScheduleKeyDeletion; data encrypted under a deleted key is lost.",
    sources=(DELETE_DOC, KMS_BP),
    fix_tf="Set `deletion_window_in_days = 30` (or remove it).",
    fix_cfn="Set `PendingWindowInDays: 30` (or remove it).",
    options=("deletion_window_min_days",),
    checkov=True,
))
def deletion_window_below_min(key: Key, cfg) -> Iterator[Result]:
    win = key.attr("deletion_window")
    if not win.present:
        return
    for o in options(win):
        d = as_int(o)
        if d is None:
            yield Unresolved(f"cannot tell the deletion window: {shown(win)}", where(win, key))
            return
        if d < cfg.deletion_window_min_days:
            yield Fail(f"{key.address} has a deletion window of {d} days, below the minimum of {cfg.deletion_window_min_days} ({describe(key, 'deletion_window', d)})", where(win, key))
            return


@rule(RuleMeta(
    id="IKMS108",
    name="key-disabled",
    title="The key is created disabled",
    severity="low",
    profiles=DEFAULT_ON,
    scope="key",
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


@rule(RuleMeta(
    id="IKMS109",
    name="imported-key-material",
    title="The key uses imported key material",
    severity="medium",
    profiles=DEFAULT_ON,
    scope="key",
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


@rule(RuleMeta(
    id="IKMS110",
    name="required-tags",
    title="The key lacks a required tag",
    severity="low",
    profiles=CMMC,
    scope="key",
    what="Checks that the key carries every tag in `required_tags` (in the cmmc and strict profiles: `DataClassification`, `Environment`, `Owner`).",
    why="Tags tie a key to its owner and the data it protects, which inventories and access reviews depend on (and ABAC policies may use).",
    sources=(NIST_CM, Source("AWS KMS: tagging keys", "https://docs.aws.amazon.com/kms/latest/developerguide/tagging-keys.html")),
    fix_tf='Add the tags: `tags = { DataClassification = "cui", Environment = "prod", Owner = "team@example.com" }`.',
    fix_cfn="Add the tags under `Tags:` as `- Key: Owner` / `Value: team@example.com`.",
    options=("required_tags",),
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


@rule(RuleMeta(
    id="IKMS111",
    name="alias-naming",
    title="An alias of the key does not follow the naming pattern",
    severity="low",
    profiles=CMMC,
    scope="key",
    what=(
        "Checks each alias that targets the key against `alias_pattern` (cmmc and strict profiles: "
        "`^alias/cmmc-`). A key without any alias is flagged only when `require_alias` is true."
    ),
    why="A naming convention makes keys recognisable in logs, policies and audits, and lets IAM policies scope by alias.",
    sources=(ALIAS_DOC, KMS_BP),
    fix_tf='Name the alias after the pattern: `name = "alias/cmmc-payments"`.',
    fix_cfn="Name the alias after the pattern: `AliasName: alias/cmmc-payments`.",
    options=("alias_pattern", "require_alias"),
))
def alias_naming(key: Key, cfg) -> Iterator[Result]:
    pat = cfg.alias_regex()
    if not key.aliases:
        if cfg.require_alias:
            yield Fail(f"{key.address} has no alias", key.loc)
        return
    if not pat:
        return
    rx = re.compile(pat)
    for alias in key.aliases:
        attr = alias.attr("name") if alias.attr("name").present else alias.attr("name_prefix")
        if not attr.present:
            continue
        for o in options(attr):
            if isinstance(o, str) and is_known(o):
                if not rx.search(o):
                    yield Fail(f"alias '{o}' of {key.address} does not match {pat}", attr.loc or alias.loc, ident=o)
                    break
                continue
            prefix = known_prefix(o)
            if prefix and rx.match(prefix):
                continue  # the part that is written already satisfies the pattern
            yield Unresolved(f"cannot tell the alias name of {alias.address}: {shown(attr)}", attr.loc or alias.loc)
            break


@rule(RuleMeta(
    id="IKMS112",
    name="key-material-in-source",
    title="Key material or a key store secret is written in the code",
    severity="critical",
    profiles=DEFAULT_ON,
    scope="key",
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
def key_material_in_source(key: Key, cfg) -> Iterator[Result]:
    km = key.attr("key_material")
    if km.present and _literal_secret(km.value):
        yield Fail(f"{key.address} has its key material (key_material_base64) written in the code", where(km, key), ident="key_material_base64")
    # the custom key store's own secrets are reported once, on the store


def store_secrets(store) -> Iterator[Result]:
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


@rule(RuleMeta(
    id="IKMS113",
    name="deletion-protection",
    title="Nothing protects the key from being destroyed with its stack",
    severity="low",
    profiles=(),
    scope="key",
    what="Requires `lifecycle { prevent_destroy = true }` in Terraform and `DeletionPolicy: Retain` in CloudFormation.",
    why="Destroying a stack or removing a resource block schedules the key for deletion; everything encrypted with it becomes unreadable once the window ends.",
    sources=(DELETE_DOC, KMS_BP, Source("cfn-lint I3011 (retention on stateful resources)", "https://github.com/aws-cloudformation/cfn-lint/blob/main/docs/rules.md")),
    fix_tf="Add `lifecycle { prevent_destroy = true }` to the key.",
    fix_cfn="Add `DeletionPolicy: Retain` and `UpdateReplacePolicy: Retain` to the key resource.",
    checkov=True,
))
def deletion_protection(key: Key, cfg) -> Iterator[Result]:
    dp = key.attr("deletion_protection")
    cfn = key.source == "cloudformation"
    want = "DeletionPolicy: Retain" if cfn else "lifecycle { prevent_destroy = true }"
    if not dp.present:
        yield Fail(f"{key.address} has no deletion protection (add {want})", key.loc)
        return
    vals = options(dp)
    if any(as_bool(o) is False or o is False for o in vals):
        written = f"DeletionPolicy: {dp.expr}" if cfn else f"prevent_destroy = {dp.expr or 'false'}"
        yield Fail(f"{key.address} has no deletion protection ({written}; use {want})", where(dp, key))
    elif any(as_bool(o) is None and not isinstance(o, bool) for o in vals):
        yield Unresolved(f"cannot tell whether the key is protected from deletion: {shown(dp)}", where(dp, key))


@rule(RuleMeta(
    id="IKMS114",
    name="weak-rsa-encryption-key",
    title="An RSA encryption key uses 2048-bit keys",
    severity="low",
    profiles=(),
    scope="key",
    what="Flags `RSA_2048` key specs with `ENCRYPT_DECRYPT` usage.",
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
