"""Static evaluation of Terraform expressions. Whatever cannot be known
without running Terraform stays :class:`~iackms.model.Unknown` (or becomes a
:class:`~iackms.model.Choice` for an undecidable condition); nothing is
guessed."""

from __future__ import annotations

import base64
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..context import ScanContext
from ..model import (
    OPAQUE_CLOSE,
    OPAQUE_OPEN,
    THIS_ACCOUNT,
    UNK_OPEN,
    Choice,
    LDict,
    LList,
    Location,
    Note,
    Unknown,
    unknown_piece,
)
from . import tf_types
from .tf_funcs import FUNCTIONS, UNKNOWN_TOLERANT, FnError, Unresolved
from .tf_hcl import AttrNode, Block, SrcFile, hcl_parser, node_loc
from .tf_values import (
    ERROR,
    REF,
    LStr,
    contains_err,
    err,
    is_err,
    known_deep,
    relocate,
    tf_equal,
    to_bool,
    to_number,
    to_str,
)

MAX_DEPTH = 200
MAX_ITEMS = 100_000
TOO_DEEP = "nested too deeply"

KEY_TYPES = {
    "aws_kms_key": "key",
    "aws_kms_replica_key": "replica",
    "aws_kms_external_key": "external",
    "aws_kms_replica_external_key": "replica_external",
}
LINKABLE = set(KEY_TYPES) | {"aws_kms_custom_key_store", "aws_kms_alias", "aws_kms_grant", "aws_kms_key_policy"}
_BINOPS = {"+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||"}
_TPL_MARK = "__IACKMS_TPL__"
#: appended to the file name of a template while it is evaluated (its rows
#: are the wrapper's); template_string() puts the locations right
_TPL_FILE = "\ue006tpl"


@dataclass
class ModuleDef:
    """One module directory as written (parsed, not evaluated)."""

    dir: Path
    variables: dict[str, Block] = field(default_factory=dict)
    locals: dict[str, AttrNode] = field(default_factory=dict)
    outputs: dict[str, Block] = field(default_factory=dict)
    resources: dict[tuple[str, str], Block] = field(default_factory=dict)
    data: dict[tuple[str, str], Block] = field(default_factory=dict)
    modules: dict[str, Block] = field(default_factory=dict)
    tfvars: dict[str, AttrNode] = field(default_factory=dict)
    #: provider "aws" blocks by alias ("" for the default configuration)
    providers: dict[str, Block] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)
    #: later resource blocks with an address already taken (Terraform rejects
    #: them; iackms reports them and still checks their keys)
    duplicates: list[Block] = field(default_factory=list)


