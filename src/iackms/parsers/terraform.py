"""The Terraform parser: module directories to KMS keys, aliases, grants and
custom key stores in the common model.

Public entry point: :func:`parse_modules`. Expressions are evaluated
statically (see :mod:`.tf_scope` and :mod:`.tf_expr`); what cannot be known
stays Unknown."""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import jsonload
from ..context import ScanContext
from ..model import (
    UNK_CLOSE,
    UNK_OPEN,
    Alias,
    Attr,
    Choice,
    CustomKeyStore,
    Grant,
    Key,
    LDict,
    Location,
    Note,
    Policy,
    RemoteModule,
    ScanUnit,
    Unknown,
)
from ..policy import build_policies
from ..vocab import TF_KEY_ATTRS as _KEY_ATTRS
from ..vocab import TF_KEY_TYPES as KEY_TYPES
from ..vocab import TF_KMS_TYPES, TF_PRINCIPAL_TYPES
from ..vocab import tf_enabled_argument as enabled_argument
from . import tf_consumers
from .tf_aws import principal_arn
from .tf_hcl import Block, suppressions_in
from .tf_module import Loader, branch_of, instance_absent, instantiate, root_scope, with_branches
from .tf_policydoc import expand_blocks
from .tf_prescan import Prescan
from .tf_scope import Scope
from .tf_values import DocDict, LStr, is_err, relocate, source_lines, to_bool, to_number

_STORE_ATTRS = (
    "custom_key_store_name",
    "custom_key_store_type",
    "key_store_password",
    "cloud_hsm_cluster_id",
    "trust_anchor_certificate",
    "xks_proxy_connectivity",
    "xks_proxy_uri_endpoint",
    "xks_proxy_uri_path",
    "xks_proxy_vpc_endpoint_service_name",
)
_GRANT_ATTRS = ("grantee_principal", "retiring_principal", "operations", "name", "key_id", "grant_creation_tokens", "retire_on_delete")


def parse_modules(module_dirs: list[Path], ctx: ScanContext) -> ScanUnit:
    """Parse the Terraform module directories found by a scan. A directory
    called as a local module by another one is evaluated only through its
    callers. Never raises: problems become notes."""
    unit = ScanUnit()
    loader = Loader(ctx, unit.notes)
    dirs: list[Path] = []
    seen: set[Path] = set()
    pre = Prescan(ctx)
    for d in module_dirs:
        p = Path(os.path.normpath(os.path.abspath(str(d))))
        if p in seen:
            continue
        seen.add(p)
        try:
            relevant = pre.has_kms(p)
        except Exception:  # noqa: BLE001 - when in doubt, parse
            relevant = True
        if relevant:
            dirs.append(p)
        else:  # no KMS resource here or in its local modules: not parsed at all
            for n in pre.skipped_notes(p):
                loader.note(n)
            pre.forget(p)
    # who calls whom, from the bytes: parsing every directory up front would
    # keep every syntax tree alive at once
    called: set[Path] = set()
    calls: dict[Path, list[Path]] = {}
    for d in dirs:
        try:
            calls[d] = [t for t in pre.local_calls(d) if t != d]
        except Exception:  # noqa: BLE001
            calls[d] = []
        called.update(t for t in calls[d] if t in seen)
    roots = [d for d in dirs if d not in called]
    reached: set[Path] = set()
    for d in roots:
        _eval_root(d, loader, ctx, unit, reached)
        loader.trim()  # memory stays bounded by a few module trees
    reached |= _reach(roots, calls, pre)
    for d in dirs:  # directories that only call each other
        if d not in reached:
            _eval_root(d, loader, ctx, unit, reached)
            loader.trim()
    unit.notes, unit.remote_modules = _remote_calls(unit.notes)
    return unit


_REMOTE = re.compile(r"^module (\S+) uses remote source '(.*)'; its keys are not scanned$")


def _remote_calls(notes: list[Note]) -> tuple[list[Note], list[RemoteModule]]:
    """Remote module calls are not findings: they go to the report's summary
    (one line: how many remote modules were not scanned, and which)."""
    out: list[Note] = []
    remote: list[RemoteModule] = []
    seen: set[tuple] = set()
    for n in notes:
        m = _REMOTE.match(n.message) if n.rule_id == "IKMS002" else None
        if not m:
            out.append(n)
            continue
        k = (m.group(2), n.loc.file, n.loc.line)
        if k not in seen:
            seen.add(k)
            remote.append(RemoteModule(m.group(2), m.group(1), n.loc))
    return out, remote


