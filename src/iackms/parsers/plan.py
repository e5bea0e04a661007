"""Terraform plan JSON (`terraform show -json plan.out`).

Values come from `resource_changes[].change.after`; what is unknown until
apply is listed in `after_unknown` and becomes :class:`Unknown`. Links
between keys and their policies, aliases and grants are taken from the
`configuration` section's references. Locations point at the resource's
entry in the plan file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from .. import jsonload
from ..context import ScanContext
from ..model import Alias, Attr, CustomKeyStore, Grant, Key, LDict, Location, Note, ScanUnit, Unknown
from ..policy import build_policies
from ..vocab import TF_KEY_ATTRS as KEY_ATTRS
from ..vocab import TF_KEY_TYPES as KEY_KINDS
from ..vocab import TF_KMS_TYPES
from ..vocab import tf_enabled_argument as enabled_argument
from .consumer_paths import ValueNode, build

_OTHER_TYPES = tuple(sorted(TF_KMS_TYPES - set(KEY_KINDS)))
_INDEX_RE = re.compile(r"\[[^\]]*\]")


def sniff(data: bytes) -> bool:
    head = data[:4096]
    return b'"format_version"' in head and (b'"resource_changes"' in data or b'"planned_values"' in data)


def _strip_index(address: str) -> str:
    return _INDEX_RE.sub("", address)


def parse_file(path: Path, data: bytes, ctx: ScanContext) -> ScanUnit | None:
    rel = ctx.rel(path)
    try:
        doc = jsonload.load(data, rel)
    except jsonload.JsonError as e:
        return ScanUnit(notes=[Note("IKMS001", f"plan JSON cannot be parsed: {e.message}", Location(rel, e.line, e.line, e.column))])
    if not isinstance(doc, dict) or "format_version" not in doc:
        return None
    if not ("resource_changes" in doc or "planned_values" in doc):
        return None
    fv = doc.get("format_version")
    major = str(fv).split(".", 1)[0] if isinstance(fv, (str, int, float)) else ""
    if major not in ("0", "1"):
        loc = doc.key_locs.get("format_version", Location(rel, 1, 1)) if isinstance(doc, LDict) else Location(rel, 1, 1)
        return ScanUnit(notes=[Note("IKMS001", f"unsupported Terraform plan format_version {fv!r} (iackms reads 0.x and 1.x)", loc)])
    try:
        return _build(doc, rel)
    except Exception as e:  # never a traceback on a strange plan
        return ScanUnit(notes=[Note("IKMS001", f"plan JSON has an unexpected shape: {type(e).__name__}: {e}", Location(rel, 1, 1))])


def _refs(config: Any) -> dict[str, dict[str, list[str]]]:
    """address (no index) → attribute → referenced addresses, from the
    `configuration` section (modules included). A part of unexpected shape
    is left out; the rest is still read."""
    out: dict[str, dict[str, list[str]]] = {}

    def resource(r: Any, prefix: str) -> None:
        if not isinstance(r, dict):
            return
        addr = r.get("address")
        if not isinstance(addr, str) or not addr:
            return
        exprs = r.get("expressions")
        entry = out.setdefault(prefix + addr, {})
        if isinstance(exprs, dict):
            for k, v in exprs.items():
                refs = v.get("references") if isinstance(v, dict) else None
                entry[str(k)] = [prefix + x for x in refs if isinstance(x, str)] if isinstance(refs, list) else []

    for r, prefix in _config_resources(config):
        try:
            resource(r, prefix)
        except Exception:  # pragma: no cover - defensive: skip the odd entry
            continue
    return out


def _config_resources(config: Any) -> Iterator[tuple[Any, str]]:
    """Each resource entry of the ``configuration`` section, with the module
    address prefix it is under (``module.a.module.b.``); modules nested more
    than 20 deep are left out."""

    def walk(mod: Any, prefix: str, depth: int) -> Iterator[tuple[Any, str]]:
        if not isinstance(mod, dict) or depth > 20:
            return
        resources = mod.get("resources")
        for r in resources if isinstance(resources, list) else []:
            yield r, prefix
        calls = mod.get("module_calls")
        for name, call in calls.items() if isinstance(calls, dict) else []:
            if isinstance(call, dict):
                yield from walk(call.get("module"), f"{prefix}module.{name}.", depth + 1)

    if isinstance(config, dict):
        yield from walk(config.get("root_module"), "", 0)


def _address(rc: dict) -> str:
    """The entry's address; built from module_address, type, name and index
    when the plan does not give one."""
    addr = rc.get("address")
    if isinstance(addr, str) and addr:
        return addr
    rtype, name = rc.get("type"), rc.get("name")
    out = f"{rtype}.{name}" if isinstance(name, str) and name else str(rtype)
    mod = rc.get("module_address")
    if isinstance(mod, str) and mod:
        out = f"{mod}.{out}"
    idx = rc.get("index")
    if isinstance(idx, str):
        out += '["' + idx.replace("\\", "\\\\").replace('"', '\\"') + '"]'
    elif isinstance(idx, int) and not isinstance(idx, bool):
        out += f"[{idx}]"
    return out


def _dict(v: Any) -> dict:
    return v if isinstance(v, dict) else {}


def _target(refs: dict[str, dict[str, list[str]]], addr: str, attr: str, keys: dict[str, Key]) -> str | None:
    for r in refs.get(_strip_index(addr), {}).get(attr, []):
        base = r.rsplit(".", 1)[0] if r.count(".") >= 2 and not r.endswith(tuple(KEY_KINDS)) else r
        for cand in (r, base):
            if cand in keys:
                return cand
    return None


def _build(doc: dict, rel: str) -> ScanUnit:
    unit = ScanUnit()
    refs = _refs(doc.get("configuration"))
    rcs = doc.get("resource_changes")
    if rcs is not None and not isinstance(rcs, list):
        raise ValueError("resource_changes is not a list")
    changes = [c for c in rcs or [] if isinstance(c, dict)]
    keys: dict[str, Key] = {}
    keys_by_base: dict[str, Key] = {}
    others: list[dict] = []
    for rc in changes:
        if rc.get("mode", "managed") != "managed":
            continue
        rtype = rc.get("type")
        if not isinstance(rtype, str) or (rtype not in KEY_KINDS and rtype not in _OTHER_TYPES):
            continue
        change = rc.get("change")
        if isinstance(change, dict) and change.get("actions") == ["delete"]:
            continue
        if rtype in KEY_KINDS:
            try:
                k = _key(rc, _change(change), rel, refs.get(_strip_index(_address(rc))))
            except Exception as e:  # one odd entry must not lose the plan
                unit.notes.append(_odd_entry(rc, rel, e))
                continue
            keys[k.address] = k
            keys_by_base.setdefault(_strip_index(k.address), k)
            unit.keys.append(k)
        else:
            others.append(rc)
    lookup = {**keys_by_base, **keys}
    _consumers(changes, doc, rel, unit)
    for rc in others:
        try:
            _other(rc, rel, refs, lookup, unit)
        except Exception as e:
            unit.notes.append(_odd_entry(rc, rel, e))
    return unit


def _change(change: Any) -> dict:
    """The entry's ``change``, checked: a malformed one is not read as a
    resource with every setting missing."""
    if not isinstance(change, dict):
        raise ValueError("its change is not an object")
    for part in ("after", "after_unknown"):
        if change.get(part) is not None and not isinstance(change[part], dict):
            raise ValueError(f"its change.{part} is not an object")
    return change


def _odd_entry(rc: dict, rel: str, e: Exception) -> Note:
    """One entry the parser cannot read: reported where it is; the rest of
    the plan is still checked."""
    addr = _address(rc)
    why = str(e) if isinstance(e, ValueError) else f"{type(e).__name__}: {e}"
    return Note("IKMS001", f"the plan entry for {addr} has an unexpected shape ({why}); it is not checked", _loc(rc, rel), addr, str(rc.get("type", "")))


def _other(rc: dict, rel: str, refs: dict, lookup: dict[str, Key], unit: ScanUnit) -> None:
    """A key policy, alias, grant or custom key store entry."""
    change = _change(rc.get("change"))
    after = _dict(change.get("after"))
    unknown = _dict(change.get("after_unknown"))
    loc = _loc(rc, rel)
    addr = _address(rc)
    rtype = rc["type"]
    if rtype == "aws_kms_key_policy":
        tgt = _target(refs, addr, "key_id", lookup)
        if tgt:
            key = lookup[tgt]
            key.policy = _attr(after, unknown, "policy", loc)
            key.policies = build_policies(key.policy.value, loc, "aws_kms_key_policy") if key.policy.present else []
            if "bypass_policy_lockout_safety_check" in after:
                key.attrs["bypass_lockout"] = _attr(after, unknown, "bypass_policy_lockout_safety_check", loc)
    elif rtype == "aws_kms_alias":
        a = Alias(addr, rtype, loc, "plan", {"name": _attr(after, unknown, "name", loc)})
        a.target = _target(refs, addr, "target_key_id", lookup)
        unit.aliases.append(a)
        if a.target:
            lookup[a.target].aliases.append(a)
    elif rtype == "aws_kms_grant":
        attrs = {n: _attr(after, unknown, n, loc) for n in ("grantee_principal", "retiring_principal", "operations", "name")}
        cons = after.get("constraints")
        if cons:
            attrs["constraints"] = Attr(cons, loc, True)
        g = Grant(addr, rtype, loc, "plan", attrs)
        g.target = _target(refs, addr, "key_id", lookup)
        unit.grants.append(g)
        if g.target:
            lookup[g.target].grants.append(g)
    else:
        attrs = {n: _attr(after, unknown, n, loc) for n in ("custom_key_store_type", "key_store_password", "cloud_hsm_cluster_id", "xks_proxy_connectivity")}
        if "xks_proxy_authentication_credential" in after:
            attrs["xks_proxy_authentication_credential"] = _attr(after, unknown, "xks_proxy_authentication_credential", loc)
        if not after.get("custom_key_store_type"):
            attrs["custom_key_store_type"] = Attr("AWS_CLOUDHSM", loc, False)
        unit.stores.append(CustomKeyStore(addr, rtype, loc, "plan", attrs))


def _loc(rc: Any, rel: str) -> Location:
    """The line of the entry's "address" (else its opening brace)."""
    loc = getattr(rc, "loc", None)
    if loc is None:
        return Location(rel, 1, 1)
    at = getattr(rc, "key_locs", {}).get("address") or loc
    return Location(rel, at.line, max(at.line, loc.end_line), at.column)


