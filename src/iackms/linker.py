"""Linking, in one place for every source: what each consumer's key
reference is (a key of the scan, an AWS managed key, a key outside the scan,
nothing, unknown), and which consumers each delivery path reaches.

References are followed only within one root (a Terraform root module, a
template, a plan): two roots are two deployments, and a name in one says
nothing of another. Within a root, a reference links by the resource it
names (``aws_kms_key.k.arn``, ``!GetAtt Key.Arn``, a module output that
returns one) or, for literal names, by a name that identifies one resource
exactly (an alias name; a bucket name, which is global; a topic or queue
ARN of this account). Nothing else is guessed: what cannot be linked stays
unknown, and a rule that needs it says so (IKMS002)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Iterable

from .consumer_table import CFN_FORMS, TF_FORMS, holds, is_aws_managed_alias, table
from .model import (
    CONDITION,
    OPAQUE_OPEN,
    REMOVE,
    THIS_ACCOUNT,
    UNK_CLOSE,
    UNK_OPEN,
    Alias,
    Attr,
    Choice,
    Consumer,
    Delivery,
    Key,
    KeyLookup,
    KeyRef,
    ScanUnit,
    Unknown,
    _pick_key,
    display,
    is_known,
    split_arn,
    switches,
    variants,
)
from .vocab import TF_KEY_TYPES

_UUID = re.compile(r"^(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", re.I)
_PIECE = re.compile(UNK_OPEN + "([^" + UNK_CLOSE + "]*)" + UNK_CLOSE)
#: a Terraform reference inside a string: type.name[index].attribute
_TF_REF = re.compile(r"^(?P<addr>(?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.(?P<attr>[a-z_]+)$")
_CFN_REF = re.compile(r"^(?P<lid>[A-Za-z0-9]+)(?:\.(?P<attr>[A-Za-z0-9.]+))?$")
MAX_VARIANTS = 16


class Index:
    """The resources of a scan by (root, address), and by exact name."""

    def __init__(self, unit: ScanUnit) -> None:
        self.keys: dict[tuple[str, str], Key] = {(k.root, k.address): k for k in unit.keys if k.kind != "policy_only"}
        self.aliases: dict[tuple[str, str], Alias] = {(a.root, a.address): a for a in unit.aliases}
        self.alias_names: dict[tuple[str, str], Alias] = {}
        for a in unit.aliases:
            n = a.attr("name").value
            if isinstance(n, str) and is_known(n):
                self.alias_names.setdefault((a.root, n), a)
        self.lookups: dict[tuple[str, str], KeyLookup] = {(k.root, k.address): k for k in unit.lookups}
        self.consumers: dict[tuple[str, str], list[Consumer]] = {}
        self.names: dict[tuple[str, str, str], list[Consumer]] = {}
        for c in unit.consumers:
            self.consumers.setdefault((c.root, c.address), []).append(c)
            n = c.facts.get("name")
            if n is not None and isinstance(n.value, str) and is_known(n.value):
                self.names.setdefault((c.root, c.resource_type, n.value), []).append(c)
        #: (root, bucket address) -> the consumers that decide its default encryption
        self.bucket_encryption: dict[tuple[str, str], list[Consumer]] = {}
        #: root -> its aws_ebs_default_kms_key consumers (the account's default EBS key)
        self.ebs_defaults: dict[str, list[Consumer]] = {}
        for c in unit.consumers:
            if c.table_id == "ebs-default-kms-key":
                self.ebs_defaults.setdefault(c.root, []).append(c)
        # a plan names instances (`aws_kms_key.k[0]`) where its configuration refers to the block
        for k in unit.keys:
            if "[" in k.address:
                self.keys.setdefault((k.root, _strip_index(k.address)), k)
        for c in unit.consumers:
            if "[" in c.address:
                base = (c.root, _strip_index(c.address))
                if base not in self.consumers or all(x is not c for x in self.consumers[base]):
                    self.consumers.setdefault(base, []).append(c)
        #: keys whose ARN or ID is known (a plan of keys that already exist)
        self.literal_keys: dict[tuple[str, str], Key] = {}
        for k in unit.keys:
            for a in ("arn", "key_id"):
                v = k.attr(a).value
                if isinstance(v, str) and is_known(v):
                    self.literal_keys[(k.root, v)] = k

    def key_of(self, root: str, address: str | None) -> Key | None:
        return self.keys.get((root, address)) if address else None


_INDEX = re.compile(r"\[[^\]]*\]")


def _strip_index(address: str) -> str:
    return _INDEX.sub("", address)


def link(unit: ScanUnit) -> None:
    """Resolve every consumer's key and every delivery path's targets."""
    if not unit.consumers and not unit.deliveries:
        return
    idx = Index(unit)
    _pair_buckets(unit, idx)
    for c in unit.consumers:
        c.refs = refs_of(c, idx)
    for d in unit.deliveries:
        d.targets = targets_of(d, idx)
        for t in d.targets:
            if all(x is not d for x in t.incoming):
                t.incoming.append(d)


# --- S3: a bucket and its separate encryption configuration ----------------------------------


_BUCKET_INLINE = "s3-bucket-inline-sse"
_BUCKET_CONFIG = "s3-bucket-sse-config"


def _pair_buckets(unit: ScanUnit, idx: Index) -> None:
    """A separate ``aws_s3_bucket_server_side_encryption_configuration`` decides
    the default encryption of the bucket it names; the bucket's own (inline)
    setting is then superseded unless written."""
    for c in unit.consumers:
        if c.table_id != _BUCKET_CONFIG or c.source == "cloudformation":
            continue
        b = c.facts.get("bucket")
        if b is None:
            continue
        for bucket in _buckets(b.value, c.root, c.address, idx):
            idx.bucket_encryption.setdefault((bucket.root, bucket.address), []).append(c)
            if not bucket.key_attr.present and not bucket.enable.present:
                bucket.superseded = True


def _buckets(v: Any, root: str, near: str, idx: Index) -> list[Consumer]:
    """The buckets (their inline-encryption consumers) a value names."""
    out: list[Consumer] = []
    for opt in variants(v, MAX_VARIANTS):
        addr = _ref_address(opt, near, "terraform")
        if addr is not None:
            out += [c for c in idx.consumers.get((root, addr), []) if c.table_id == _BUCKET_INLINE]
            continue
        name = _bucket_name(opt)
        if name:
            out += [c for c in idx.names.get((root, "aws_s3_bucket", name), []) if c.table_id == _BUCKET_INLINE]
    return out


def _bucket_name(v: Any) -> str | None:
    if not isinstance(v, str) or not is_known(v):
        return None
    s = v
    if s.startswith("arn:"):
        parts = arn_parts(s)
        if parts is None or parts[2] != "s3":
            return None
        s = parts[5]
    s = s.split("/", 1)[0]
    return s or None


# --- consumers: what the key is ----------------------------------------------------------------


def refs_of(c: Consumer, idx: Index) -> list[KeyRef]:
    """What a consumer's key is, one entry per variant (a condition that
    cannot be decided, a for_each instance). Attributes decided by the same
    condition (``Fn::If [HasKey, aws:kms, AES256]`` beside ``Fn::If [HasKey,
    !Ref Key, !Ref AWS::NoValue]``) vary together, never crosswise."""
    spec = table().consumers.get(c.table_id)
    if spec is None:
        return []
    side = spec.side(c.source)
    if side is None:
        return []
    if c.applies is None:
        paths = ", ".join(x["path"] for w in side.applies_when or () for x in (w.get("all") or [w]))
        return [KeyRef("off", why=f"cannot tell whether this {spec.title} applies ({paths})")]
    absent = _ABSENT
    vals = [c.off.value if c.off.present else absent, c.enable.value if c.enable.present else absent,
            c.key_attr.value if c.key_attr.present else absent]
    out: list[KeyRef] = []
    for kv, when, sel in _branches(vals[2]):
        for off_v, en_v, key_v in joint([vals[0], vals[1], kv]):
            out.extend(_in_branch(r, when, sel) for r in _one_variant(c, spec, side, off_v, en_v, key_v, idx))
    return _dedupe(out)


def _in_branch(r: KeyRef, when: tuple[str, ...], sel: dict) -> KeyRef:
    """A key value of one branch: said so, and a key of the scan whose policy
    or settings depend on the same switches taken in that branch too (a
    statement for the service added by the switch that makes it use the key)."""
    if not sel:
        return r
    key = r.key
    if key is not None and switches([a.value for a in key.attrs.values()] + [key.policy.value]).keys() & sel.keys():
        key = _pick_key(key, sel)
    return replace(r, when=when, key=key)


def _is_branch(ch: Choice) -> bool:
    """A Choice made by following a value into the branch of a switch that is
    off by default (``tf_module.with_branches``, ``cfn_resources._in_branches``):
    on a condition, with no place of its own, named by the switch itself."""
    on = ch.on
    return (on is not None and on.kind == CONDITION and ch.loc is None
            and ch.expr in (on.name, f"Fn::If [{on.name}, ...]"))


def _branches(v: Any, when: tuple[str, ...] = (), sel: dict | None = None) -> list[tuple[Any, tuple[str, ...], dict]]:
    """``v`` split by the switches off by default it was followed into: each
    value with the branch it holds in (``("var.x is true",)``; empty for the
    one the defaults pick) and the key of each of those switches there."""
    sel = sel or {}
    if not (isinstance(v, Choice) and _is_branch(v)):
        return [(v, when, sel)]
    out: list[tuple[Any, tuple[str, ...], dict]] = []
    for o, ks in zip(v.options, v.labels):
        k = "false" if "false" in ks else "true"
        turned = () if k == "false" else (v.on.phrase("true"),)
        out.extend(_branches(o, when + turned, {**sel, v.on: k}))
    return out


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


_ABSENT = _Absent()


def _one_variant(c: Consumer, spec: Any, side: Any, off_v: Any, en_v: Any, key_v: Any, idx: Index) -> list[KeyRef]:
    if off_v is REMOVE:
        off_v = _ABSENT
    if en_v is REMOVE:
        en_v = _ABSENT
    if key_v is REMOVE or key_v is None or (isinstance(key_v, str) and not key_v.strip()):
        # `Fn::If [c, !Ref Key, !Ref AWS::NoValue]`, `c ? key : null`, or "" (the provider's "not set"): no key in that variant
        key_v = _ABSENT
    if side.off is not None and off_v is not _ABSENT:
        h = holds(Attr(off_v, c.off.loc, True), [side.off.equals])
        if h is True:
            return [KeyRef("off", result=side.off.result, flag=c.off)]
        if h is None:
            return [KeyRef("off", why=f"cannot tell whether encryption is off: {c.off_name} = {_shown(c.off)}", flag=c.off)]
    on: bool | None = None
    flag: Attr | None = None
    if side.enable is not None:
        en = side.enable
        if en_v is not _ABSENT:
            flag = c.enable
            on = holds(Attr(en_v, c.enable.loc, True), en.kms_values)
        else:
            d = holds(None, en.kms_values, en.default, True)
            if d is None and key_v is _ABSENT and not _absence_known(spec, side):
                return [KeyRef("off", why=f"{c.enable_name} is not set, and what AWS does then is not documented in the "
                                          f"consumer table (it depends on the engine, the version or an API default)")]
            on = d if d is not None else (None if key_v is not _ABSENT else False)
    if on is False:
        return [KeyRef("off", result=spec.disabled or "unencrypted", flag=flag)]
    if on is None and flag is not None:
        return [KeyRef("off", why=f"cannot tell whether encryption is on: {c.enable_name} = {_shown(c.enable)}", flag=flag)]
    if key_v is _ABSENT:
        if spec.omitted == "not_applicable":
            return [KeyRef("off", result=spec.disabled or "unencrypted", flag=flag)]
        if side.enable is None and c.container_absent and spec.disabled:
            # no flag, and the block that would ask for encryption is not written (Firehose's
            # DeliveryStreamEncryptionConfigurationInput): encryption is off, not on without a key
            return [KeyRef("off", result=spec.disabled)]
        if spec.omitted == "account_default_ebs":
            # the account's default EBS key: the one an aws_ebs_default_kms_key of this root sets
            defaults = idx.ebs_defaults.get(c.root, [])
            if len(defaults) == 1:
                d = defaults[0]
                return [KeyRef(r.kind, r.form, r.key, r.via, r.alias, r.customer, r.result, r.shown,
                               r.why or f"the account's default EBS key ({d.address})", flag)
                        for r in (d.refs or refs_of(d, idx))]
        return [KeyRef("omitted", result=spec.omitted, flag=flag)]
    return [key_ref(key_v, c.root, c.address, c.source, idx)]


def _absence_known(spec: Any, side: Any) -> bool:
    """An enabling flag without a documented default: is what its absence
    means known anyway? Yes when the result says it (SSE-S3 for a bucket
    without a default-encryption configuration; EBS's "unencrypted unless the
    account's default"), or the table's basis for the flag says what absence
    means ("absent: ...")."""
    if spec.disabled in ("sse_s3", "unencrypted_unless_account_default"):
        return True
    return "absent:" in (side.enable.default_basis or "")


def _decision(ch: Choice) -> str | None:
    """What decides a Choice, so that choices decided by the same thing can
    be paired: a CloudFormation condition, a Terraform conditional's
    condition, the instances of one for_each/count block."""
    e = ch.expr or ""
    if e.startswith("Fn::If ["):
        return e.split(",", 1)[0]
    if e.startswith(("each.", "count.index")):
        return f"instances@{ch.loc}"
    if "?" in e and ":" in e:
        return "cond:" + e.split("?", 1)[0].strip()
    return None


def joint(values: list[Any]) -> list[tuple]:
    """Every combination of the values' variants, where top-level choices
    that depend on the same thing move together: the same switch (the
    instances of one block, one condition: :class:`~iackms.model.Switch`),
    option by option for each of its keys; else the same decision read from
    the expression (:func:`_decision`), option by option."""
    groups: dict[Any, list[int]] = {}
    for i, v in enumerate(values):
        if isinstance(v, Choice):
            d: Any = ("on", v.on) if v.on is not None else _decision(v)
            if d is not None:
                groups.setdefault(d, []).append(i)
    combos: list[list[Any]] = [list(values)]
    paired: set[int] = set()
    for d, idxs in groups.items():
        if len(idxs) < 2:
            continue
        chs = [values[i] for i in idxs]
        nxt: list[list[Any]] = []
        if isinstance(d, tuple) and d[0] == "on":
            keys = list(dict.fromkeys(k for ch in chs for k in ch.keys()))
            for c in combos:
                for k in keys:
                    try:
                        picked = [ch.pick(k) for ch in chs]
                    except KeyError:
                        continue
                    cc = list(c)
                    for i, o in zip(idxs, picked):
                        cc[i] = o
                    if cc not in nxt:
                        nxt.append(cc)
        else:
            n = len(chs[0].options)
            if any(len(ch.options) != n for ch in chs):
                continue
            for c in combos:
                for k in range(n):
                    cc = list(c)
                    for i in idxs:
                        cc[i] = values[i].options[k]
                    nxt.append(cc)
        if nxt:
            combos = nxt
            paired |= set(idxs)
    out: list[tuple] = []
    for c in combos:
        parts = [[c[i]] if (i in paired and not isinstance(c[i], Choice)) or c[i] is _ABSENT else variants(c[i], MAX_VARIANTS)
                 for i in range(len(c))]
        acc: list[list[Any]] = [[]]
        for opts in parts:
            acc = [a + [o] for a in acc for o in opts][:MAX_VARIANTS * 4]
        out.extend(tuple(a) for a in acc)
    return out


def _dedupe(refs: list[KeyRef]) -> list[KeyRef]:
    out: list[KeyRef] = []
    seen: set[tuple] = set()
    for r in refs:
        k = (r.kind, r.form, id(r.key), r.alias, r.result, r.shown, r.why, r.when)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


def key_ref(v: Any, root: str, near: str, source: str, idx: Index) -> KeyRef:
    """One value of a key attribute, resolved."""
    shown = _display(v)
    if isinstance(v, Unknown):
        if v.ref is not None:
            return _by_resource(v.ref, v.attr, root, source, idx, shown, v)
        return KeyRef("unknown", shown=shown, why=v.reason or "not known before deployment")
    if not isinstance(v, str):
        return KeyRef("unknown", shown=shown, why="not a string")
    form = form_of(v)
    known = is_known(v) and OPAQUE_OPEN not in v
    if known:
        return _literal(v, form, root, idx, shown)
    # partly known: a piece may name a key of the scan
    for piece in _PIECE.findall(v):
        addr, attr = _piece_ref(piece, near, source)
        if addr is None:
            continue
        k = idx.key_of(root, addr)
        if k is not None:
            return KeyRef("key", form=form, key=k, shown=shown)
        al = idx.aliases.get((root, addr))
        if al is not None and al.target:
            k = idx.key_of(root, al.target)
            if k is not None:
                return KeyRef("key", form=form, key=k, via=al, shown=shown)
    alias = _alias_part(v)
    if alias is not None and is_known(alias) and OPAQUE_OPEN not in alias:
        if is_aws_managed_alias(alias):
            return KeyRef("aws_managed", form=form, alias=alias, shown=shown)
        # an alias of the customer's, named by an ARN whose Region or account is an expression
        parts = arn_parts(v)
        if parts is None or parts[4] == THIS_ACCOUNT:
            al = idx.alias_names.get((root, alias))
            k = idx.key_of(root, al.target) if al is not None else None
            if k is not None:
                return KeyRef("key", form=form, key=k, via=al, alias=alias, shown=shown)
        return KeyRef("external", form=form, alias=alias, customer=True, shown=shown, why="a key outside the scan")
    return KeyRef("unknown", form=form, shown=shown, why="part of it is not known before deployment")


def _by_resource(ref: str, attr: str | None, root: str, source: str, idx: Index, shown: str, v: Unknown) -> KeyRef:
    cfn = source == "cloudformation"
    k = idx.key_of(root, ref)
    if k is not None:
        form = (CFN_FORMS["key"] if cfn else TF_FORMS["key"]).get(attr or "")
        return KeyRef("key", form=form, key=k, shown=shown)
    al = idx.aliases.get((root, ref))
    if al is not None:
        form = (CFN_FORMS["alias"] if cfn else TF_FORMS["alias"]).get(attr or "")
        if attr == "target_key_id" and not cfn:
            form = _written_form(al.attr("target_key_id").value)
        name = al.attr("name").value
        name = name if isinstance(name, str) and is_known(name) else None
        if name is not None and is_aws_managed_alias(name):
            return KeyRef("aws_managed", form=form, alias=name, shown=shown)
        k = idx.key_of(root, al.target)
        if k is not None:
            return KeyRef("key", form=form, key=k, via=al, alias=name, shown=shown)
        return KeyRef("external", form=form, alias=name, customer=True, shown=shown,
                      why=f"the key of {al.address} is not in the scan")
    lk = idx.lookups.get((root, ref))
    if lk is not None:
        form = TF_FORMS.get(lk.resource_type, {}).get(attr or "")
        name = lk.attr("name").value
        if attr in ("key_id", "name"):
            form = _written_form(name)
        if isinstance(name, str) and is_known(name):
            alias = _alias_part(name)
            if alias is not None and is_aws_managed_alias(alias):
                return KeyRef("aws_managed", form=form, alias=alias, shown=shown)
            if alias is not None and not name.startswith("arn:"):
                al = idx.alias_names.get((root, alias))
                k = idx.key_of(root, al.target) if al is not None else None
                if k is not None:
                    return KeyRef("key", form=form, key=k, via=al, alias=alias, shown=shown)
            return KeyRef("external", form=form, alias=alias, customer=True if alias else None, shown=shown,
                          why=f"{lk.address} looks up {display(name)}, a key outside the scan")
        return KeyRef("unknown", form=form, shown=shown, why=f"{lk.address} looks up a key that is not known statically")
    # a KMS resource that is not in this root's model (a Checkov resource seen alone): the form still shows
    parts = ref.split(".")
    rtype = ".".join(parts[-3:-1]) if len(parts) >= 3 and parts[-3] == "data" else parts[-2] if len(parts) >= 2 else ""
    forms = TF_FORMS["key"] if rtype in TF_KEY_TYPES else TF_FORMS["alias"] if rtype == "aws_kms_alias" else TF_FORMS.get(rtype, {})
    if cfn:
        forms = {}
    return KeyRef("unknown", form=forms.get(attr or ""), shown=shown, why=v.reason or f"{ref} is not a KMS key of the scan")


def _literal(v: str, form: str | None, root: str, idx: Index, shown: str) -> KeyRef:
    alias = _alias_part(v)
    if alias is not None and is_aws_managed_alias(alias):
        return KeyRef("aws_managed", form=form, alias=alias, shown=shown)
    if form == "alias_name" and alias is not None:
        al = idx.alias_names.get((root, alias))
        k = idx.key_of(root, al.target) if al is not None else None
        if k is not None:
            return KeyRef("key", form=form, key=k, via=al, alias=alias, shown=shown)
        return KeyRef("external", form=form, alias=alias, customer=True, shown=shown, why="no alias of the scan has this name (a key outside the scan)")
    if form == "alias_arn" and alias is not None:
        return KeyRef("external", form=form, alias=alias, customer=True, shown=shown, why="a key outside the scan")
    if form in ("arn", "id"):
        k = idx.literal_keys.get((root, v))
        if k is not None:
            return KeyRef("key", form=form, key=k, shown=shown)
        return KeyRef("external", form=form, shown=shown, why="a key outside the scan")
    return KeyRef("unknown", form=None, shown=shown, why="not a key ID, key ARN, alias name or alias ARN")


def _written_form(v: Any) -> str | None:
    """The form of a value as written: a reference's attribute, or a literal's shape."""
    if isinstance(v, Unknown):
        parts = (v.ref or "").split(".")
        if len(parts) >= 2 and parts[-2] in TF_KEY_TYPES:
            return TF_FORMS["key"].get(v.attr or "")
        return None
    return form_of(v) if isinstance(v, str) else None


def form_of(v: str) -> str | None:
    """``arn``, ``id``, ``alias_name`` or ``alias_arn`` for a (partly known)
    key reference; None when its known parts do not tell."""
    s = v.strip()
    if s.startswith("arn:"):
        res = arn_resource(s)
        if res is None:
            return None
        if res.startswith("key/"):
            return "arn"
        if res.startswith("alias/"):
            return "alias_arn"
        return None
    if s.startswith("alias/"):
        return "alias_name"
    if _UUID.match(s):
        return "id"
    return None


def arn_parts(v: str) -> list[str] | None:
    """The six parts of a (partly known) ARN, unresolved pieces kept whole;
    None when ``v`` is not an ARN."""
    s = v.strip()
    if not s.startswith("arn:"):
        return None
    parts = split_arn(s)
    return parts if len(parts) == 6 else None


def arn_resource(v: str) -> str | None:
    """The resource part of a (partly known) ARN (what follows the fifth colon)."""
    parts = arn_parts(v)
    return parts[5] if parts else None


def _alias_part(v: str) -> str | None:
    """``alias/x`` from ``alias/x`` or ``arn:...:alias/x``."""
    s = v.strip()
    if s.startswith("alias/"):
        return s
    res = arn_resource(s)
    if res is not None and res.startswith("alias/"):
        return res
    return None


def _piece_ref(piece: str, near: str, source: str) -> tuple[str | None, str | None]:
    """The address a piece of a string refers to (``aws_kms_key.k.key_id`` in
    Terraform, ``Key`` or ``Key.Arn`` in a CloudFormation ``!Sub``), resolved
    in the module of the resource ``near``."""
    if source == "cloudformation":
        m = _CFN_REF.match(piece.strip())
        if m and not piece.startswith("AWS::"):
            return m.group("lid"), m.group("attr") or "Ref"
        return None, None
    m = _TF_REF.match(piece.strip())
    if not m or m.group("addr").split(".", 1)[0] in ("var", "local", "module", "each", "count", "path"):
        return None, None
    return _module_prefix(near) + m.group("addr"), m.group("attr")


def _module_prefix(address: str) -> str:
    """``module.a.module.b.`` of ``module.a.module.b.aws_x.y``."""
    parts = address.split(".")
    out = []
    i = 0
    while i + 1 < len(parts) and parts[i] == "module":
        out += parts[i : i + 2]
        i += 2
    return ".".join(out) + "." if out else ""


def _ref_address(v: Any, near: str, source: str) -> str | None:
    """The address a value refers to: an Unknown's ``ref``, or a piece of a
    partly known string that is a reference (``arn:aws:s3:::${aws_s3_bucket.b.id}``)."""
    if isinstance(v, Unknown):
        return v.ref
    if isinstance(v, str) and UNK_OPEN in v:
        for piece in _PIECE.findall(v):
            addr, _attr = _piece_ref(piece, near, source)
            if addr is not None:
                return addr
    return None


def _display(v: Any) -> str:
    return display(v)


def _shown(a: Attr) -> str:
    if a.expr and not is_known(a.value):
        return " ".join(a.expr.split())[:120]
    return display(a.value)[:120]


# --- delivery paths: where the data goes ------------------------------------------------------


def targets_of(d: Delivery, idx: Index) -> list[Consumer]:
    """The consumers a delivery path's reference reaches (the destination's
    encryption): nothing when the reference cannot be linked."""
    spec = table().paths.get(d.path_id)
    if spec is None:
        return []
    side = spec.side(d.source)
    wanted = set(spec.to)
    if side is not None and side.target_is:
        wanted &= set(side.target_is)
    out: list[Consumer] = []
    for v in variants(d.dest.value, MAX_VARIANTS):
        for c in _reach(v, d, idx, wanted):
            if all(x is not c for x in out):
                out.append(c)
    if "ebs-default-kms-key" in wanted:
        # a launch-template volume encrypted without a key uses the account's default EBS key
        if any(r.kind == "omitted" for c in out for r in c.refs):
            out += [c for c in idx.ebs_defaults.get(d.root, []) if all(x is not c for x in out)]
    return out


def _reach(v: Any, d: Delivery, idx: Index, wanted: set[str]) -> Iterable[Consumer]:
    buckets = bool(wanted & {_BUCKET_INLINE, _BUCKET_CONFIG})
    addr = _ref_address(v, d.address, d.source)
    found: list[Consumer] = []
    if addr is not None:
        found = list(idx.consumers.get((d.root, addr), []))
    elif isinstance(v, str) and UNK_OPEN not in v:
        found = _by_name(v, d, idx, buckets)
    if buckets:
        out: list[Consumer] = []
        for c in found:
            if c.table_id == _BUCKET_INLINE and (c.root, c.address) in idx.bucket_encryption:
                out += idx.bucket_encryption[(c.root, c.address)]
                if c.key_attr.present or c.enable.present:
                    out.append(c)
            elif c.table_id in wanted:
                out.append(c)
        return out
    return [c for c in found if c.table_id in wanted]


_NAMED_TYPES = {
    "sns": ("aws_sns_topic", "AWS::SNS::Topic"),
    "sqs": ("aws_sqs_queue", "AWS::SQS::Queue"),
}


def _by_name(v: str, d: Delivery, idx: Index, buckets: bool) -> list[Consumer]:
    """A literal destination: a bucket name or S3 ARN (bucket names are
    global), or a topic or queue ARN of this account."""
    if buckets:
        name = _bucket_name(v)
        if not name:
            return []
        rtype = "AWS::S3::Bucket" if d.source == "cloudformation" else "aws_s3_bucket"
        return list(idx.names.get((d.root, rtype, name), []))
    parts = arn_parts(v)
    if parts is None or parts[2] not in _NAMED_TYPES or parts[4] != THIS_ACCOUNT:
        return []
    rtype = _NAMED_TYPES[parts[2]][1 if d.source == "cloudformation" else 0]
    return list(idx.names.get((d.root, rtype, parts[5]), []))


__all__ = ["Index", "form_of", "key_ref", "link", "refs_of", "targets_of"]