def _reach(roots: list[Path], calls: dict[Path, list[Path]], pre: Prescan) -> set[Path]:
    """Directories reachable from ``roots`` through local module sources."""
    seen: set[Path] = set()
    todo = list(roots)
    while todo:
        d = todo.pop()
        if d in seen:
            continue
        seen.add(d)
        nxt = calls.get(d)
        if nxt is None:
            try:
                nxt = pre.local_calls(d) if d.is_dir() else []
            except Exception:  # noqa: BLE001
                nxt = []
        todo.extend(t for t in nxt if t not in seen)
    return seen


def _internal(unit: ScanUnit, ctx: ScanContext, d: Path, e: BaseException, loc: Location | None = None) -> None:
    where = "".join(traceback.format_exception_only(type(e), e)).strip()
    unit.notes.append(Note("IKMS001", f"internal error while reading the Terraform in {ctx.rel(d)}: {where}", loc or Location(ctx.rel(d), 1, 1, 1)))


def _eval_root(d: Path, loader: Loader, ctx: ScanContext, unit: ScanUnit, reached: set[Path]) -> None:
    try:
        mod = loader.load(d)
        if mod is None:
            return
        if not loader.has_kms(d):
            reached.add(d)
            return
        root = root_scope(mod, loader, d)
        scopes = instantiate(root, loader)
        for s in scopes:
            reached.add(s.mod.dir)
        _extract(scopes, unit, ctx)
        for s in scopes:
            for n in s.notes:
                loader.note(n)
    except RecursionError as e:
        _internal(unit, ctx, d, e)
    except Exception as e:  # noqa: BLE001
        _internal(unit, ctx, d, e)


# --- extraction ------------------------------------------------------------------------


_BOOLS = {"enable_key_rotation", "is_enabled", "enabled", "multi_region", "bypass_policy_lockout_safety_check", "prevent_destroy", "retire_on_delete"}
_NUMBERS = {"deletion_window_in_days", "rotation_period_in_days"}


def _attrs(scope: Scope, blk: Block, names: Any) -> dict[str, Attr]:
    """The arguments written in ``blk``: ``names`` is a tuple of argument names,
    or a mapping from argument name to the model's attribute name."""
    pairs = names.items() if isinstance(names, dict) else ((n, n) for n in names)
    out: dict[str, Attr] = {}
    for tf_name, norm in pairs:
        a = _attr(scope, blk, tf_name)
        if a is not None:
            out[norm] = a
    return out


def _attr(scope: Scope, blk: Block, tf_name: str) -> Attr | None:
    a = blk.attrs.get(tf_name)
    if a is None:
        return None
    v = scope.ev.attr(a, dict(scope.instance_env(blk)))
    if v is None:
        return None  # null: the argument is not set
    if tf_name in _BOOLS:
        v = _convert(v, to_bool)
    elif tf_name in _NUMBERS:
        v = _convert(v, to_number)
    # written elsewhere (a module argument, tfvars, a default): findings are reported there
    return Attr(v, a.loc, True, a.text(), scope.origin(a))


def _policy_attr(scope: Scope, blk: Block) -> Attr | None:
    """The ``policy`` argument, with its value in every branch of the boolean
    root variables with a default it depends on (a statement that exists only
    when ``var.public_read`` is turned on is judged in that branch)."""
    a = blk.attrs.get("policy")
    if a is None:
        return None
    v = with_branches(scope, blk, lambda t: t.ev.attr(a, dict(t.instance_env(blk))), _same)
    if v is None:
        return None
    return Attr(v, a.loc, True, a.text(), scope.origin(a))


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - values that do not compare are different
        return False


def _convert(v: Any, fn: Any) -> Any:
    """Terraform converts "true" / "30" to the argument's type."""
    if isinstance(v, Choice):
        return replace(v, options=tuple(_convert(o, fn) for o in v.options))
    if isinstance(v, str):
        c = fn(v)
        return v if c is None else c
    return v


def _ref(v: Any) -> str | None:
    """The address of the resource ``v`` refers to, if any."""
    return v.ref if isinstance(v, Unknown) else None


