"""Terraform type constraints of ``variable`` blocks, applied to values the
way Terraform converts them (optional object attributes get their default or
null, primitives are converted, extra object attributes are dropped)."""

from __future__ import annotations

from typing import Any, Callable

from ..model import Choice, LDict, LList, Unknown
from .tf_hcl import object_elems
from .tf_values import err, to_bool, to_number, to_str

#: a parsed type: "any" | "string" | "number" | "bool" | ("list"|"set"|"map", T)
#: | ("object", {name: (T, optional, default_node)}) | ("tuple", [T...])
Type = Any
MAX_TYPE_DEPTH = 30


def _named(node: Any) -> list[Any]:
    return [c for c in node.children if c.is_named]


def parse_type(node: Any, depth: int = 0) -> Type:
    """A type from its expression node; "any" for anything not understood."""
    if node is None or depth > MAX_TYPE_DEPTH:
        return "any"
    if node.type == "expression":
        kids = _named(node)
        if len(kids) != 1:
            return "any"
        node = kids[0]
    if node.type == "variable_expr":
        name = node.text.decode("utf-8", "replace")
        return name if name in ("string", "number", "bool") else "any"
    if node.type != "function_call":
        return "any"
    name = node.children[0].text.decode("utf-8", "replace")
    args_node = next((c for c in node.children if c.type == "function_arguments"), None)
    args = [c for c in args_node.children if c.type == "expression"] if args_node is not None else []
    if name in ("list", "set", "map") and len(args) == 1:
        return (name, parse_type(args[0], depth + 1))
    if name == "tuple" and len(args) == 1:
        tup = _collection(args[0], "tuple")
        if tup is None:
            return "any"
        return ("tuple", [parse_type(e, depth + 1) for e in tup.children if e.type == "expression"])
    if name == "object" and len(args) == 1:
        obj = _collection(args[0], "object")
        if obj is None:
            return "any"
        attrs: dict[str, tuple[Type, bool, Any]] = {}
        for k, v in object_elems(obj):
            kname = k.text.decode("utf-8", "replace").strip().strip('"')
            attrs[kname] = _attr_type(v, depth + 1)
        return ("object", attrs)
    return "any"


def _attr_type(v: Any, depth: int) -> tuple[Type, bool, Any]:
    kids = _named(v) if v.type == "expression" else [v]
    if len(kids) == 1 and kids[0].type == "function_call" and kids[0].children[0].text == b"optional":
        fc = kids[0]
        args_node = next((c for c in fc.children if c.type == "function_arguments"), None)
        args = [c for c in args_node.children if c.type == "expression"] if args_node is not None else []
        if args:
            return (parse_type(args[0], depth), True, args[1] if len(args) > 1 else None)
    return (parse_type(v, depth), False, None)


def _collection(node: Any, kind: str) -> Any:
    kids = _named(node) if node.type == "expression" else [node]
    if len(kids) == 1 and kids[0].type == "collection_value":
        inner = _named(kids[0])
        if len(inner) == 1 and inner[0].type == kind:
            return inner[0]
    return None


def convert(value: Any, typ: Type, eval_default: Callable[[Any], Any], depth: int = 0) -> Any:
    """``value`` converted to ``typ``; values that cannot be converted
    statically are returned unchanged."""
    if typ == "any" or depth > MAX_TYPE_DEPTH or value is None or isinstance(value, (Unknown, Choice)):
        return value
    if typ == "string":
        if isinstance(value, (bool, int, float)):
            s = to_str(value)
            return s if isinstance(s, str) else value
        return value
    if typ == "number":
        if isinstance(value, str):
            n = to_number(value)
            return value if n is None else n
        return value
    if typ == "bool":
        if isinstance(value, str):
            b = to_bool(value)
            return value if b is None else b
        return value
    if not isinstance(typ, tuple):
        return value
    kind, inner = typ
    if kind in ("list", "set") and isinstance(value, list):
        out = LList((convert(x, inner, eval_default, depth + 1) for x in value), loc=getattr(value, "loc", None))
        return out
    if kind == "tuple" and isinstance(value, list) and len(value) == len(inner):
        return LList((convert(x, t, eval_default, depth + 1) for x, t in zip(value, inner)), loc=getattr(value, "loc", None))
    if kind == "map" and isinstance(value, dict):
        d = LDict(loc=getattr(value, "loc", None), key_locs=dict(getattr(value, "key_locs", {}) or {}))
        for k, v in value.items():
            d[k] = convert(v, inner, eval_default, depth + 1)
        return d
    if kind == "object" and isinstance(value, dict):
        d = LDict(loc=getattr(value, "loc", None), key_locs=dict(getattr(value, "key_locs", {}) or {}))
        for name, (t, optional, default_node) in inner.items():
            if name in value:
                v = value[name]
                if v is None and optional and default_node is not None:
                    v = eval_default(default_node)
                d[name] = convert(v, t, eval_default, depth + 1)
            elif optional:
                d[name] = convert(eval_default(default_node), t, eval_default, depth + 1) if default_node is not None else None
            else:
                d[name] = err(name)  # Terraform rejects the value
        return d
    return value