class Scope:
    """One instance of a module: its variables' values and its caches."""

    def __init__(
        self,
        mod: ModuleDef,
        ctx: ScanContext,
        root_dir: Path,
        prefix: str = "",
        inputs: dict[str, Callable[[], Any]] | None = None,
        report_loc: Location | None = None,
    ) -> None:
        self.mod = mod
        self.ctx = ctx
        self.root_dir = root_dir
        self.prefix = prefix
        self.inputs = inputs
        self.report_loc = report_loc
        self.children: dict[str, Scope | None] = {}
        self.parent: Scope | None = None
        #: the module block's ``providers`` map: child alias -> caller alias;
        #: None when the module block has none (the default is inherited)
        self.provider_map: dict[str, str] | None = None
        self.child_factory: Callable[[str], "Scope | None"] | None = None
        self.notes: list[Note] = []
        self._vars: dict[str, Any] = {}
        self._locals: dict[str, Any] = {}
        self._busy: set[str] = set()
        self._docs: dict[str, Any] = {}
        self._names: dict[tuple[str, str], Any] = {}
        self._absent: dict[int, bool] = {}
        self.ev = Ev(self)

    # --- named values -------------------------------------------------------------

    def var(self, name: str) -> Any:
        if name in self._vars:
            return self._vars[name]
        key = "var:" + name
        if key in self._busy:
            return Unknown("var." + name, "cycle")
        self._busy.add(key)
        try:
            v = self._var(name)
        finally:
            self._busy.discard(key)
        self._vars[name] = v
        return v

    def _var(self, name: str) -> Any:
        blk = self.mod.variables.get(name)
        if blk is None:
            return Unknown("var." + name)
        default = blk.attrs.get("default")
        value: Any
        if self.inputs is not None and name in self.inputs:
            value = self.inputs[name]()
        elif self.inputs is None and name in self.ctx.tf_vars:
            value = self.ctx.tf_vars[name]
        elif self.inputs is None and name in self.mod.tfvars:
            value = self.ev.attr(self.mod.tfvars[name], {"__const__": True})
        elif default is not None:
            value = self.ev.attr(default, {"__const__": True})
        else:
            return Unknown("var." + name)
        nullable = blk.attrs.get("nullable")
        if value is None and default is not None and nullable is not None and self.ev.attr(nullable, {"__const__": True}) is False:
            value = self.ev.attr(default, {"__const__": True})
        typ = blk.attrs.get("type")
        if typ is not None and not typ.file.is_json and isinstance(value, (dict, list, str)):
            value = tf_types.convert(value, tf_types.parse_type(typ.expr), lambda n: self.ev.node(n, typ.file, {"__const__": True}))
        return value

    def local(self, name: str) -> Any:
        if name in self._locals:
            return self._locals[name]
        a = self.mod.locals.get(name)
        if a is None:
            return err("local." + name)
        key = "local:" + name
        if key in self._busy:
            return Unknown("local." + name, "cycle")
        self._busy.add(key)
        try:
            v = self.ev.attr(a, {})
        finally:
            self._busy.discard(key)
        self._locals[name] = v
        return v

    def module_output(self, mname: str, oname: str, expr: str) -> Any:
        child = self.child(mname)
        if child is None:
            return Unknown(expr)
        out = child.mod.outputs.get(oname)
        if out is None or "value" not in out.attrs:
            return err(expr)
        return child.ev.attr(out.attrs["value"], {})

    def child(self, mname: str) -> "Scope | None":
        if mname not in self.children and self.child_factory is not None:
            self.children[mname] = None  # guards re-entry
            self.children[mname] = self.child_factory(mname)
        return self.children.get(mname)

    def policy_doc(self, name: str, expr: str) -> Any:
        if name in self._docs:
            return self._docs[name]
        blk = self.mod.data.get(("aws_iam_policy_document", name))
        if blk is None:
            return err(expr)
        key = "doc:" + name
        if key in self._busy:
            return Unknown(expr, "cycle")
        self._busy.add(key)
        try:
            from .tf_policydoc import convert_document

            v = convert_document(blk, self.ev, expr)
        finally:
            self._busy.discard(key)
        self._docs[name] = v
        return v

    def instance_env(self, blk: Block) -> dict[str, Any]:
        """Bindings for `each` / `count` inside a block with a static
        `for_each` or `count`: one value when there is one instance, else a
        Choice of every instance's value (rules judge the worst instance)."""
        k = id(blk)
        envs = self.__dict__.setdefault("_envs", {})
        if k in envs:
            return envs[k]
        envs[k] = {}  # guards re-entry
        env: dict[str, Any] = {}
        limit = 64
        if "for_each" in blk.attrs:
            v = self.ev.attr(blk.attrs["for_each"], {})
            items: list[tuple[Any, Any]] | None = None
            if isinstance(v, dict):
                items = list(v.items())
            elif isinstance(v, list) and all(isinstance(x, str) for x in v):
                items = [(x, x) for x in v]
            if items and len(items) <= limit:
                fe = blk.attrs["for_each"]
                src = fe.expr if isinstance(fe.expr, str) else (text(fe.expr) if hasattr(fe.expr, "text") else "")
                expr = f"each.value over {src[:80]}" if src else "each.value"
                env["each"] = {"key": mk_choice([a for a, _ in items], "each.key", blk.loc),
                               "value": mk_choice([b for _, b in items], expr, blk.loc)}
            elif isinstance(v, Unknown) and v.reason.startswith(REF):
                # for_each = aws_kms_key.x: each.value is an instance of that
                # resource, so each.value.key_id still links to it
                env["each"] = {"key": Unknown("each.key"), "value": Unknown("each.value", v.reason)}
        elif "count" in blk.attrs:
            c = to_number(self.ev.attr(blk.attrs["count"], {}))
            if c is not None and c == int(c) and 1 <= c <= limit:
                env["count"] = {"index": mk_choice(list(range(int(c))), "count.index", blk.loc)}
        envs[k] = env
        return env

    def absent(self, blk: Block) -> bool:
        """True when ``count``/``for_each`` statically give the block no
        instance."""
        k = id(blk)
        if k in self._absent:
            return self._absent[k]
        self._absent[k] = False  # guards re-entry
        res = False
        if "count" in blk.attrs:
            c = self.ev.attr(blk.attrs["count"], {})
            if to_number(c) == 0 and not isinstance(c, bool):
                res = True
        if not res and "for_each" in blk.attrs:
            v = self.ev.attr(blk.attrs["for_each"], {})
            if isinstance(v, (dict, list)) and len(v) == 0:
                res = True
        self._absent[k] = res
        return res

    def principal_name(self, rtype: str, rname: str, attr: str) -> Any:
        """name / path of an aws_iam_role or aws_iam_user defined here."""
        k = (rtype + "." + rname, attr)
        if k in self._names:
            return self._names[k]
        blk = self.mod.resources.get((rtype, rname))
        v: Any
        if blk is None:
            v = None
        elif attr in blk.attrs:
            key = "name:" + rtype + rname + attr
            if key in self._busy:
                return None
            self._busy.add(key)
            try:
                v = self.ev.attr(blk.attrs[attr], {})
            finally:
                self._busy.discard(key)
        else:
            v = "/" if attr == "path" else None
        self._names[k] = v
        return v

    def principal_arn(self, rtype: str, rname: str) -> str:
        kind = "role" if rtype == "aws_iam_role" else "user"
        name = self.principal_name(rtype, rname, "name")
        if not isinstance(name, str):
            name = unknown_piece(f"{rtype}.{rname}.name")
        path = self.principal_name(rtype, rname, "path")
        if not isinstance(path, str):
            path = unknown_piece(f"{rtype}.{rname}.path")
        return f"arn:aws:iam::{THIS_ACCOUNT}:{kind}{path}{name}"

    def provider(self, alias: str, depth: int = 0) -> "tuple[Scope, Block] | None":
        """The ``provider "aws"`` block (and the scope it is written in)
        that a resource using ``aws[.alias]`` gets."""
        if alias in self.mod.providers:
            return self, self.mod.providers[alias]
        if self.parent is None or depth > 20:
            return None
        if self.provider_map is None:
            return self.parent.provider(alias, depth + 1) if alias == "" else None
        if alias not in self.provider_map:
            return None
        return self.parent.provider(self.provider_map[alias], depth + 1)

    def path_module(self) -> str:
        try:
            r = os.path.relpath(str(self.mod.dir), str(self.root_dir))
        except ValueError:
            r = str(self.mod.dir)
        return r.replace(os.sep, "/")


def text(n: Any) -> str:
    return n.text.decode("utf-8", "replace")


def mk_choice(options: list[Any], expr: str, loc: Location | None) -> Any:
    uniq: list[Any] = []
    for o in options:
        if not any(_same(o, u) for u in uniq):
            uniq.append(o)
    if len(uniq) == 1:
        return uniq[0]
    return Choice(tuple(uniq), expr, loc)


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, (Unknown, Choice)):
        return a == b
    try:
        return bool(known_deep(a) and known_deep(b) and tf_equal(a, b))
    except Exception:  # noqa: BLE001
        return False


