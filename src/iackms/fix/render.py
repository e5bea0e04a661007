"""A policy statement (IAM JSON structure: ``Sid``, ``Effect``,
``Principal``, ``Action``, ``Resource``, ``Condition``) written the way each
format writes it: HCL object syntax for ``jsonencode``, an
``aws_iam_policy_document`` ``statement`` block, YAML block style, JSON. The
result is laid out as ``terraform fmt``, a YAML dumper and ``json.dumps``
lay it out; the editors indent it where it goes."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from .edits import scalar_text

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


# --- HCL ---------------------------------------------------------------------------------


def hcl_string(s: str) -> str:
    """A quoted HCL string with JSON escapes. A ``${...}`` in it is a Terraform
    interpolation (rules write ``data.aws_region.current.name`` so); IAM's own
    policy variables must be written ``$${...}``. ``%{`` directives are escaped."""
    return json.dumps(s, ensure_ascii=False).replace("%{", "%%{")


def hcl_key(k: str) -> str:
    return k if _IDENT.fullmatch(k) else hcl_string(k)


def _hcl_one_line(v: Any) -> str | None:
    """``v`` on one line, when it is short and simple enough to be written so."""
    if isinstance(v, str):
        return hcl_string(v)
    if isinstance(v, (bool, int, float)):
        return scalar_text(v)
    if v is None:
        return "null"
    if isinstance(v, list):
        parts = [_hcl_one_line(x) for x in v]
        if all(p is not None and "\n" not in p for p in parts) and not any(isinstance(x, (dict, list)) for x in v):
            text = "[" + ", ".join(parts) + "]"  # type: ignore[arg-type]
            return text if len(text) <= 80 else None
        return None
    if isinstance(v, dict):
        if not v:
            return "{}"
        if len(v) == 1:
            (k, x), = v.items()
            inner = _hcl_one_line(x)
            if inner is not None and not isinstance(x, dict):
                text = f"{{ {hcl_key(k)} = {inner} }}"
                return text if len(text) <= 80 else None
        return None
    return hcl_string(str(v))


def hcl_value(v: Any, indent: str, unit: str = "  ") -> str:
    """``v`` as an HCL expression; lines after the first start at ``indent``
    (the indentation of the line the value starts on)."""
    one = _hcl_one_line(v)
    if one is not None:
        return one
    inner = indent + unit
    if isinstance(v, list):
        return "[\n" + "".join(f"{inner}{hcl_value(x, inner, unit)},\n" for x in v) + f"{indent}]"
    assert isinstance(v, dict)
    return "{\n" + "\n".join(hcl_entries([(hcl_key(str(k)), x) for k, x in v.items()], inner, unit)) + f"\n{indent}}}"


def hcl_entries(items: list[tuple[str, Any]], indent: str, unit: str = "  ", op: str = "=") -> list[str]:
    """``key = value`` lines at ``indent``, the `=` of consecutive one-line
    entries aligned as `terraform fmt` aligns them."""
    rendered = [(k, hcl_value(v, indent, unit)) for k, v in items]
    lines: list[str] = []
    group: list[tuple[str, str]] = []

    def flush() -> None:
        width = max((len(k) for k, _ in group), default=0)
        lines.extend(f"{indent}{k}{' ' * (width - len(k))} {op} {t}" for k, t in group)
        group.clear()

    for k, text in rendered:
        if "\n" in text:  # a multi-line value is not aligned and ends the group
            flush()
            lines.append(f"{indent}{k} {op} {text}")
        else:
            group.append((k, text))
    flush()
    return lines


def _list(v: Any) -> list:
    return v if isinstance(v, list) else [v]


def policy_document_block(st: dict, indent: str, unit: str = "  ") -> list[str]:
    """An ``aws_iam_policy_document`` ``statement { ... }`` block."""
    inner = indent + unit
    attrs: list[tuple[str, Any]] = []
    for key, name in (("Sid", "sid"), ("Effect", "effect")):
        if key in st:
            attrs.append((name, st[key]))
    for key, name in (("Action", "actions"), ("NotAction", "not_actions"), ("Resource", "resources"), ("NotResource", "not_resources")):
        if key in st:
            attrs.append((name, _list(st[key])))
    lines = [f"{indent}statement {{", *hcl_entries(attrs, inner, unit)]
    for key, name in (("Principal", "principals"), ("NotPrincipal", "not_principals")):
        p = st.get(key)
        if p is None:
            continue
        items = {"AWS": p} if p == "*" else p
        for ptype, ids in items.items():
            lines += [f"{inner}{name} {{",
                      *hcl_entries([("type", ptype), ("identifiers", _list(ids))], inner + unit, unit), f"{inner}}}"]
    for test, conds in (st.get("Condition") or {}).items():
        for variable, values in conds.items():
            lines += [f"{inner}condition {{",
                      *hcl_entries([("test", test), ("variable", variable), ("values", _list(values))], inner + unit, unit),
                      f"{inner}}}"]
    lines.append(f"{indent}}}")
    return lines


# --- YAML and JSON -----------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style with sequences indented under their key, as templates are
    usually written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)


class _Short(str):
    """An intrinsic function written with its short tag (``!Sub text``)."""

    tag = ""


def _short_tag(dumper: yaml.SafeDumper, s: _Short) -> Any:
    return dumper.represent_scalar(s.tag, str(s))


_Dumper.add_representer(_Short, _short_tag)  # (inherited by _DoubleQuoting)


def _with_short_tags(v: Any) -> Any:
    """``{"Fn::Sub": "text"}`` (and ``Ref``, ``Fn::ImportValue`` of a
    string) as ``!Sub text``; other structures unchanged."""
    if isinstance(v, dict):
        if len(v) == 1:
            (k, x), = v.items()
            if isinstance(x, str) and (k == "Ref" or k.startswith("Fn::")) and k != "Fn::GetAtt":
                s = _Short(x)
                s.tag = "!" + k.removeprefix("Fn::")
                return s
        return {k: _with_short_tags(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_with_short_tags(x) for x in v]
    return v


class _DoubleQuoting(_Dumper):
    """A string that needs quotes gets double quotes (``"*"``), as in a
    template that writes them so."""

    def choose_scalar_style(self) -> Any:
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def yaml_lines(v: Any, unit: int = 2, short_tags: bool = False, double_quotes: bool = False) -> list[str]:
    """``v`` in YAML block style (not indented); with ``short_tags``, the
    intrinsic functions of a string as the template writes them (``!Sub``);
    with ``double_quotes``, quoted strings in double quotes."""
    if short_tags:
        v = _with_short_tags(v)
    text = yaml.dump(v, Dumper=_DoubleQuoting if double_quotes else _Dumper, sort_keys=False, default_flow_style=False,
                     indent=unit, width=10**6, allow_unicode=True)
    return text.rstrip("\n").split("\n")


def json_lines(v: Any, unit: str = "  ") -> list[str]:
    """``v`` as indented JSON (not indented itself)."""
    return json.dumps(v, indent=unit, ensure_ascii=False).split("\n")
