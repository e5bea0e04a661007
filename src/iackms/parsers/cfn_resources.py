"""KMS resources of a loaded CloudFormation template: keys, replica keys and
aliases, their attributes, key policies and suppressions."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ..model import (
    CONDITION,
    Switch,
    REMOVE,
    Alias,
    Attr,
    Choice,
    Key,
    LDict,
    LList,
    Location,
    Note,
    Policy,
    ScanUnit,
    Suppression,
    Unknown,
    unknown_piece,
    variants_when,
    walk,
)
from ..consumer_table import table
from ..policy import MAX_POLICY_VARIANTS, build_policies
from ..vocab import CFN_ALIAS, CFN_ALIAS_PROPS, CFN_KEY_PROPS, CFN_KEY_TYPES, CFN_PRINCIPAL_TYPES
from .consumer_paths import ValueNode, build
from .cfn_intrinsics import (
    Template,
    branch_template,
    choice_of,
    condition,
    false_by_defaults,
    iam_arn,
    lift,
    remap,
    resolve,
    source_repr,
)

SOURCE = "cloudformation"
KEY_TYPES = tuple(CFN_KEY_TYPES)
ALIAS_TYPE = CFN_ALIAS
IAM_TYPES = CFN_PRINCIPAL_TYPES
KEY_PROPS = CFN_KEY_PROPS
ALIAS_PROPS = CFN_ALIAS_PROPS
_RETAIN = ("Retain", "RetainExceptOnCreate")
_KNOWN_TRANSFORMS = ("AWS::Serverless-2016-10-31", "AWS::LanguageExtensions", "AWS::SecretsManager-2020-07-23")
_LITERAL_BLOCK_RE = re.compile(r"\|[1-9]?[+-]?[1-9]?\s*(?:#.*)?$")
_SUB_VAR_RE = re.compile(r"\$\{([^}!][^}]*)\}")


def span(d: Any, key: Any, file: str) -> Location:
    """From the line of ``key`` in map ``d`` to the end of its value."""
    kl = d.key_locs.get(key) if isinstance(d, LDict) else None
    v = d.get(key) if isinstance(d, dict) else None
    vl = getattr(v, "loc", None)
    if kl is None:
        return vl or getattr(d, "loc", None) or Location(file, 1, 1)
    end = max(kl.end_line, vl.end_line) if vl is not None else kl.end_line
    return Location(kl.file, kl.line, end, kl.column)


def build_unit(data: LDict, tpl: Template, file: str, text: str, is_json: bool, unit: ScanUnit, texts: dict | None = None,
               origins: dict | None = None) -> None:
    """Add the template's keys, aliases and notes to ``unit``. ``texts`` holds
    the text of every Rain module file whose resources the template holds,
    ``origins`` where the template uses the module of each such resource
    (its location and logical ID)."""
    _transform_notes(data, file, unit)
    resources = tpl.resources  # Resources with Fn::ForEach loops expanded
    if not resources:
        return
    locals_ = local_principals(tpl)
    keys: dict[str, Key] = {}
    aliases: list[tuple[Alias, Any]] = []
    for lid, res in resources.items():
        loc = span(resources, lid, file)
        if isinstance(lid, str) and lid.startswith("Fn::ForEach::"):
            unit.notes.append(Note("IKMS002", "this Fn::ForEach loop is not expanded; the resources it creates are not checked", loc, str(lid)))
            continue
        if not isinstance(res, dict):
            unit.notes.append(Note("IKMS002", f"resource {lid} is not a mapping; it is not checked", loc, str(lid)))
            continue
        rtype = res.get("Type")
        if not isinstance(rtype, str):
            unit.notes.append(Note("IKMS002", _type_message(lid, res, rtype), loc, str(lid)))
            continue
        if rtype not in KEY_TYPES and rtype != ALIAS_TYPE:
            if rtype in _consumer_types():
                _consumers(str(lid), rtype, res, loc, tpl, file, unit)
            continue
        rtpl, exists_when = tpl, ()
        if "Condition" in res and condition(tpl, res.get("Condition")) is False:
            # not created with the parameters' defaults; when only the defaults
            # make it so (a deployment may pass other values), it is code under
            # review all the same: checked as the branch in which it exists
            by_defaults = false_by_defaults(tpl, res.get("Condition"))
            if not by_defaults:
                continue
            cname = str(res.get("Condition"))
            rtpl, exists_when = branch_template(tpl, cname, by_defaults), (f"{cname} is true",)
        transform = _included_properties(res)
        if transform is not None:
            # AWS::Include (or a macro) supplies the properties at deployment:
            # judging the key on what is written here would report settings
            # the included snippet may well make
            unit.notes.append(Note(
                "IKMS002",
                f"{lid} is not checked: its Properties come from Fn::Transform ({transform}) at deployment",
                span(res, "Properties", file), str(lid), rtype,
            ))
            continue
        if rtype == ALIAS_TYPE:
            alias = Alias(str(lid), rtype, loc, SOURCE, exists_when=exists_when)
            props = _properties(res, rtpl, file, alias, unit)
            alias.suppressions = suppressions(res, file, loc)
            aliases.append((alias, props.get("TargetKeyId") if isinstance(props, dict) else None))
            continue
        ktext, kjson = (texts or {}).get(loc.file, (text, is_json))
        key = build_key(str(lid), rtype, res, loc, rtpl, file, ktext, kjson, unit)
        key.exists_when = exists_when
        key.local_principals = set(locals_)
        if origins and key.address in origins:
            where, module = origins[key.address]
            key.calls = ((where, module),)  # the Rain module resource that adds it: a related location
        keys[key.address] = key
        unit.keys.append(key)
    for key in keys.values():  # a replica of an imported-material primary holds imported material too
        if key.kind == "replica" and _primary_of(key, tpl, keys) == "external":
            key.kind = "replica_external"
    for alias, raw_target in aliases:
        target = alias_target(raw_target, keys)
        alias.target = target
        if target is not None:
            keys[target].aliases.append(alias)
        unit.aliases.append(alias)


class _PropsNode(ValueNode):
    """A resource's Properties as written: each property is resolved only
    when a path of the consumer table reaches it (templates hold large
    properties no rule reads, such as inline code)."""

    tpl: Template

    def _get(self, name: str) -> tuple[Any, Any, Location, bool]:
        raw = self.value
        if not isinstance(raw, dict) or name not in raw:
            return None, None, self.loc, False
        v = resolve(raw[name], self.tpl)
        if v is REMOVE:
            return None, None, self.loc, False
        return v, None, span(raw, name, self.loc.file), True

    def key_leaf(self, name: str) -> Attr | None:
        """A key property, with its value where an ``Fn::If`` in it chooses on
        a condition false only with the parameters' defaults (``!If [IsProd,
        !Ref Key, !Ref AWS::NoValue]``): a Choice on that condition, as a
        key policy's (:func:`_in_branches`)."""
        raw = self.value
        if not isinstance(raw, dict) or name not in raw:
            return None
        names = _if_conditions(raw[name])[:MAX_FLIPPED]
        if not names:
            return self.leaf(name)
        v = _in_branches(raw[name], self.tpl, names)
        if v is None or v is REMOVE:
            return None
        text = self.render(raw[name]) if self.render is not None else ""
        return Attr(v, span(raw, name, self.loc.file), True, text)

    def _make(self, v: Any, loc: Location, expr: str, unknown: Any, raw: Any) -> Any:
        node = super()._make(v, loc, expr, unknown, raw)
        if isinstance(node, _PropsNode):  # below the top level, values are resolved already
            return ValueNode(v, loc, expr, unknown, raw, self.render)
        return node