def _attr(after: dict, unknown: dict, name: str, loc: Location) -> Attr:
    """A planned value. ``expr`` stays empty: a plan holds values, not the
    expressions that produced them; an unknown names the attribute and says
    why it is unknown."""
    if isinstance(unknown, dict) and unknown.get(name) is True:
        return Attr(Unknown(name, "known after apply"), loc, True)
    if name in after and after[name] is not None:
        v = after[name]
        if name == "tags" and isinstance(v, dict) and not v:
            return Attr()
        return Attr(v, loc, True)
    return Attr()


def _key(rc: dict, change: dict, rel: str, config: dict[str, list[str]] | None) -> Key:
    after = _dict(change.get("after"))
    unknown = _dict(change.get("after_unknown"))
    loc = _loc(rc, rel)
    rtype = rc["type"]
    kind = KEY_KINDS[rtype]
    key = Key(_address(rc), rtype, loc, "plan", kind=kind)
    for a in ("arn", "key_id"):  # known for a key that exists: literal references to it link
        if isinstance(after.get(a), str) and unknown.get(a) is not True:
            key.attrs[a] = Attr(after[a], loc, True)
    for src, dst in KEY_ATTRS.items():
        a = _attr(after, unknown, src, loc)
        if a.present:
            key.attrs[dst] = a
    en = _attr(after, unknown, enabled_argument(rtype), loc)
    if en.present:
        key.attrs["enabled"] = en
    if kind in ("external", "replica_external"):
        key.attrs["origin"] = Attr("EXTERNAL", loc, True)
    elif key.attr("custom_key_store_id").present:
        key.attrs["origin"] = Attr(Unknown("custom_key_store_id", "the type of the custom key store is not recorded on the key in plan JSON"), loc, True)
    key.attrs["deletion_protection"] = Attr(Unknown("lifecycle.prevent_destroy", "not recorded in plan JSON"), loc, True)
    key.policy = _attr(after, unknown, "policy", loc)
    if config is not None and "policy" not in config and isinstance(key.policy.value, Unknown):
        # no policy configured: the provider computes AWS's default one at apply
        key.policy = Attr()
    if key.policy.present:
        key.policies = build_policies(key.policy.value, loc, "plan")
    return key


