"""The Terraform expression evaluator: one :class:`Ev` per module instance
turns tree-sitter expression nodes (and .tf.json values) into values.
Names are resolved by :mod:`.tf_refs`; templates are
:mod:`.tf_template`, operators :mod:`.tf_ops`, built-in functions
:mod:`.tf_funcs` and :mod:`.tf_files`. Whatever cannot be known without
running Terraform stays :class:`~iackms.model.Unknown` (or becomes a
:class:`~iackms.model.Choice` for an undecidable condition); nothing is
guessed."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Callable

from ..model import CONDITION, UNK_OPEN, Choice, LDict, LList, Location, Note, Switch, Unknown
from .tf_files import FILE_FUNCTIONS, file_call
from .tf_funcs import FUNCTIONS, UNKNOWN_TOLERANT, FnError, Unresolved
from .tf_hcl import AttrNode, SrcFile, node_loc, node_text, object_elems
from .tf_ops import binary, lift1, lift2, lift_args, unary
from .tf_refs import reference
from .tf_template import heredoc, quoted, template_expr, template_string
from .tf_values import (
    TOO_DEEP,
    contains_err,
    err,
    is_err,
    iterate,
    known_deep,
    mk_choice,
    remap,
    to_bool,
    to_number,
    to_str,
)

if TYPE_CHECKING:
    from .tf_scope import Scope

MAX_DEPTH = 200
_BINOPS = {"+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||"}


class Ev:
    """The expression evaluator of one module instance."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.depth = 0
        #: parsed templates by text (templatefile() and .tf.json strings)
        self.tpl_cache: dict[str, Any] = {}

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
                return Unknown(node_text(n)[:200], TOO_DEEP)
            h = _DISPATCH.get(n.type)
            if h is None:
                return Unknown(node_text(n))
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
                return template_string(self, v, f, env, None, at=loc)
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

    # --- expressions -----------------------------------------------------------------

    def expression(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        return self.seq(n.children, n, f, env)

    def seq(self, nodes: list[Any], whole: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        nodes = [c for c in nodes if c.type != "comment"]
        if not nodes:
            return err(node_text(whole))
        first = nodes[0]
        if first.type == "(":
            if len(nodes) < 3:
                return err(node_text(whole))
            val = self.node(nodes[1], f, env)
            rest = nodes[3:]
        elif first.type == "variable_expr":
            val, rest = reference(self, nodes, whole, f, env)
        else:
            val = self.node(first, f, env)
            rest = nodes[1:]
        for p in rest:
            val = self.postfix(val, p, whole, f, env)
        return val

    def postfix(self, val: Any, p: Any, whole: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        if isinstance(val, Choice):
            return remap(val, [self.postfix(o, p, whole, f, env) for o in val.options])
        if isinstance(val, Unknown):
            if val.error or val.reason == TOO_DEEP:
                return val
            return Unknown(node_text(whole), ref=val.ref)
        t = p.type
        if t == "get_attr":
            name = node_text(p.children[-1])
            if isinstance(val, dict) and name in val:
                return val[name]
            return err(node_text(whole))
        if t == "index":
            inner = p.children[0]
            if inner.type == "legacy_index":
                key: Any = node_text(inner)[1:]
            else:
                ex = next((c for c in inner.children if c.type == "expression"), None)
                if ex is None:
                    return err(node_text(whole))
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
        return Unknown(node_text(whole))

    def index(self, val: Any, key: Any, whole: Any) -> Any:
        if isinstance(key, Choice):
            return remap(key, [self.index(val, k, whole) for k in key.options], node_text(whole), node_loc(whole, ""))
        if isinstance(key, Unknown) or (isinstance(key, str) and UNK_OPEN in key):
            return Unknown(node_text(whole)) if not is_err(key) else key
        if isinstance(val, list):
            i = to_number(key)
            if i is None or i != int(i) or not 0 <= int(i) < len(val):
                return err(node_text(whole))
            return val[int(i)]
        if isinstance(val, dict):
            k = to_str(key)
            if isinstance(k, str) and k in val:
                return val[k]
            return err(node_text(whole))
        return err(node_text(whole))

    # --- literals ----------------------------------------------------------------------

    def literal(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        c = n.children[0]
        t = c.type
        if t == "numeric_lit":
            s = node_text(c)
            try:
                return int(s)
            except ValueError:
                try:
                    return float(s)
                except ValueError:
                    return err(s)
        if t == "bool_lit":
            return node_text(c) == "true"
        if t == "null_lit":
            return None
        return self.node(c, f, env)

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
        for kn, vn in object_elems(n):
            key = self.obj_key(kn, f, env)
            val = self.node(vn, f, env)
            if not isinstance(key, str) or UNK_OPEN in key:
                return Unknown(node_text(n))
            out[key] = val
            out.key_locs[key] = node_loc(kn, f.rel)
        return out

    def obj_key(self, kn: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        named = [c for c in kn.children if c.is_named]
        if len(named) == 1 and named[0].type == "variable_expr" and kn.child_count == 1:
            return node_text(named[0])
        k = self.node(kn, f, env)
        if isinstance(k, (bool, int, float)):
            s = to_str(k)
            return s
        return k

    def for_expr(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        fe = n.children[0]
        intro = next((c for c in fe.children if c.type == "for_intro"), None)
        if intro is None:
            return err(node_text(n))
        names = [node_text(x) for x in intro.children if x.type == "identifier"]
        coll_n = next((x for x in intro.children if x.type == "expression"), None)
        cond_n = next((c for c in fe.children if c.type == "for_cond"), None)
        cond = next((x for x in cond_n.children if x.type == "expression"), None) if cond_n is not None else None
        exprs = [c for c in fe.children if c.type == "expression"]
        if coll_n is None or not names or not exprs:
            return err(node_text(n))
        coll = self.node(coll_n, f, env)
        pairs = iterate(coll)
        if pairs is None:
            if isinstance(coll, Choice):
                return remap(coll, [self._for_over(fe, o, names, exprs, cond, f, env, n) for o in coll.options], node_text(n), node_loc(n, f.rel))
            return err(node_text(n)) if is_err(coll) or coll is None else Unknown(node_text(n))
        return self._for_items(fe, pairs, names, exprs, cond, f, env, n)

    def _for_over(self, fe: Any, coll: Any, names: list[str], exprs: list[Any], cond: Any, f: SrcFile, env: dict[str, Any], n: Any) -> Any:
        pairs = iterate(coll)
        if pairs is None:
            return err(node_text(n)) if is_err(coll) or coll is None else Unknown(node_text(n))
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
                    return err(node_text(n)) if is_err(c) else Unknown(node_text(n))
                if not b:
                    continue
            if is_obj:
                if len(exprs) < 2:
                    return err(node_text(n))
                key = to_str(self.node(exprs[0], f, env2))
                if not isinstance(key, str) or UNK_OPEN in key:
                    return Unknown(node_text(n)) if not is_err(key) else key
                val = self.node(exprs[1], f, env2)
                if grouped:
                    out_d.setdefault(key, LList()).append(val)
                elif key in out_d:
                    return err(node_text(n))
                else:
                    out_d[key] = val
            else:
                out_l.append(self.node(exprs[0], f, env2))
        return out_d if is_obj else out_l

    # --- operators ---------------------------------------------------------------------

    def conditional(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        chain = _cond_chain(n)
        if chain is None:
            return err(node_text(n))
        return self._chain(chain, 0, n, f, env)

    def _chain(self, chain: list[Any], i: int, whole: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        if i == len(chain) - 1:
            return self.node(chain[i], f, env)
        c = self.node(chain[i], f, env)
        branches: dict[bool, Any] = {}

        def branch(b: bool) -> Any:
            if b not in branches:
                branches[b] = self.node(chain[i + 1], f, env) if b else self._chain(chain, i + 2, whole, f, env)
            return branches[b]

        return self._decide(c, chain[i], branch, whole, f, env)

    def _decide(self, c: Any, cond: Any, branch: Callable[[bool], Any], whole: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        if is_err(c):
            return c
        if isinstance(c, Choice):
            # the condition differs by instance or by another condition:
            # each of its options picks a branch, under the same switch
            return remap(c, [self._decide(o, cond, branch, whole, f, env) for o in c.options], node_text(whole), node_loc(whole, f.rel))
        b = to_bool(c)
        if b is not None:
            return branch(b)
        if not isinstance(c, Unknown) and not (isinstance(c, str) and UNK_OPEN in c):
            return err(node_text(whole))
        sw = self.switch(cond, env)
        return mk_choice([branch(True), branch(False)], node_text(whole), node_loc(whole, f.rel), sw, ("true", "false") if sw else None)

    def switch(self, cond: Any, env: dict[str, Any]) -> Switch | None:
        """The switch of an undecidable condition: the condition as written
        in this module, so that every value it decides is chosen together.
        None when the text may mean different things in different places
        (it names a loop variable, or ``each``/``count`` of instances not
        known statically)."""
        text = " ".join(node_text(cond).split())
        names = set(_IDENT.findall(text))
        for name in names:
            if name in ("each", "count"):
                if not _static(env.get(name)):
                    return None
            elif name in env:
                return None  # a `for` or `dynamic` variable: one value per element
        return Switch(CONDITION, text, self.scope.prefix)

    def operation(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        op = n.children[0]
        if op.type == "unary_operation":
            kids = op.children
            sym = kids[0].type
            v = self.seq(kids[1:], op, f, env)
            return lift1(lambda x: unary(sym, x, op), v, op, f)
        kids = op.children
        idx = next((i for i, c in enumerate(kids) if not c.is_named and c.type in _BINOPS), None)
        if idx is None:
            return err(node_text(n))
        sym = kids[idx].type
        left = self.seq(kids[:idx], op, f, env)
        if sym == "&&" and left is False:
            return False
        if sym == "||" and left is True:
            return True
        right = self.seq(kids[idx + 1 :], op, f, env)
        return lift2(lambda a, b: binary(sym, a, b, op), left, right, op, f)

    # --- functions ------------------------------------------------------------------------

    def try_(self, arg_nodes: list[Any], n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        """``try(a, b, ...)``: the first argument without an error. A Choice
        (instances of ``for_each``, branches of a condition) is tried option by
        option: ``try(each.value.x, true)`` is ``true`` for the instances whose
        map has no ``x`` and ``x`` for the others."""
        if not arg_nodes:
            return err(node_text(n))
        v = self.node(arg_nodes[0], f, env)
        if isinstance(v, Choice) and any(is_err(o) or contains_err(o) for o in v.options):
            rest = self.try_(arg_nodes[1:], n, f, env)
            return lift2(lambda a, b: b if is_err(a) or contains_err(a) else a, v, rest, n, f)
        if is_err(v) or contains_err(v):
            rest = self.try_(arg_nodes[1:], n, f, env)
            return rest if len(arg_nodes) > 1 else (v if is_err(v) else err(node_text(n)))
        return v

    def call(self, n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
        name = node_text(n.children[0])
        argn = next((c for c in n.children if c.type == "function_arguments"), None)
        arg_nodes = [c for c in argn.children if c.type == "expression"] if argn is not None else []
        expand = argn is not None and any(c.type == "ellipsis" for c in argn.children)
        whole = node_text(n)
        if name == "try":
            return self.try_(arg_nodes, n, f, env)
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
        if name in FILE_FUNCTIONS:
            return lift_args(lambda xs: file_call(self, name, xs, whole), args, whole, node_loc(n, f.rel))
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

        return _with_ref(lift_args(run, args, whole, node_loc(n, f.rel)), args)


# --- helpers -------------------------------------------------------------------------


_IDENT = re.compile(r"(?<![.\w-])[A-Za-z_][\w-]*")


def _static(v: Any) -> bool:
    """``each``/``count`` bound to the instances of a static for_each/count
    (or to one instance), not to an unknown instance."""
    if v is None:
        return False
    vals = list(v.values()) if isinstance(v, dict) else [v]
    return not any(isinstance(x, Unknown) for x in vals)


def _with_ref(res: Any, args: list[Any]) -> Any:
    """An unknown function result that depends on exactly one KMS resource
    still says which one (to link aliases, grants and key policies)."""
    if isinstance(res, Unknown) and not res.reason and not res.error and res.ref is None:
        refs = {u.ref for a in args for u in _unknowns(a) if u.ref is not None}
        if len(refs) == 1:
            return Unknown(res.expr, ref=refs.pop())
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


_DISPATCH: dict[str, Callable[[Ev, Any, SrcFile, dict[str, Any]], Any]] = {
    "expression": Ev.expression,
    "literal_value": Ev.literal,
    "string_lit": quoted,
    "quoted_template": quoted,
    "template_expr": template_expr,
    "heredoc_template": heredoc,
    "collection_value": Ev.collection,
    "tuple": Ev.tuple_,
    "object": Ev.object_,
    "for_expr": Ev.for_expr,
    "conditional": Ev.conditional,
    "operation": Ev.operation,
    "function_call": Ev.call,
    "variable_expr": lambda ev, n, f, env: ev.seq([n], n, f, env),
}