#: SAM resource types that become a type of the consumer table
_SAM_TYPES = {"AWS::Serverless::Function": "AWS::Lambda::Function"}


_TYPES: list[frozenset[str]] = []


def _consumer_types() -> frozenset[str]:
    if not _TYPES:  # once per process: the table does not change
        _TYPES.append(table().types("cloudformation") | frozenset(_SAM_TYPES))
    return _TYPES[0]


def _consumers(lid: str, rtype: str, res: Any, loc: Location, tpl: Template, file: str, unit: ScanUnit) -> None:
    """A resource of the consumer table: its key properties and delivery
    paths (a resource that is not created, or whose properties come from a
    transform, has none to check)."""
    if not isinstance(res, dict):
        return
    if "Condition" in res and condition(tpl, res.get("Condition")) is False:
        return
    if _included_properties(res) is not None:
        return
    props = res.get("Properties")
    if props is not None and not isinstance(props, dict):
        return
    node = _PropsNode(props if props is not None else LDict(), span(res, "Properties", file) if props is not None else loc,
                      raw=props, render=source_repr)
    node.tpl = tpl
    cs, ds = build(SOURCE, _SAM_TYPES.get(rtype, rtype), lid, loc, node, suppressions(res, file, loc))
    for c in cs:
        c.resource_type = rtype
    for d in ds:
        d.resource_type = rtype
    unit.consumers.extend(cs)
    unit.deliveries.extend(ds)