# --- consumers ----------------------------------------------------------------------------------


class PlanNode(ValueNode):
    """Planned values (``after``, with ``after_unknown``) beside the
    configuration's expressions of the same place: a value that comes from a
    reference (``aws_kms_key.k.arn``) links to what it names, known or not."""

    #: the module the resource is in (``module.app.``): configuration references are relative to it
    prefix = ""

    def _make(self, v: Any, loc: Location, expr: str, unknown: Any, raw: Any) -> Any:
        node = super()._make(v, loc, expr, unknown, raw)
        if isinstance(node, PlanNode):
            node.prefix = self.prefix
        return node

    def leaf(self, name: str) -> Attr | None:
        a = super().leaf(name)
        e = self._raw(name)
        refs = e.get("references") if isinstance(e, dict) else None
        if isinstance(refs, list) and refs and isinstance(refs[0], str):
            ref, attr = _split_ref(refs[0])
            if ref is not None:
                v = Unknown(refs[0], "from the configuration", ref=self.prefix + ref, attr=attr)
                return Attr(v, a.loc if a is not None else self.loc, True, refs[0])
        return a


def _split_ref(r: str) -> tuple[str | None, str | None]:
    """``aws_kms_key.k.arn`` → (``aws_kms_key.k``, ``arn``); data sources too."""
    parts = r.split(".")
    if parts[0] == "data":
        if len(parts) >= 4:
            return ".".join(parts[:3]), parts[3]
        return (".".join(parts[:3]), None) if len(parts) == 3 else (None, None)
    if parts[0] in ("var", "local", "module", "each", "count", "path"):
        return None, None
    if len(parts) >= 3:
        return ".".join(parts[:2]), _INDEX_RE.sub("", parts[2])
    if len(parts) == 2:
        return r, None
    return None, None