class _Pending:
    def __init__(self) -> None:
        self.keys: list[tuple[Key, Scope, Block]] = []
        self.key_policies: list[tuple[str | None, Attr | None, Attr | None, Block, Scope, str]] = []
        #: addresses of every key block, with or without instances
        self.key_blocks: set[str] = set()
        self.sources: dict[str, str] = {}
        self.principals: list[tuple[Scope, str, str, Block]] = []


def _extract(scopes: list[Scope], unit: ScanUnit, ctx: ScanContext) -> None:
    pend = _Pending()
    keys: dict[str, Key] = {}
    stores: dict[str, CustomKeyStore] = {}
    aliases: list[Alias] = []
    grants: list[Grant] = []
    principals: set[str] = set()
    consumer_types = tf_consumers.relevant_types()
    for s in scopes:
        dups = [((b.labels[0], b.labels[1]), b) for b in s.mod.duplicates]
        for (rtype, rname), blk in [*s.mod.resources.items(), *dups]:
            try:
                if rtype in consumer_types:
                    _consumers(s, rtype, rname, blk, unit)
                _one(s, rtype, rname, blk, pend, keys, stores, aliases, grants, principals)
            except Exception as e:  # noqa: BLE001
                _internal(unit, ctx, s.mod.dir, e, blk.loc)
        for (dtype, dname), blk in s.mod.data.items():
            try:
                kl = tf_consumers.lookup(s, dtype, dname, blk, _identity(s)["root"])
                if kl is not None:
                    unit.lookups.append(kl)
            except Exception as e:  # noqa: BLE001
                _internal(unit, ctx, s.mod.dir, e, blk.loc)
        for n in s.mod.notes:
            unit.notes.append(n)
    if keys:
        for s, rtype, rname, blk in pend.principals:
            try:
                if not instance_absent(blk, s):
                    principals.add(f"{s.prefix}{rtype}.{rname}")
                    principals.add(principal_arn(s, rtype, rname))
            except Exception as e:  # noqa: BLE001
                _internal(unit, ctx, s.mod.dir, e, blk.loc)
    # aws_kms_key_policy wins over the inline policy
    inline = {a: k.policy for a, k in keys.items() if k.policy.present}
    for target, pol, bypass, blk, s, addr in pend.key_policies:
        pol = _own_policy(pol, inline)
        al = next((a for a in aliases if a.address == target), None) if target else None
        if al is not None:  # key_id = aws_kms_alias.x.target_key_id
            target = al.target
        key = keys.get(target or "")
        if key is None:
            if target in pend.key_blocks or target == _BROKEN or pol is None or (isinstance(pol.value, str) and pol.value.strip() == ""):
                continue  # the policy of a key with no instances; no policy written
            try:
                key = _policy_only_key(s, addr, blk, pol, bypass)
            except Exception as e:  # noqa: BLE001
                _internal(unit, ctx, s.mod.dir, e, blk.loc)
                continue
            keys[addr] = key
            pend.keys.append((key, s, blk))
            pend.sources[addr] = "aws_kms_key_policy"
            continue
        if pol is not None and not (isinstance(pol.value, str) and pol.value.strip() == ""):
            key.policy = pol
            key.policies = []
            pend.sources[key.address] = "aws_kms_key_policy"
        if bypass is not None:
            key.attrs["bypass_lockout"] = bypass
    for key, s, blk in pend.keys:
        try:
            _finish_key(key, stores, pend.sources.get(key.address, "inline"))
        except Exception as e:  # noqa: BLE001
            _internal(unit, ctx, s.mod.dir, e, blk.loc)
        key.local_principals = set(principals)
    for al in aliases:
        if al.target in keys:
            keys[al.target].aliases.append(al)
    for g in grants:
        if g.target in keys:
            keys[g.target].grants.append(g)
    # every key block, also a second one with an address already taken (IKMS001 says both are checked)
    seen_keys: set[int] = set()
    for key, _s, _b in pend.keys:
        if id(key) not in seen_keys:
            seen_keys.add(id(key))
            unit.keys.append(key)
    unit.aliases.extend(aliases)
    unit.grants.extend(grants)
    unit.stores.extend(stores.values())


def _consumers(s: Scope, rtype: str, rname: str, blk: Block, unit: ScanUnit) -> None:
    """A resource of the consumer table: its key attributes and delivery paths."""
    if instance_absent(blk, s):
        return
    cs, ds = tf_consumers.extract(s, rtype, f"{s.prefix}{rtype}.{rname}", blk, _identity(s))
    unit.consumers.extend(cs)
    unit.deliveries.extend(ds)