class Ev:
    """The expression evaluator of one module instance."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.depth = 0
        self._tpl_cache: dict[str, Any] = {}

    # --- entry points -------------------------------------------------------------

    def attr(self, a: AttrNode, env: dict[str, Any] | None = None) -> Any:
        env = env if env is not None else {}
        if a.file.is_json:
            return self.json_value(a.expr, a.file, env, a.loc)
        return self.node(a.expr, a.file, env)

    def node(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                self._too_deep(n, f)
                return Unknown(text(n)[:200], TOO_DEEP)
            h = _DISPATCH.get(n.type)
            if h is None:
                return Unknown(text(n))
            return h(self, n, f, env)
        finally:
            self.depth -= 1

    def _too_deep(self, n: Any, f: SrcFile) -> None:
        loc = node_loc(n, f.rel)
        if not any(x.loc.file == loc.file and x.message.endswith(TOO_DEEP + "; it is not evaluated") for x in self.scope.notes):
            self.scope.notes.append(Note("IKMS001", f"an expression in {f.rel} is {TOO_DEEP}; it is not evaluated", loc))

    # --- JSON (.tf.json) -------------------------------------------------------------

    def json_value(self, v: Any, f: SrcFile, env: dict[str, Any], loc: Location, depth: int = 0) -> Any:
        """A .tf.json value; ``loc`` is where it is written (for a string,
        the line of its key)."""
        if depth > MAX_DEPTH:
            return Unknown("...", TOO_DEEP)
        if isinstance(v, str):
            if "${" in v or "%{" in v:
                return self.template_string(v, f, env, None, at=loc)
            return v
        if isinstance(v, dict):
            kls = getattr(v, "key_locs", {}) or {}
            out = LDict(loc=getattr(v, "loc", None) or loc, key_locs=dict(kls))
            for k, x in v.items():
                kl = kls.get(k) or loc
                kk = self.json_value(k, f, env, kl, depth + 1) if isinstance(k, str) and "${" in k else k
                out[kk if isinstance(kk, str) else str(k)] = self.json_value(x, f, env, kl, depth + 1)
            return out
        if isinstance(v, list):
            return LList((self.json_value(x, f, env, loc, depth + 1) for x in v), loc=getattr(v, "loc", None) or loc)
        return v

    def template_string(self, s: str, f: SrcFile, env: dict[str, Any], loc: Location | None, tpl_file: SrcFile | None = None, at: Location | None = None) -> Any:
        """Evaluate ``s`` as a Terraform string template (a .tf.json string
        written at ``at``, or a templatefile() template whose text is
        ``loc``). Whatever the template builds is located where it is
        written, not in the wrapper it is parsed in."""
        src_file = tpl_file or SrcFile(f.path, f.rel)
        inner = SrcFile(src_file.path, src_file.rel + _TPL_FILE)
        v = self._template_string(s, inner, env, loc)
        if at is not None:
            def fn(x: Location) -> Location:
                return Location(src_file.rel, at.line, at.line, at.column) if x.file == inner.rel else x
        else:
            def fn(x: Location) -> Location:
                if x.file != inner.rel:
                    return x
                return Location(src_file.rel, max(1, x.line - 1), max(1, x.end_line - 1), x.column)
        for n in self.scope.notes:
            if n.loc.file == inner.rel:
                n.loc = fn(n.loc)
                n.message = n.message.replace(inner.rel, src_file.rel)
        return relocate(v, fn, inner.rel)

    def _template_string(self, s: str, f: SrcFile, env: dict[str, Any], loc: Location | None) -> Any:
        tree = self._tpl_cache.get(s)
        if tree is None:
            src = f"t = <<{_TPL_MARK}\n{s}\n{_TPL_MARK}\n".encode("utf-8", "surrogatepass")
            tree = hcl_parser().parse(src)
            if len(self._tpl_cache) < 256:
                self._tpl_cache[s] = tree
        root = tree.root_node
        if root.has_error:
            return Unknown(s[:200])
        try:
            expr = root.children[0].children[0].children[2]
        except IndexError:
            return Unknown(s[:200])
        hd = expr.children[0].children[0] if expr.child_count and expr.children[0].child_count else None
        if hd is None or hd.type != "heredoc_template":
            return Unknown(s[:200])
        v = self.heredoc(hd, f, env, drop_last_newline=True)
        if type(v) is LStr:
            if loc is None:
                return str(v)
            out = LStr(str(v), loc, "file")
            out.line_map = v.line_map
            return out
        return v

    # --- expressions -----------------------------------------------------------------

    def expression(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        return self.seq(n.children, n, f, env)

    def seq(self, nodes: list[Any], whole: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        nodes = [c for c in nodes if c.type != "comment"]
        if not nodes:
            return err(text(whole))
        first = nodes[0]
        if first.type == "(":
            if len(nodes) < 3:
                return err(text(whole))
            val = self.node(nodes[1], f, env)
            rest = nodes[3:]
        elif first.type == "variable_expr":
            val, rest = self.ref(nodes, whole, f, env)
        else:
            val = self.node(first, f, env)
            rest = nodes[1:]
        for p in rest:
            val = self.postfix(val, p, whole, f, env)
        return val

    def postfix(self, val: Any, p: Any, whole: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        if isinstance(val, Choice):
            return mk_choice([self.postfix(o, p, whole, f, env) for o in val.options], val.expr, val.loc)
        if isinstance(val, Unknown):
            if val.reason in (ERROR, TOO_DEEP):
                return val
            return Unknown(text(whole), val.reason if val.reason.startswith(REF) else "")
        t = p.type
        if t == "get_attr":
            name = text(p.children[-1])
            if isinstance(val, dict) and name in val:
                return val[name]
            return err(text(whole))
        if t == "index":
            inner = p.children[0]
            if inner.type == "legacy_index":
                key: Any = text(inner)[1:]
            else:
                ex = next((c for c in inner.children if c.type == "expression"), None)
                if ex is None:
                    return err(text(whole))
                key = self.node(ex, f, env)
            return self.index(val, key, whole)
        if t == "splat":
            sp = p.children[0]
            subs = [c for c in sp.children if c.type in ("get_attr", "index")]
            if val is None:
                return LList()
            items = val if isinstance(val, list) else [val]
            out = LList(loc=getattr(val, "loc", None))
            for it in items:
                for s in subs:
                    it = self.postfix(it, s, whole, f, env)
                out.append(it)
            return out
        return Unknown(text(whole))

    def index(self, val: Any, key: Any, whole: Any) -> Any:
        if isinstance(key, Choice):
            return mk_choice([self.index(val, k, whole) for k in key.options], text(whole), node_loc(whole, ""))
        if isinstance(key, Unknown) or (isinstance(key, str) and UNK_OPEN in key):
            return Unknown(text(whole)) if not is_err(key) else key
        if isinstance(val, list):
            i = to_number(key)
            if i is None or i != int(i) or not 0 <= int(i) < len(val):
                return err(text(whole))
            return val[int(i)]
        if isinstance(val, dict):
            k = to_str(key)
            if isinstance(k, str) and k in val:
                return val[k]
            return err(text(whole))
        return err(text(whole))

    # --- references --------------------------------------------------------------------

    def ref(self, nodes: list[Any], whole: Any, f: SrcFile, env: dict[str, Any]) -> tuple[Any, list[Any]]:
        name = text(nodes[0])
        steps = nodes[1:]
        if name in env:
            return env[name], steps
        if env.get("__tpl__") or env.get("__const__"):
            return err(_join(nodes)), []
        sc = self.scope
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
                return self._splat(blk, steps[i], whole, f, env, _join(nodes[:4]), lambda at, ex: self._data_ref(a0, a1, at, ex)), steps[3:]
            attr = _attr_name(steps[i]) if i < len(steps) else None
            expr = _join(nodes[: i + 2])
            return self._data_ref(a0, a1, attr, expr), steps[i + 1 :]
        if not a0:
            return Unknown(_join(nodes)), []
        if name in ("aws_iam_role", "aws_iam_user") and len(steps) > 1 and steps[1].type == "splat":
            blk = sc.mod.resources.get((name, a0))
            return self._splat(blk, steps[1], whole, f, env, _join(nodes[:3]), lambda at, ex: self._resource_ref(name, a0, at, ex, True)), steps[2:]
        i = 1
        while i < len(steps) and steps[i].type == "index":
            i += 1
        attr = _attr_name(steps[i]) if i < len(steps) else None
        expr = _join(nodes[: i + 2]) if attr else _join(nodes[: i + 1])
        rest = steps[i + 1 :] if attr else steps[i:]
        return self._resource_ref(name, a0, attr, expr, i > 1), rest

    def _splat(self, blk: Block | None, step: Any, whole: Any, f: SrcFile, env: dict[str, Any], expr: str, one: Callable[[str | None, str], Any]) -> Any:
        """``data.x.y[*].attr`` / ``aws_iam_role.r[*].arn``: one value per
        instance when the block's ``count`` is static (a block without
        ``count`` is one instance); otherwise Unknown."""
        if blk is None or "for_each" in blk.attrs:
            return Unknown(text(whole))
        n = 1
        if "count" in blk.attrs:
            c = to_number(self.attr(blk.attrs["count"], {}))
            if c is None or c != int(c) or not 0 <= c <= 64:
                return Unknown(text(whole))
            n = int(c)
        subs = [c for c in step.children[0].children if c.type in ("get_attr", "index")]
        at = _attr_name(subs[0]) if subs else None
        if at is None:
            return Unknown(text(whole))
        out = LList(loc=node_loc(whole, f.rel))
        for _ in range(n):
            v = one(at, expr)
            for sub in subs[1:]:
                v = self.postfix(v, sub, whole, f, env)
            out.append(v)
        return out

    def _data_ref(self, dtype: str, dname: str, attr: str | None, expr: str) -> Any:
        if dtype == "aws_caller_identity" and attr == "account_id":
            return THIS_ACCOUNT
        if dtype == "aws_caller_identity" and attr == "arn":
            # whoever runs Terraform: a principal of this account, of a kind known only at apply
            return f"arn:aws:iam::{THIS_ACCOUNT}:" + unknown_piece(expr)
        if dtype == "aws_partition" and attr == "partition":
            return "aws"
        if dtype == "aws_partition" and attr == "dns_suffix":
            return "amazonaws.com"
        if dtype == "aws_region" and attr in ("name", "region", "id"):
            return f"{OPAQUE_OPEN}data.aws_region.{dname}.{attr}{OPAQUE_CLOSE}"
        if dtype == "aws_iam_policy_document" and attr in ("json", "minified_json"):
            return self.scope.policy_doc(dname, expr)
        return Unknown(expr)

    def _resource_ref(self, rtype: str, rname: str, attr: str | None, expr: str, indexed: bool) -> Any:
        sc = self.scope
        blk = sc.mod.resources.get((rtype, rname))
        if blk is None:
            return Unknown(expr)
        if indexed and sc.absent(blk):
            return err(expr)  # an instance of a resource with no instances
        if rtype in LINKABLE:
            return Unknown(expr, f"{REF}{sc.prefix}{rtype}.{rname}")
        if rtype in ("aws_iam_role", "aws_iam_user"):
            if attr == "arn":
                return sc.principal_arn(rtype, rname)
            if attr in ("name", "id"):
                v = sc.principal_name(rtype, rname, "name")
                return v if isinstance(v, str) else Unknown(expr)
        return Unknown(expr)

    # --- literals and templates ---------------------------------------------------------

    def literal(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        c = n.children[0]
        t = c.type
        if t == "numeric_lit":
            s = text(c)
            try:
                return int(s)
            except ValueError:
                try:
                    return float(s)
                except ValueError:
                    return err(s)
        if t == "bool_lit":
            return text(c) == "true"
        if t == "null_lit":
            return None
        return self.node(c, f, env)

    def quoted(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        kids = n.children
        if len(kids) < 2:
            return err(text(n))
        start = kids[0].end_byte
        end = kids[-1].start_byte if kids[-1].type == "quoted_template_end" else n.end_byte
        v = self.template(n, kids[1:], start, end, f, env, heredoc=False, strip=0)
        if type(v) is str and "\n" not in v:
            return LStr(v, node_loc(n, f.rel))
        return v

    def template_expr(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        return self.node(n.children[0], f, env)

    def heredoc(self, n: Any, f: SrcFile, env: dict[str, Any], drop_last_newline: bool = False) -> Any:
        kids = n.children
        idents = [c for c in kids if c.type == "heredoc_identifier"]
        if len(idents) < 2:
            return err(text(n))
        dash = any(c.type == "heredoc_start" and text(c).startswith("<<-") for c in kids)
        base = n.text
        b0 = n.start_byte
        nl = base.find(b"\n", idents[0].end_byte - b0)
        if nl < 0:
            return err(text(n))
        start = b0 + nl + 1
        close = idents[-1]
        end = close.start_byte - close.start_point[1]
        if drop_last_newline and end > start:
            end -= 1  # the newline the template_string() wrapper added
        if end < start:
            end = start
        strip = 0
        if dash:
            strip = _min_indent(base[start - b0 : end - b0])
        body = [c for c in kids if c.type not in ("heredoc_start", "heredoc_identifier")]
        items: list[Any] = []
        r = self._tpl_parts(n, body, start, end, f, env, True, strip, items)
        if r is not None:
            return r
        if len(items) == 1 and isinstance(items[0], tuple) and items[0][0] == "V":
            return items[0][2]
        row0 = idents[0].start_point[0] + 1  # the body's first row
        v, rows = _assemble(items, row0)
        first = row0 + 1
        out = LStr(v, Location(f.rel, first, max(first, close.start_point[0]), 1 + strip))
        if any(x != i for i, x in enumerate(rows)):
            out.line_map = rows  # directives or strip markers moved lines
        return out

    def template(self, base: Any, kids: list[Any], start: int, end: int, f: SrcFile, env: dict[str, Any], heredoc: bool, strip: int) -> Any:
        items: list[Any] = []
        r = self._tpl_parts(base, kids, start, end, f, env, heredoc, strip, items)
        if r is not None:
            return r
        # a template that is exactly one interpolation yields the value itself
        if len(items) == 1 and isinstance(items[0], tuple) and items[0][0] == "V":
            return items[0][2]
        choices = [i for i, it in enumerate(items) if isinstance(it, tuple) and it[0] == "V" and isinstance(it[2], Choice)]
        if choices:
            return self._template_choice(items, choices, base)
        return _assemble(items, 0, False)[0]

    def _template_choice(self, items: list[Any], choices: list[int], base: Any) -> Any:
        """A template over Choices (e.g. `alias/${each.value}` with several
        instances) is a Choice of the strings it can produce (at most 16)."""
        combos: list[list[Any]] = [list(items)]
        for i in choices:
            opts = items[i][2].options
            nxt = []
            for c in combos:
                for o in opts:
                    so = to_str(o)
                    if isinstance(so, Unknown):
                        so = unknown_piece(text(base))
                    cc = list(c)
                    cc[i] = ("V", so, o, items[i][3])
                    nxt.append(cc)
            combos = nxt
            if len(combos) > 16:
                return _assemble(items, 0, False)[0]
        return mk_choice([_assemble(c, 0, False)[0] for c in combos], text(base), None)

    def _tpl_parts(self, base: Any, kids: list[Any], start: int, end: int, f: SrcFile, env: dict[str, Any], heredoc: bool, strip: int, items: list[Any]) -> Any:
        """Append literal/value pieces to ``items``; return a value (Unknown)
        to abort the whole template."""
        src = base.text
        b0 = base.start_byte
        pos = start
        for c in kids:
            t = c.type
            if t not in ("template_interpolation", "template_directive"):
                continue
            if c.start_byte < pos or c.end_byte > end:
                continue
            if c.start_byte > pos:
                items.append(("L", _literal(src[pos - b0 : c.start_byte - b0], heredoc, strip, _at_line_start(src, pos - b0, start - b0)), None, _row(base, src, pos)))
            if t == "template_interpolation":
                lead, trail = _strip_marks(c)
                ex = next((x for x in c.children if x.type == "expression"), None)
                if ex is None:
                    return err(text(base))
                v = self.node(ex, f, env)
                s = to_str(v)
                if isinstance(s, Unknown):
                    return s if s.reason in (ERROR, TOO_DEEP) else Unknown(text(base))
                if lead:
                    items.append(_STRIP_L)
                items.append(("V", s, v, c.start_point[0]))
                if trail:
                    items.append(_STRIP_R)
            else:
                r = self._directive(base, c.children[0], f, env, heredoc, strip, items, start)
                if r is not None:
                    return r
            pos = c.end_byte
        if end > pos:
            items.append(("L", _literal(src[pos - b0 : end - b0], heredoc, strip, _at_line_start(src, pos - b0, start - b0)), None, _row(base, src, pos)))
        return None

    def _directive(self, base: Any, d: Any, f: SrcFile, env: dict[str, Any], heredoc: bool, strip: int, items: list[Any], start: int) -> Any:
        kids = d.children
        if d.type == "template_if":
            intro = kids[0]
            else_i = next((k for k in kids if k.type == "template_else_intro"), None)
            end_n = next((k for k in kids if k.type == "template_if_end"), None)
            if end_n is None:
                return err(text(base))
            ex = next((x for x in intro.children if x.type == "expression"), None)
            if ex is None:
                return err(text(base))
            c = self.node(ex, f, env)
            b = to_bool(c)
            if b is None:
                return err(text(base)) if is_err(c) else Unknown(text(base))
            _mark(items, intro, lead=True)
            if b:
                _mark(items, intro, lead=False)
                stop = else_i if else_i is not None else end_n
                r = self._tpl_parts(base, kids, intro.end_byte, stop.start_byte, f, env, heredoc, strip, items)
                if r is not None:
                    return r
                _mark(items, stop, lead=True)
            elif else_i is not None:
                _mark(items, else_i, lead=False)
                r = self._tpl_parts(base, kids, else_i.end_byte, end_n.start_byte, f, env, heredoc, strip, items)
                if r is not None:
                    return r
                _mark(items, end_n, lead=True)
            _mark(items, end_n, lead=False)
            return None
        if d.type == "template_for":
            fs = kids[0]
            end_n = next((k for k in kids if k.type == "template_for_end"), None)
            if end_n is None:
                return err(text(base))
            names = [text(x) for x in fs.children if x.type == "identifier"]
            ex = next((x for x in fs.children if x.type == "expression"), None)
            if ex is None or not names:
                return err(text(base))
            coll = self.node(ex, f, env)
            pairs = _iterate(coll)
            if pairs is None:
                return err(text(base)) if is_err(coll) or coll is None else Unknown(text(base))
            _mark(items, fs, lead=True)
            for k, v in pairs:
                env2 = dict(env)
                if len(names) == 2:
                    env2[names[0]] = k
                    env2[names[1]] = v
                else:
                    env2[names[0]] = v
                _mark(items, fs, lead=False)
                r = self._tpl_parts(base, kids, fs.end_byte, end_n.start_byte, f, env2, heredoc, strip, items)
                if r is not None:
                    return r
                _mark(items, end_n, lead=True)
            _mark(items, end_n, lead=False)
            return None
        return Unknown(text(base))

    # --- collections -------------------------------------------------------------------

    def collection(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        return self.node(n.children[0], f, env)

    def tuple_(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        out = LList(loc=node_loc(n, f.rel))
        for c in n.children:
            if c.type == "expression":
                out.append(self.node(c, f, env))
        return out

    def object_(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        out = LDict(loc=node_loc(n, f.rel))
        for el in n.children:
            if el.type != "object_elem":
                continue
            kn = el.child_by_field_name("key")
            vn = el.child_by_field_name("val")
            if kn is None or vn is None:
                continue
            key = self.obj_key(kn, f, env)
            val = self.node(vn, f, env)
            if not isinstance(key, str) or UNK_OPEN in key:
                return Unknown(text(n))
            out[key] = val
            out.key_locs[key] = node_loc(kn, f.rel)
        return out

    def obj_key(self, kn: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        named = [c for c in kn.children if c.is_named]
        if len(named) == 1 and named[0].type == "variable_expr" and kn.child_count == 1:
            return text(named[0])
        k = self.node(kn, f, env)
        if isinstance(k, (bool, int, float)):
            s = to_str(k)
            return s
        return k

    def for_expr(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        fe = n.children[0]
        intro = next((c for c in fe.children if c.type == "for_intro"), None)
        if intro is None:
            return err(text(n))
        names = [text(x) for x in intro.children if x.type == "identifier"]
        coll_n = next((x for x in intro.children if x.type == "expression"), None)
        cond_n = next((c for c in fe.children if c.type == "for_cond"), None)
        cond = next((x for x in cond_n.children if x.type == "expression"), None) if cond_n is not None else None
        exprs = [c for c in fe.children if c.type == "expression"]
        if coll_n is None or not names or not exprs:
            return err(text(n))
        coll = self.node(coll_n, f, env)
        pairs = _iterate(coll)
        if pairs is None:
            if isinstance(coll, Choice):
                return mk_choice([self._for_over(fe, o, names, exprs, cond, f, env, n) for o in coll.options], text(n), node_loc(n, f.rel))
            return err(text(n)) if is_err(coll) or coll is None else Unknown(text(n))
        return self._for_items(fe, pairs, names, exprs, cond, f, env, n)

    def _for_over(self, fe: Any, coll: Any, names: list[str], exprs: list[Any], cond: Any, f: SrcFile, env: dict[str, Any], n: Any) -> Any:
        pairs = _iterate(coll)
        if pairs is None:
            return err(text(n)) if is_err(coll) or coll is None else Unknown(text(n))
        return self._for_items(fe, pairs, names, exprs, cond, f, env, n)

    def _for_items(self, fe: Any, pairs: list[tuple[Any, Any]], names: list[str], exprs: list[Any], cond: Any, f: SrcFile, env: dict[str, Any], n: Any) -> Any:
        is_obj = fe.type == "for_object_expr"
        grouped = any(c.type == "ellipsis" for c in fe.children)
        out_l = LList(loc=node_loc(n, f.rel))
        out_d = LDict(loc=node_loc(n, f.rel))
        for k, v in pairs:
            env2 = dict(env)
            if len(names) >= 2:
                env2[names[0]] = k
                env2[names[1]] = v
            else:
                env2[names[0]] = v
            if cond is not None:
                c = self.node(cond, f, env2)
                b = to_bool(c)
                if b is None:
                    return err(text(n)) if is_err(c) else Unknown(text(n))
                if not b:
                    continue
            if is_obj:
                if len(exprs) < 2:
                    return err(text(n))
                key = to_str(self.node(exprs[0], f, env2))
                if not isinstance(key, str) or UNK_OPEN in key:
                    return Unknown(text(n)) if not is_err(key) else key
                val = self.node(exprs[1], f, env2)
                if grouped:
                    out_d.setdefault(key, LList()).append(val)
                elif key in out_d:
                    return err(text(n))
                else:
                    out_d[key] = val
            else:
                out_l.append(self.node(exprs[0], f, env2))
        return out_d if is_obj else out_l

    # --- operators ---------------------------------------------------------------------

    def conditional(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        chain = _cond_chain(n)
        if chain is None:
            return err(text(n))
        return self._chain(chain, 0, n, f, env)

    def _chain(self, chain: list[Any], i: int, whole: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        if i == len(chain) - 1:
            return self.node(chain[i], f, env)
        c = self.node(chain[i], f, env)
        if is_err(c):
            return c
        b = to_bool(c)
        if b is True:
            return self.node(chain[i + 1], f, env)
        if b is False:
            return self._chain(chain, i + 2, whole, f, env)
        if not isinstance(c, (Unknown, Choice)) and not (isinstance(c, str) and UNK_OPEN in c):
            return err(text(whole))
        a = self.node(chain[i + 1], f, env)
        b2 = self._chain(chain, i + 2, whole, f, env)
        return mk_choice([a, b2], text(whole), node_loc(whole, f.rel))

    def operation(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        op = n.children[0]
        if op.type == "unary_operation":
            kids = op.children
            sym = kids[0].type
            v = self.seq(kids[1:], op, f, env)
            return _lift1(lambda x: _unary(sym, x, op), v, op, f)
        kids = op.children
        idx = next((i for i, c in enumerate(kids) if not c.is_named and c.type in _BINOPS), None)
        if idx is None:
            return err(text(n))
        sym = kids[idx].type
        left = self.seq(kids[:idx], op, f, env)
        if sym == "&&" and left is False:
            return False
        if sym == "||" and left is True:
            return True
        right = self.seq(kids[idx + 1 :], op, f, env)
        return _lift2(lambda a, b: _binary(sym, a, b, op), left, right, op, f)

    # --- functions ------------------------------------------------------------------------

    def call(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        name = text(n.children[0])
        argn = next((c for c in n.children if c.type == "function_arguments"), None)
        arg_nodes = [c for c in argn.children if c.type == "expression"] if argn is not None else []
        expand = argn is not None and any(c.type == "ellipsis" for c in argn.children)
        whole = text(n)
        if name == "try":
            last: Any = err(whole)
            for a in arg_nodes:
                v = self.node(a, f, env)
                if is_err(v) or contains_err(v):
                    last = v if is_err(v) else err(whole)
                    continue
                return v
            return last
        if name == "can":
            if len(arg_nodes) != 1:
                return err(whole)
            v = self.node(arg_nodes[0], f, env)
            if is_err(v) or contains_err(v):
                return False
            return True if known_deep(v) else Unknown(whole)
        args = [self.node(a, f, env) for a in arg_nodes]
        if expand and args:
            last_v = args[-1]
            if isinstance(last_v, list):
                args = args[:-1] + list(last_v)
            else:
                return Unknown(whole) if not is_err(last_v) else last_v
        for a in args:
            if is_err(a):
                return a
        if name in ("file", "templatefile", "fileexists", "filebase64"):
            return _lift_args(lambda xs: self._file_fn(name, xs, whole), args, whole, node_loc(n, f.rel))
        fn = FUNCTIONS.get(name)
        if fn is None:
            return Unknown(whole)
        if name not in UNKNOWN_TOLERANT and any(isinstance(a, Unknown) for a in args):
            return _with_ref(Unknown(whole), args)

        def run(xs: list[Any]) -> Any:
            if name not in UNKNOWN_TOLERANT and any(isinstance(a, (Unknown, Choice)) for a in xs):
                return Unknown(whole)
            try:
                return fn(xs)
            except Unresolved:
                return Unknown(whole)
            except FnError:
                return err(whole)
            except (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError, OverflowError, RecursionError):
                return Unknown(whole)

        return _with_ref(_lift_args(run, args, whole, node_loc(n, f.rel)), args)

    def _file_fn(self, name: str, args: list[Any], whole: str) -> Any:
        if any(isinstance(a, (Unknown, Choice)) for a in args) or not args:
            return Unknown(whole)
        p = args[0]
        if not isinstance(p, str):
            return err(whole)
        if UNK_OPEN in p or OPAQUE_OPEN in p or THIS_ACCOUNT in p:
            return Unknown(whole)
        sc = self.scope
        path = Path(p) if os.path.isabs(p) else sc.root_dir / p
        if name == "fileexists":
            if not sc.ctx.inside_roots(path):
                return Unknown(whole, "outside the scan roots")
            return path.is_file()
        if not sc.ctx.inside_roots(path):
            return Unknown(whole, f"{p} is outside the scan root and is never read")
        rel = sc.ctx.rel(path)
        if not path.is_file():
            return Unknown(whole, f"{rel} does not exist")
        if name == "filebase64":
            return self._filebase64(path, rel, whole)
        content = sc.ctx.read_text(path)
        if content is None:
            return Unknown(whole, f"{rel} cannot be read as UTF-8 text within the size limit")
        loc = Location(rel, 1, content.count("\n") + 1, 1)
        if name == "file":
            return LStr(content, loc, "file")
        vars_ = args[1] if len(args) > 1 else LDict()
        if not isinstance(vars_, dict):
            return err(whole)
        env = {str(k): v for k, v in vars_.items()}
        env["__tpl__"] = True
        tf = SrcFile(path, rel)
        return self.template_string(content, tf, env, loc, tf)

    def _filebase64(self, path: Path, rel: str, whole: str) -> Any:
        """filebase64(): the file's bytes (inside the scan roots, within the
        size limit) as base64 text."""
        ctx = self.scope.ctx
        try:
            if path.stat().st_size > ctx.max_file_size:
                return Unknown(whole, f"{rel} is over the size limit and is not read")
            data = path.read_bytes()
        except OSError:
            return Unknown(whole, f"{rel} cannot be read")
        if len(data) > ctx.max_file_size:
            return Unknown(whole, f"{rel} is over the size limit and is not read")
        return base64.b64encode(data).decode("ascii")


# --- helpers -------------------------------------------------------------------------


def _join(nodes: list[Any]) -> str:
    return "".join(text(x) for x in nodes)


def _attr_name(step: Any) -> str | None:
    if step.type == "get_attr":
        return text(step.children[-1])
    return None


def _with_ref(res: Any, args: list[Any]) -> Any:
    """An unknown function result that depends on exactly one KMS resource
    still says which one (to link aliases, grants and key policies)."""
    if isinstance(res, Unknown) and not res.reason:
        refs = {u.reason for a in args for u in _unknowns(a) if u.reason.startswith(REF)}
        if len(refs) == 1:
            return Unknown(res.expr, refs.pop())
    return res


def _unknowns(v: Any, depth: int = 0) -> list[Unknown]:
    if isinstance(v, Unknown):
        return [v]
    if depth > 3:
        return []
    if isinstance(v, list):
        return [u for x in v for u in _unknowns(x, depth + 1)]
    if isinstance(v, Choice):
        return [u for x in v.options for u in _unknowns(x, depth + 1)]
    return []


def _iterate(coll: Any) -> list[tuple[Any, Any]] | None:
    if isinstance(coll, dict):
        return list(coll.items())
    if isinstance(coll, list):
        return list(enumerate(coll))
    return None


def _cond_chain(n: Any, depth: int = 0) -> list[Any] | None:
    exprs = [c for c in n.children if c.type == "expression"]
    if len(exprs) != 3 or depth > MAX_DEPTH:
        return None
    c0 = exprs[0]
    named = [c for c in c0.children if c.is_named]
    if len(named) == 1 and named[0].type == "conditional" and c0.child_count == 1:
        # tree-sitter-hcl parses `a ? b : c ? d : e` as `(a ? b : c) ? d : e`;
        # HCL means `a ? b : (c ? d : e)`
        inner = _cond_chain(named[0], depth + 1)
        if inner is None:
            return None
        return inner + exprs[1:]
    return exprs


def _min_indent(body: bytes) -> int:
    best: int | None = None
    for line in body.split(b"\n"):
        stripped = line.lstrip(b" \t")
        if not stripped.strip(b"\r"):
            continue
        ind = len(line) - len(stripped)
        best = ind if best is None else min(best, ind)
    return best or 0


def _at_line_start(src: bytes, rel_pos: int, rel_start: int) -> bool:
    return rel_pos == rel_start or (rel_pos > 0 and src[rel_pos - 1 : rel_pos] == b"\n")


_ESC = re.compile(r'\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)', re.S)
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def _unescape(m: re.Match) -> str:
    s = m.group(1)
    if s[0] in "uU" and len(s) > 1:
        try:
            return chr(int(s[1:], 16))
        except (ValueError, OverflowError):
            return m.group(0)
    return _SIMPLE.get(s, m.group(0))


def _literal(raw: bytes, heredoc: bool, strip: int, line_start: bool) -> str:
    s = raw.decode("utf-8", "replace")
    if strip:
        lines = s.split("\n")
        for i, ln in enumerate(lines):
            if i == 0 and not line_start:
                continue
            k = 0
            while k < strip and k < len(ln) and ln[k] in " \t":
                k += 1
            lines[i] = ln[k:]
        s = "\n".join(lines)
    if not heredoc and "\\" in s:
        s = _ESC.sub(_unescape, s)
    return s.replace("$${", "${").replace("%%{", "%{")


_STRIP_L = "strip-left"
_STRIP_R = "strip-right"


def _strip_marks(n: Any) -> tuple[bool, bool]:
    kids = n.children
    lead = trail = False
    for i, c in enumerate(kids):
        if c.type == "strip_marker":
            prev = kids[i - 1].type if i > 0 else ""
            if prev in ("template_interpolation_start", "template_directive_start"):
                lead = True
            else:
                trail = True
    return lead, trail


def _mark(items: list[Any], tag: Any, lead: bool) -> None:
    """Push the strip marker of a directive tag: ``%{~`` strips the
    whitespace before the tag, ``~}`` the whitespace after it."""
    ld, tr = _strip_marks(tag)
    if lead and ld:
        items.append(_STRIP_L)
    elif not lead and tr:
        items.append(_STRIP_R)


def _row(base: Any, src: bytes, pos: int) -> int:
    """The 0-based source row of byte ``pos`` inside node ``base`` (whose
    text is ``src``)."""
    return base.start_point[0] + src.count(b"\n", 0, pos - base.start_byte)


def _assemble(items: list[Any], row0: int, want_rows: bool = True) -> tuple[str, list[int]]:
    """The text of a template and, for each of its lines, the source line it
    comes from (relative to row ``row0``): directives and strip markers
    remove lines, so the text's lines are not the source's."""
    out: list[list[Any]] = []
    strip_next = False
    for it in items:
        if it == _STRIP_L:
            if out and out[-1][1]:
                out[-1][0] = out[-1][0].rstrip()
            continue
        if it == _STRIP_R:
            strip_next = True
            continue
        kind, s, row = it[0], it[1], it[3]
        lit = kind == "L"
        if lit and strip_next:
            t = s.lstrip()
            row += s[: len(s) - len(t)].count("\n")
            s = t
        strip_next = False
        out.append([s, lit, row])
    rows: list[int] = []
    if not want_rows:
        return "".join(x[0] for x in out), rows
    need = True
    last = row0
    for s, lit, row in out:
        if not s:
            continue
        parts = s.split("\n")
        for j, part in enumerate(parts):
            if j > 0:
                need = True
            last = row + j if lit else row
            if need and (part or j < len(parts) - 1):
                rows.append(last - row0)
                need = False
    if need:
        rows.append(last - row0 + (1 if rows else 0))
    return "".join(x[0] for x in out), rows


def _lift1(fn: Callable[[Any], Any], v: Any, whole: Any, f: SrcFile) -> Any:
    if isinstance(v, Choice):
        return mk_choice([_lift1(fn, o, whole, f) for o in v.options], text(whole), node_loc(whole, f.rel))
    return fn(v)


def _lift2(fn: Callable[[Any, Any], Any], a: Any, b: Any, whole: Any, f: SrcFile) -> Any:
    if isinstance(a, Choice) or isinstance(b, Choice):
        ao = a.options if isinstance(a, Choice) else (a,)
        bo = b.options if isinstance(b, Choice) else (b,)
        if len(ao) * len(bo) > 16:
            return Unknown(text(whole))
        return mk_choice([_lift2(fn, x, y, whole, f) for x in ao for y in bo], text(whole), node_loc(whole, f.rel))
    return fn(a, b)


def _lift_args(fn: Callable[[list[Any]], Any], args: list[Any], whole: str, loc: Location) -> Any:
    idx = [i for i, a in enumerate(args) if isinstance(a, Choice)]
    if not idx:
        return fn(args)
    combos: list[list[Any]] = [list(args)]
    for i in idx:
        new: list[list[Any]] = []
        for c in combos:
            for o in args[i].options:
                d = list(c)
                d[i] = o
                new.append(d)
        combos = new
        if len(combos) > 16:
            return Unknown(whole)
    return mk_choice([_lift_args(fn, c, whole, loc) for c in combos], whole, loc)


def _unary(sym: str, v: Any, whole: Any) -> Any:
    if isinstance(v, Unknown):
        return v if is_err(v) else Unknown(text(whole))
    if sym == "!":
        b = to_bool(v)
        if b is None:
            return Unknown(text(whole)) if isinstance(v, str) and UNK_OPEN in v else err(text(whole))
        return not b
    if sym == "-":
        x = to_number(v)
        if x is None:
            return Unknown(text(whole)) if isinstance(v, str) and UNK_OPEN in v else err(text(whole))
        return -x
    return err(text(whole))


def _num_result(x: float) -> Any:
    if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def _binary(sym: str, a: Any, b: Any, whole: Any) -> Any:
    t = text(whole)
    if is_err(a):
        return a
    if is_err(b):
        return b
    if sym in ("==", "!="):
        e = tf_equal(a, b)
        if e is None:
            return Unknown(t)
        return e if sym == "==" else not e
    if sym in ("&&", "||"):
        x, y = to_bool(a), to_bool(b)
        if sym == "&&" and (x is False or y is False):
            return False
        if sym == "||" and (x is True or y is True):
            return True
        if x is None or y is None:
            unk = isinstance(a, Unknown) or isinstance(b, Unknown) or (isinstance(a, str) and UNK_OPEN in a) or (isinstance(b, str) and UNK_OPEN in b)
            return Unknown(t) if unk else err(t)
        return (x and y) if sym == "&&" else (x or y)
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return Unknown(t)
    x, y = to_number(a), to_number(b)
    if x is None or y is None:
        unk = (isinstance(a, str) and UNK_OPEN in a) or (isinstance(b, str) and UNK_OPEN in b)
        return Unknown(t) if unk else err(t)
    try:
        if sym == "+":
            return x + y
        if sym == "-":
            return x - y
        if sym == "*":
            return x * y
        if sym == "/":
            return _num_result(x / y)
        if sym == "%":
            return _num_result(x % y) if (x >= 0) == (y >= 0) else _num_result(-((-x) % y) if x < 0 else x % y)
        if sym == "<":
            return x < y
        if sym == ">":
            return x > y
        if sym == "<=":
            return x <= y
        if sym == ">=":
            return x >= y
    except (ZeroDivisionError, OverflowError):
        return err(t)
    return err(t)


_DISPATCH: dict[str, Callable[[Ev, Any, SrcFile, dict[str, Any]], Any]] = {
    "expression": Ev.expression,
    "literal_value": Ev.literal,
    "string_lit": Ev.quoted,
    "quoted_template": Ev.quoted,
    "template_expr": Ev.template_expr,
    "heredoc_template": Ev.heredoc,
    "collection_value": Ev.collection,
    "tuple": Ev.tuple_,
    "object": Ev.object_,
    "for_expr": Ev.for_expr,
    "conditional": Ev.conditional,
    "operation": Ev.operation,
    "function_call": Ev.call,
    "variable_expr": lambda ev, n, f, env: ev.seq([n], n, f, env),
}
