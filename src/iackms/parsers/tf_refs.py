"""What a name in a Terraform expression refers to: ``var.*``,
``local.*``, ``module.*`` outputs and ``path.*`` (from the
:class:`~.tf_scope.Scope`), ``each``/``count`` (from the environment),
resources and data sources (from :mod:`.tf_aws`), with their splats."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable

from ..model import LList, Unknown
from .tf_aws import IAM_PRINCIPALS, data_ref, resource_ref
from .tf_hcl import AttrNode, Block, SrcFile, node_loc, node_text
from .tf_values import err, to_number

if TYPE_CHECKING:
    from .tf_expr import Ev

#: a splat over a block with a static ``count`` above this is not expanded
MAX_SPLAT = 64


def reference(ev: "Ev", nodes: list[Any], whole: Any, f: SrcFile, env: dict[str, Any]) -> tuple[Any, list[Any]]:
    """The value a reference starts with (``nodes[0]`` is its name, the
    rest its attribute, index and splat steps), and the steps it has not
    used (the caller applies them to the value)."""
    name = node_text(nodes[0])
    steps = nodes[1:]
    if name in env:
        return env[name], steps
    if env.get("__tpl__") or env.get("__const__"):
        return err(_join(nodes)), []
    sc = ev.scope
    a0 = _attr_name(steps[0]) if steps else None
    if name == "var" and a0:
        return sc.var(a0), steps[1:]
    if name == "local" and a0:
        return sc.local(a0), steps[1:]
    if name == "module" and a0:
        a1 = _attr_name(steps[1]) if len(steps) > 1 else None
        if a1:
            return sc.module_output(a0, a1, _join(nodes[:3])), steps[2:]
        return Unknown(_join(nodes)), []
    if name == "path" and a0:
        if a0 == "module":
            return sc.path_module(), steps[1:]
        if a0 == "root":
            return ".", steps[1:]
        if a0 == "cwd":
            return str(sc.root_dir), steps[1:]
        return err(_join(nodes[:2])), steps[1:]
    if name in ("count", "each", "self", "terraform"):
        return Unknown(_join(nodes)), []
    if name == "data":
        a1 = _attr_name(steps[1]) if len(steps) > 1 else None
        if not a0 or not a1:
            return Unknown(_join(nodes)), []
        i = 2
        while i < len(steps) and steps[i].type == "index":
            i += 1
        if i == 2 and i < len(steps) and steps[i].type == "splat":
            blk = sc.mod.data.get((a0, a1))
            return _splat(ev, blk, steps[i], whole, f, env, _join(nodes[:4]), lambda at, ex: data_ref(sc, a0, a1, at, ex)), steps[3:]
        attr = _attr_name(steps[i]) if i < len(steps) else None
        expr = _join(nodes[: i + 2])
        return data_ref(sc, a0, a1, attr, expr), steps[i + 1 :]
    if not a0:
        return Unknown(_join(nodes)), []
    if name in IAM_PRINCIPALS and len(steps) > 1 and steps[1].type == "splat":
        blk = sc.mod.resources.get((name, a0))
        return _splat(ev, blk, steps[1], whole, f, env, _join(nodes[:3]), lambda at, ex: resource_ref(sc, name, a0, at, ex, True)), steps[2:]
    i = 1
    while i < len(steps) and steps[i].type == "index":
        i += 1
    attr = _attr_name(steps[i]) if i < len(steps) else None
    expr = _join(nodes[: i + 2]) if attr else _join(nodes[: i + 1])
    rest = steps[i + 1 :] if attr else steps[i:]
    return resource_ref(sc, name, a0, attr, expr, i > 1), rest


def _splat(ev: "Ev", blk: Block | None, step: Any, whole: Any, f: SrcFile, env: dict[str, Any], expr: str, one: Callable[[str | None, str], Any]) -> Any:
    """``data.x.y[*].attr`` / ``aws_iam_role.r[*].arn``: one value per
    instance when the block's ``count`` is static (a block without
    ``count`` is one instance); otherwise Unknown."""
    if blk is None or "for_each" in blk.attrs:
        return Unknown(node_text(whole))
    n = 1
    if "count" in blk.attrs:
        c = to_number(ev.attr(blk.attrs["count"], {}))
        if c is None or c != int(c) or not 0 <= c <= MAX_SPLAT:
            return Unknown(node_text(whole))
        n = int(c)
    subs = [c for c in step.children[0].children if c.type in ("get_attr", "index")]
    at = _attr_name(subs[0]) if subs else None
    if at is None:
        return Unknown(node_text(whole))
    out = LList(loc=node_loc(whole, f.rel))
    for _ in range(n):
        v = one(at, expr)
        for sub in subs[1:]:
            v = ev.postfix(v, sub, whole, f, env)
        out.append(v)
    return out


_PLAIN_TEMPLATE = re.compile(r'^"?\$\{\s*(var|local)\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}"?$')


def plain_reference(a: AttrNode) -> tuple[str, str] | None:
    """``("var", "x")`` / ``("local", "y")`` when the attribute's whole
    expression is ``var.x`` / ``local.y`` (or ``"${var.x}"``, which is the
    same value): its value is then the one written where that name is set."""
    if a.file.is_json:
        m = _PLAIN_TEMPLATE.match(a.expr) if isinstance(a.expr, str) else None
        return (m.group(1), m.group(2)) if m else None
    kids = [c for c in a.expr.children if c.type != "comment"]
    if len(kids) == 2 and kids[0].type == "variable_expr" and kids[1].type == "get_attr":
        kind = node_text(kids[0])
        name = _attr_name(kids[1])
        return (kind, name) if kind in ("var", "local") and name else None
    if len(kids) == 1 and kids[0].type == "template_expr":
        m = _PLAIN_TEMPLATE.match(node_text(kids[0]))
        return (m.group(1), m.group(2)) if m else None
    return None


def _join(nodes: list[Any]) -> str:
    return "".join(node_text(x) for x in nodes)


def _attr_name(step: Any) -> str | None:
    if step.type == "get_attr":
        return node_text(step.children[-1])
    return None