def _one(
    s: Scope,
    rtype: str,
    rname: str,
    blk: Block,
    pend: _Pending,
    keys: dict[str, Key],
    stores: dict[str, CustomKeyStore],
    aliases: list[Alias],
    grants: list[Grant],
    principals: set[str],
) -> None:
    addr = f"{s.prefix}{rtype}.{rname}"
    if rtype in TF_PRINCIPAL_TYPES:
        pend.principals.append((s, rtype, rname, blk))
        return
    if rtype not in TF_KMS_TYPES:
        return
    if rtype in KEY_TYPES:
        pend.key_blocks.add(addr)
    if instance_absent(blk, s):
        # off by default (count = var.create_x ? 1 : 0): checked as the
        # branch in which it exists; else never deployed
        br = branch_of(s, blk)
        if br is None:
            return
        s = br
    if rtype in KEY_TYPES:
        key = _key(s, rtype, addr, blk)
        keys[addr] = key
        pend.keys.append((key, s, blk))
    elif rtype == "aws_kms_alias":
        al = Alias(addr, rtype, blk.loc, "terraform", suppressions=suppressions_in(blk), exists_when=s.exists_when, opened=s.opened, **_identity(s))
        al.attrs.update(_attrs(s, blk, ("name", "name_prefix", "target_key_id")))
        al.target = _ref(al.attrs["target_key_id"].value) if "target_key_id" in al.attrs else None
        aliases.append(al)
    elif rtype == "aws_kms_grant":
        g = Grant(addr, rtype, blk.loc, "terraform", suppressions=suppressions_in(blk), exists_when=s.exists_when, opened=s.opened, **_identity(s))
        g.attrs.update(_attrs(s, blk, _GRANT_ATTRS))
        cons = expand_blocks(blk, "constraints", s.ev, {})
        if cons:
            vals: list[Any] = []
            for it in cons:
                if not isinstance(it, tuple):
                    vals.append(it)
                    continue
                cb, cenv = it
                d: dict[str, Any] = {}
                for an, a in cb.attrs.items():
                    d[an] = s.ev.attr(a, cenv)
                vals.append(d)
            first = next((it[0] for it in cons if isinstance(it, tuple)), blk)
            g.attrs["constraints"] = Attr(vals, first.loc, True, "constraints")
        g.target = _ref(g.attrs["key_id"].value) if "key_id" in g.attrs else None
        grants.append(g)
    elif rtype == "aws_kms_custom_key_store":
        st = CustomKeyStore(addr, rtype, blk.loc, "terraform", suppressions=suppressions_in(blk), exists_when=s.exists_when, opened=s.opened, **_identity(s))
        st.attrs.update(_attrs(s, blk, _STORE_ATTRS))
        if "custom_key_store_type" not in st.attrs:
            st.attrs["custom_key_store_type"] = Attr("AWS_CLOUDHSM", blk.loc, False, "")
        creds = blk.get_blocks("xks_proxy_authentication_credential")
        if creds:
            cb = creds[0]
            st.attrs["xks_proxy_authentication_credential"] = Attr({an: s.ev.attr(a, {}) for an, a in cb.attrs.items()}, cb.loc, True, "xks_proxy_authentication_credential")
        stores[addr] = st
    elif rtype == "aws_kms_key_policy":
        kid = _attr(s, blk, "key_id")
        target = _ref(kid.value) if kid is not None else None
        if kid is not None and is_err(kid.value):
            target = _BROKEN  # e.g. an instance of a key with no instances: Terraform rejects it
        pend.key_policies.append((target, _policy_attr(s, blk), _attr(s, blk, "bypass_policy_lockout_safety_check"), blk, s, addr))


_BROKEN = "\0error"


def _own_policy(pol: Attr | None, inline: dict[str, Attr]) -> Attr | None:
    """``policy = aws_kms_key.k.policy`` (a policy attached after the key is
    created, copied from the key's own argument) is that policy as written."""
    if pol is None or not isinstance(pol.value, Unknown):
        return pol
    target = _ref(pol.value)
    if target is None or not pol.value.expr.strip().endswith(".policy") or target not in inline:
        return pol
    own = inline[target]
    return Attr(own.value, own.loc, True, own.expr, own.origin)


def _identity(s: Scope) -> dict[str, Any]:
    """A resource's root module (its identity with the address) and the
    module blocks that instantiate it."""
    return {"root": s.ctx.rel(s.root_dir), "calls": s.calls}