def _expressions(config: Any) -> dict[str, Any]:
    """address (no index) → the resource's ``expressions`` in the configuration."""
    return {prefix + r["address"]: r.get("expressions") for r, prefix in _config_resources(config)
            if isinstance(r, dict) and isinstance(r.get("address"), str)}


def _consumers(changes: list[dict], doc: dict, rel: str, unit: ScanUnit) -> None:
    """The resources of the consumer table in the plan."""
    from ..consumer_table import table

    types = table().types("terraform")
    exprs: dict[str, Any] | None = None
    for rc in changes:
        rtype = rc.get("type")
        if rc.get("mode", "managed") != "managed" or rtype not in types:
            continue
        change = rc.get("change")
        if isinstance(change, dict) and change.get("actions") == ["delete"]:
            continue
        if exprs is None:
            exprs = _expressions(doc.get("configuration"))
        try:
            ch = _change(change)
            addr = _address(rc)
            loc = _loc(rc, rel)
            mod = rc.get("module_address")
            prefix = mod + "." if isinstance(mod, str) and mod else ""
            node = PlanNode(_dict(ch.get("after")), loc, "", _dict(ch.get("after_unknown")), exprs.get(_strip_index(addr)))
            node.prefix = prefix
            cs, ds = build("plan", rtype, addr, loc, node, [])
            unit.consumers.extend(cs)
            unit.deliveries.extend(ds)
        except Exception as e:  # one odd entry must not lose the plan
            unit.notes.append(_odd_entry(rc, rel, e))