def _included_properties(res: dict) -> str | None:
    """What an ``Fn::Transform`` at the top of the resource's Properties
    includes (``AWS::Include of s3://...``), None when there is none."""
    props = res.get("Properties")
    if not isinstance(props, dict) or "Fn::Transform" not in props:
        return None
    tr = props["Fn::Transform"]
    specs = tr if isinstance(tr, list) else [tr]
    labels = []
    for spec in specs:
        name = spec.get("Name") if isinstance(spec, dict) else None
        if not isinstance(name, str):
            labels.append(source_repr(spec, 60))
            continue
        params = spec.get("Parameters")
        where = params.get("Location") if isinstance(params, dict) else None
        labels.append(f"{name} of {source_repr(where, 80)}" if where is not None else name)
    return "; ".join(labels) or "Fn::Transform"


def _type_message(lid: Any, res: dict, rtype: Any) -> str:
    if "Type" not in res:
        return f"resource {lid} has no Type; it is not checked"
    if isinstance(rtype, dict) and len(rtype) == 1:
        (fn, arg), = rtype.items()
        if fn in ("Fn::Rain::Module", "Rain::Module"):
            return f"resource {lid} is a Rain module ({source_repr(arg, 60)}); the resources it adds are not checked"
    return f"resource {lid} has a Type that is not a string ({source_repr(rtype, 60)}); it is not checked"


def build_key(lid: str, rtype: str, res: dict, loc: Location, tpl: Template, file: str, text: str, is_json: bool, unit: ScanUnit) -> Key:
    """One ``AWS::KMS::Key`` / ``AWS::KMS::ReplicaKey`` resource."""
    key = Key(lid, rtype, loc, SOURCE, kind="replica" if rtype == "AWS::KMS::ReplicaKey" else "key")
    props = _properties(res, tpl, file, key, unit)
    if isinstance(props, dict) and "KeyPolicy" in props:
        _key_policy(key, props, tpl, file, text, is_json)
    _deletion_policy(key, res, tpl, file)
    origin = key.attrs.get("origin")
    if origin is not None and origin.value == "EXTERNAL":
        key.kind = "external"
    key.suppressions = suppressions(res, file, loc)
    return key


def key_from_resource(name: str, resource: dict, loc: Location) -> Key:
    """A Key from one resource mapping given without its template (the
    Checkov integration): ``{"Type": ..., "Properties": ..., "DeletionPolicy": ...}``
    or just the Properties. Intrinsics are resolved with no parameters,
    conditions or other resources known; every location is ``loc``."""
    res = resource if isinstance(resource, dict) else {}
    if "Properties" not in res and "Type" not in res:
        res = {"Properties": res}
    rtype = res.get("Type")
    if not isinstance(rtype, str) or rtype not in KEY_TYPES:
        rtype = name if name in KEY_TYPES else "AWS::KMS::Key"
    located = _with_loc(res, loc, 0)
    return build_key(name, rtype, located, loc, Template(), loc.file, "", True, ScanUnit())


def _with_loc(v: Any, loc: Location, depth: int) -> Any:
    if depth > 200:
        return v
    if isinstance(v, dict):
        d = LDict(((k, _with_loc(x, loc, depth + 1)) for k, x in v.items()), loc=loc)
        d.key_locs = {k: loc for k in d}
        return d
    if isinstance(v, list):
        return LList((_with_loc(x, loc, depth + 1) for x in v), loc=loc)
    return v


def _transform_notes(data: LDict, file: str, unit: ScanUnit) -> None:
    tr = data.get("Transform")
    names = tr if isinstance(tr, list) else [tr]
    for n in names:
        if n is None:
            continue
        if isinstance(n, str) and n in _KNOWN_TRANSFORMS:
            continue
        if isinstance(n, dict) and n.get("Name") == "AWS::Include":
            label = "AWS::Include"
        else:
            label = n if isinstance(n, str) else source_repr(n, 60)
        unit.notes.append(
            Note("IKMS002", f"the template uses the transform {label}; keys it adds or changes at deployment are not checked", span(data, "Transform", file))
        )