def _policy_only_key(s: Scope, addr: str, blk: Block, pol: Attr | None, bypass: Attr | None) -> Key:
    """An ``aws_kms_key_policy`` whose key is not in the scan (a data source,
    a literal ARN, an unresolved expression): a key of kind ``policy_only``
    that carries only the policy, so the key-policy rules still judge it."""
    key = Key(addr, "aws_kms_key_policy", blk.loc, "terraform", kind="policy_only", suppressions=suppressions_in(blk), exists_when=s.exists_when, opened=s.opened, **_identity(s))
    if pol is not None:
        key.policy = pol
    if bypass is not None:
        key.attrs["bypass_lockout"] = bypass
    return key


def _key(s: Scope, rtype: str, addr: str, blk: Block) -> Key:
    kind = KEY_TYPES[rtype]
    key = Key(addr, rtype, blk.loc, "terraform", kind=kind, suppressions=suppressions_in(blk), exists_when=s.exists_when, opened=s.opened, **_identity(s))
    key.attrs.update(_attrs(s, blk, _KEY_ATTRS))
    en = _attr(s, blk, enabled_argument(rtype))
    if en is not None:
        key.attrs["enabled"] = en
    if kind in ("external", "replica_external"):
        key.attrs["origin"] = Attr("EXTERNAL", blk.loc, True, "")
    for lc in blk.get_blocks("lifecycle"):
        pd = _attr(s, lc, "prevent_destroy")
        if pd is not None:
            key.attrs["deletion_protection"] = pd
    _default_tags(s, blk, key)
    _region(s, blk, key)
    pol = _policy_attr(s, blk)
    if pol is not None and not (isinstance(pol.value, str) and pol.value.strip() == ""):
        key.policy = pol  # "" is the provider's "not set": the default key policy
    return key


def _provider_block(s: Scope, blk: Block) -> tuple[Scope, Block] | None:
    """The ``provider "aws"`` block a resource uses (its ``provider`` argument,
    else the default configuration), None for another provider or when not found."""
    alias = ""
    if "provider" in blk.attrs:
        t = blk.attrs["provider"].text().strip().strip('"')
        if not t.startswith("aws"):
            return None
        alias = t[4:] if t.startswith("aws.") else ""
    return s.provider(alias)


def _region(s: Scope, blk: Block, key: Key) -> None:
    """The key's Region when its provider names it (``region`` of the provider
    block; a resource-level ``region`` argument of provider v6 wins)."""
    own = _attr(s, blk, "region")
    if own is not None:
        key.attrs["region"] = own
        return
    found = _provider_block(s, blk)
    if found is None:
        return
    pscope, pblk = found
    a = pblk.attrs.get("region")
    if a is None:
        return
    v = pscope.ev.attr(a, {})
    if v is not None:
        key.attrs["region"] = Attr(v, a.loc, True, a.text())


def _default_tags(s: Scope, blk: Block, key: Key) -> None:
    """The provider's ``default_tags`` are on the deployed key too
    (``tags_all``); the key's own tags win."""
    alias = ""
    if "provider" in blk.attrs:
        t = blk.attrs["provider"].text().strip().strip('"')
        if not t.startswith("aws"):
            return
        alias = t[4:] if t.startswith("aws.") else ""
    found = s.provider(alias)
    if found is None:
        return
    pscope, pblk = found
    dts = pblk.get_blocks("default_tags")
    if not dts or "tags" not in dts[0].attrs:
        return
    ta = dts[0].attrs["tags"]
    dv = pscope.ev.attr(ta, {})
    if dv is None:
        return
    own = key.attrs.get("tags")
    if own is None:
        key.attrs["tags"] = Attr(dv, ta.loc, True, ta.text())
        return
    if isinstance(dv, dict) and isinstance(own.value, dict):
        merged = LDict(dv, loc=getattr(own.value, "loc", None))
        merged.update(own.value)
        own.value = merged
    else:
        own.value = Unknown(f"merge(default_tags, {own.expr})")


def _finish_key(key: Key, stores: dict[str, CustomKeyStore], default_source: str) -> None:
    cks = key.attrs.get("custom_key_store_id")
    if cks is not None and key.kind == "key":
        key.attrs["origin"] = Attr(_store_origin(key, cks.value, stores, cks.expr or "custom_key_store_id"), cks.loc, True, cks.expr)
    if key.policy.present:
        v = key.policy.value
        source = _policy_source(v, default_source)
        key.policies = _build(v, key.policy.loc or key.loc, source)