def _properties(res: dict, tpl: Template, file: str, resource: Any, unit: ScanUnit) -> Any:
    """Resolve the known properties of ``resource`` into its attrs; returns
    the raw Properties map."""
    props = res.get("Properties")
    if props is None:
        return {}
    if not isinstance(props, dict):
        unit.notes.append(Note("IKMS002", f"the Properties of {resource.address} are not a mapping; they are not checked", span(res, "Properties", file), resource.address, resource.resource_type))
        return {}
    if len(props) == 1 and next(iter(props)) in ("Fn::If", "Fn::Transform"):
        # build_unit skips keys whose Properties are an Fn::Transform; this
        # is reached for them only from key_from_resource (Checkov)
        resolved = resolve(props, tpl)
        if not isinstance(resolved, LDict):
            unit.notes.append(Note("IKMS002", f"the Properties of {resource.address} are {source_repr(props, 60)}; they are not checked", span(res, "Properties", file), resource.address, resource.resource_type))
            return {}
        props = resolved
    names = KEY_PROPS if isinstance(resource, Key) else ALIAS_PROPS
    for prop, attr in names.items():
        if prop not in props:
            continue
        raw = props[prop]
        value = resolve(raw, tpl)
        if value is REMOVE:
            continue
        if attr == "tags":
            value = tags(value)
        resource.attrs[attr] = Attr(value, span(props, prop, file), True, source_repr(raw), default_origin(raw, tpl, file))
    return props


def default_origin(raw: Any, tpl: Template, file: str) -> Location | None:
    """Where a property's value is written when the property is ``!Ref`` to a
    parameter that gets it from its ``Default``: the ``Default:`` line
    (findings about the property are reported there); else None."""
    if not (isinstance(raw, dict) and len(raw) == 1 and isinstance(raw.get("Ref"), str)):
        return None
    p = tpl.params.get(raw["Ref"])
    if not isinstance(p, dict) or "Default" not in p:
        return None
    ptype = p.get("Type")
    if isinstance(ptype, str) and ptype.startswith("AWS::SSM::Parameter::Value"):
        return None  # the value is read from SSM at deployment
    default = p["Default"]
    if isinstance(default, str) and "{{resolve:" in default:
        return None  # a dynamic reference: the value is read at deployment, not written here
    return span(p, "Default", file)


# --- key policy -------------------------------------------------------------------


def _key_policy(key: Key, props: dict, tpl: Template, file: str, text: str, is_json: bool) -> None:
    raw = props["KeyPolicy"]
    value = _in_branches(raw, tpl, _if_conditions(raw)[:MAX_FLIPPED])
    if value is REMOVE:
        return
    loc = span(props, "KeyPolicy", file)
    key.policy = Attr(value, loc, True, source_repr(raw), default_origin(raw, tpl, file))
    variants = variants_when(value, MAX_POLICY_VARIANTS)
    if not any(isinstance(v, str) for v, _ in variants):
        key.policies = build_policies(value, loc, SOURCE)
        return
    first = None if is_json else _literal_block_line(raw, loc, text)
    ploc = Location(loc.file, first, loc.end_line, loc.column) if first is not None else loc
    policies: list[Policy] = []
    for v, when in variants:
        got = build_policies(v, ploc if isinstance(v, str) else loc, SOURCE)
        for p in got:
            if isinstance(v, str) and first is None:
                # JSON text in a one-line or folded string: its own line
                # numbers say nothing about the file; point at KeyPolicy
                _pin(p, loc)
            if when:
                p.when = [when]
        policies.extend(got)
    key.policies = policies


#: at most this many conditions of a key policy's Fn::If that are false with
#: the parameters' defaults are turned (2**4 resolutions at most)
MAX_FLIPPED = 4


def _if_conditions(raw: Any) -> list[str]:
    """The conditions the ``Fn::If`` of ``raw`` choose on, in order."""
    out: list[str] = []
    for v in walk(raw):
        if isinstance(v, dict) and len(v) == 1 and "Fn::If" in v:
            arg = v["Fn::If"]
            if isinstance(arg, list) and arg and isinstance(arg[0], str) and arg[0] not in out:
                out.append(arg[0])
    return out