def _store_origin(key: Key, v: Any, stores: dict[str, CustomKeyStore], expr: str) -> Any:
    """The key's origin from its custom key store (``AWS_CLOUDHSM``,
    ``EXTERNAL_KEY_STORE``, Unknown when the store is not in the scan), per
    option when the store is chosen by a switch (null: no store, no origin);
    links the key to the store."""
    if isinstance(v, Choice):
        return replace(v, options=tuple(_store_origin(key, o, stores, expr) for o in v.options))
    if v is None:
        return None
    store = stores.get(_ref(v) or "")
    if store is None:
        return Unknown(expr)
    key.custom_key_store = store
    t = store.attrs["custom_key_store_type"].value
    return t if t in ("AWS_CLOUDHSM", "EXTERNAL_KEY_STORE") else Unknown(expr)


def _build(v: Any, loc: Location, source: str) -> list[Policy]:
    """The policies of a policy value, located where each statement is
    written (a heredoc with directives is mapped back to its source lines)."""
    if isinstance(v, Choice) and any(getattr(o, "line_map", None) for o in v.options):
        out: list[Policy] = []
        for o, ks in zip(v.options, v.labels or [()] * len(v.options)):
            for p in _build(o, loc, source):
                if v.on is not None:  # this option's keys of the switch, on top of its own
                    p.when = [{**w, v.on: ks} for w in (p.when or [{}])]
                out.append(p)
        return out
    pols = build_policies(_prepare(v), loc, source)
    fn = source_lines(v)
    if fn is not None:
        seen: set[int] = set()
        for p in pols:
            p.loc = fn(p.loc)
            p.errors = [(m, fn(el)) for m, el in p.errors]
            for st in p.statements:
                st.loc = fn(st.loc)
            relocate(p.raw, fn, None, seen)
    return pols


def _policy_source(v: Any, default: str) -> str:
    first = v.options[0] if isinstance(v, Choice) and v.options else v
    if isinstance(first, DocDict):
        return "policy_document"
    if isinstance(first, LStr) and first.origin == "file":
        return "file"
    return default


_TOKEN = "\ue005"


def _prepare(v: Any) -> Any:
    """Policy JSON text with unresolved pieces outside JSON strings (``"a":
    ${var.x}``) cannot be parsed; such pieces become Unknown values."""
    if isinstance(v, Choice):
        return replace(v, options=tuple(_prepare(o) for o in v.options))
    if not isinstance(v, str) or UNK_OPEN not in v:
        return v
    loc = getattr(v, "loc", None)
    lo = loc.line - 1 if loc is not None else 0
    file = loc.file if loc is not None else ""
    try:
        jsonload.loads_plain(v)
        return v
    except jsonload.JsonError:
        pass
    fixed, exprs = _quote_pieces(v)
    if not exprs:
        return v
    try:
        raw = jsonload.load(fixed, file, lo)
    except jsonload.JsonError:
        return v
    return _unquote(raw, exprs)


def _quote_pieces(s: str) -> tuple[str, dict[str, str]]:
    out: list[str] = []
    exprs: dict[str, str] = {}
    in_str = False
    esc = False
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if in_str:
            out.append(c)
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
            i += 1
            continue
        if c == '"':
            in_str = True
            out.append(c)
            i += 1
            continue
        if c == UNK_OPEN:
            j = s.find(UNK_CLOSE, i)
            if j < 0:
                out.append(s[i:])
                break
            expr = s[i + 1 : j]
            tok = f"{_TOKEN}{len(exprs)}{_TOKEN}"
            exprs[tok] = expr
            out.append('"' + tok + '"')
            i = j + 1
            continue
        out.append(c)
        i += 1
    return "".join(out), exprs


def _unquote(v: Any, exprs: dict[str, str], depth: int = 0) -> Any:
    if depth > 200:
        return v
    if isinstance(v, str) and v in exprs:
        return Unknown(exprs[v])
    if isinstance(v, dict):
        for k in list(v.keys()):
            v[k] = _unquote(v[k], exprs, depth + 1)
        return v
    if isinstance(v, list):
        for i, x in enumerate(v):
            v[i] = _unquote(x, exprs, depth + 1)
        return v
    return v


__all__ = ["parse_modules"]