def _in_branches(raw: Any, tpl: Template, names: list[str]) -> Any:
    """``raw`` resolved, and where an ``Fn::If`` chooses on a condition that
    is false only with the parameters' defaults (a statement added by
    ``!If [HasTrusted, {...}, !Ref AWS::NoValue]``), its value in the branch
    where that condition is true too: a Choice on the condition, so that the
    key is judged in that branch as a key whose ``Condition`` is false by
    default is. In that branch the parameters the condition depends on take
    values that make it true, or are unknown when none is found."""
    if not names:
        return resolve(raw, tpl)
    name, rest = names[0], names[1:]
    by_defaults = false_by_defaults(tpl, name) if condition(tpl, name) is False else []
    if not by_defaults:
        return _in_branches(raw, tpl, rest)
    t = branch_template(tpl, name, by_defaults)
    if t.params is tpl.params:
        # no value found that makes it true: the condition is taken as true,
        # and the parameters it depends on as any value
        opened = dict(tpl.params)
        for p, _ in by_defaults:
            d = tpl.params[p]
            opened[p] = LDict({k: v for k, v in d.items() if k != "Default"}, loc=getattr(d, "loc", None))
        t = replace(t, params=opened, _cond_cache={name: True}, _busy=set())
    on = _in_branches(raw, t, rest)
    off = _in_branches(raw, tpl, rest)
    return choice_of([on, off], f"Fn::If [{name}, ...]", None, Switch(CONDITION, name), ("true", "false"))


def _literal_block_line(raw: Any, loc: Location, text: str) -> int | None:
    """The first content line of a ``|`` block scalar holding the policy
    text (directly or as the ``Fn::Sub`` template), else None."""
    if isinstance(raw, dict) and len(raw) == 1 and "Fn::Sub" in raw:
        inner = raw["Fn::Sub"]
        if isinstance(inner, list) and inner:
            inner = inner[0]
        if not isinstance(inner, str):
            return None
    elif not isinstance(raw, str):
        return None
    lines = text.split("\n", loc.end_line)
    for ln in range(loc.line, min(loc.end_line, len(lines)) + 1):
        if _LITERAL_BLOCK_RE.search(lines[ln - 1].rstrip("\r")):
            return ln + 1
        if ln > loc.line:
            break
    return None


def _pin(p: Policy, loc: Location) -> None:
    p.loc = loc
    p.errors = [(m, loc) for m, _ in p.errors]
    for st in p.statements:
        st.loc = loc
    for v in walk(p.raw):
        if isinstance(v, LDict):
            v.loc = loc
            v.key_locs = {k: loc for k in v.key_locs}
        elif isinstance(v, LList):
            v.loc = loc


def _deletion_policy(key: Key, res: dict, tpl: Template, file: str) -> None:
    if "DeletionPolicy" not in res:
        return
    raw = res["DeletionPolicy"]
    value = resolve(raw, tpl)
    if value is REMOVE:
        return
    key.attrs["deletion_protection"] = Attr(_retains(value), span(res, "DeletionPolicy", file), True, source_repr(raw),
                                            default_origin(raw, tpl, file))


def _retains(v: Any) -> Any:
    if isinstance(v, str):
        return v in _RETAIN
    if isinstance(v, Choice):
        return remap(v, [_retains(o) for o in v.options])
    return v if isinstance(v, Unknown) else Unknown(source_repr(v), "DeletionPolicy is not a string")


def _primary_of(key: Key, tpl: Template, keys: dict[str, Key]) -> str | None:
    attr = key.attrs.get("primary_key")
    r = tpl.resources.get(key.address)
    props = r.get("Properties") if isinstance(r, dict) else None
    raw = props.get("PrimaryKeyArn") if isinstance(props, dict) else None
    if attr is None or raw is None:
        return None
    target = alias_target(raw, keys)
    return keys[target].kind if target is not None else None


# --- tags ----------------------------------------------------------------------------


def tags(value: Any) -> Any:
    """``[{Key, Value}]`` to a dict (Choices and Unknowns kept)."""
    if isinstance(value, Choice):
        return lift(value, tags, value.expr or "Tags", value.loc)
    if not isinstance(value, list):
        return value
    if any(isinstance(i, Choice) for i in value):
        return lift(value, tags, "Tags", getattr(value, "loc", None))
    out = LDict(loc=getattr(value, "loc", None))
    for item in value:
        if isinstance(item, dict):
            k = item.get("Key")
            if not isinstance(k, str):
                k = unknown_piece(source_repr(k) if not isinstance(k, Unknown) else k.expr)
            out[k] = item.get("Value")
            il = getattr(item, "loc", None)
            if il is not None:
                out.key_locs[k] = il
        elif isinstance(item, Unknown):
            out[unknown_piece(item.expr)] = item
    return out


# --- references ----------------------------------------------------------------------


def local_principals(tpl: Template) -> set[str]:
    """ARNs, names and logical IDs of the IAM roles and users of the template."""
    out: set[str] = set()
    for lid, r in tpl.resources.items():
        if tpl.is_sam and isinstance(lid, str) and tpl.sam_role_owner(lid + "Role") == lid:
            if not ("Condition" in r and condition(tpl, r.get("Condition")) is False):
                role = lid + "Role"  # the role SAM creates for the function
                out.add(role)
                arn = iam_arn(tpl, role)
                if arn is not None:
                    out.add(arn)
        if not isinstance(r, dict) or r.get("Type") not in IAM_TYPES or not isinstance(lid, str):
            continue
        if "Condition" in r and condition(tpl, r.get("Condition")) is False:
            continue
        out.add(lid)
        arn = iam_arn(tpl, lid)
        if arn is not None:
            out.add(arn)
        props = r.get("Properties")
        if isinstance(props, dict):
            name = props.get("RoleName" if r.get("Type") == "AWS::IAM::Role" else "UserName")
            if isinstance(name, str):
                out.add(name)
    return out


def references(raw: Any, depth: int = 0) -> set[str]:
    """Logical IDs and parameters a raw value refers to (pseudo parameters excluded)."""
    out: set[str] = set()
    if depth > 100:
        return out
    if isinstance(raw, dict):
        if len(raw) == 1:
            (k, v), = raw.items()
            if k == "Ref" and isinstance(v, str):
                if not v.startswith("AWS::"):
                    out.add(v)
                return out
            if k == "Fn::GetAtt":
                if isinstance(v, str):
                    out.add(v.split(".", 1)[0])
                    return out
                if isinstance(v, list) and v and isinstance(v[0], str):
                    out.add(v[0])
                    return out
            if k == "Fn::Sub":
                s, vars_ = (v, {}) if isinstance(v, str) else (v[0], v[1]) if isinstance(v, list) and len(v) == 2 else (None, {})
                if isinstance(s, str):
                    for m in _SUB_VAR_RE.finditer(s):
                        name = m.group(1).strip()
                        if isinstance(vars_, dict) and name in vars_:
                            out |= references(vars_[name], depth + 1)
                        elif not name.startswith("AWS::"):
                            out.add(name.split(".", 1)[0])
                    return out
        for v in raw.values():
            out |= references(v, depth + 1)
    elif isinstance(raw, list):
        for v in raw:
            out |= references(v, depth + 1)
    return out


def alias_target(raw: Any, keys: dict[str, Key]) -> str | None:
    """The logical ID of the key a TargetKeyId/PrimaryKeyArn refers to, when
    it refers to exactly one key of the template and nothing else."""
    if raw is None:
        return None
    refs = references(raw)
    if len(refs) == 1:
        (r,) = refs
        if r in keys:
            return r
    return None


# --- suppressions --------------------------------------------------------------------


def suppressions(res: dict, file: str, default: Location) -> list[Suppression]:
    md = res.get("Metadata")
    if not isinstance(md, dict):
        return []
    out: list[Suppression] = []
    mloc = span(res, "Metadata", file)
    for origin, section, list_key, reason_key in (
        ("iackms", "iackms", "skip", "reason"),
        ("checkov", "checkov", "skip", "comment"),
        ("cfn_nag", "cfn_nag", "rules_to_suppress", "reason"),
    ):
        sec = md.get(section)
        if not isinstance(sec, dict):
            continue
        items = sec.get(list_key)
        if isinstance(items, (str, dict)):
            items = [items]
        if not isinstance(items, list):
            continue
        for item in items:
            if isinstance(item, dict):
                rid = item.get("id")
                reason = item.get(reason_key)
                if reason is None and origin != "checkov":
                    reason = item.get("comment")
                elif reason is None:
                    reason = item.get("reason")
            else:
                rid, reason = item, None
            if not isinstance(rid, (str, int)) or isinstance(rid, bool):
                continue
            written = str(rid).strip()
            loc = getattr(item, "loc", None) or mloc or default
            rule_id = written.upper() if origin == "iackms" else ""
            out.append(Suppression(rule_id, reason if isinstance(reason, str) else ("" if reason is None else str(reason)), loc, origin, written))
    return out


__all__ = ["alias_target", "build_key", "build_unit", "key_from_resource", "local_principals", "references", "span", "suppressions", "tags"]
