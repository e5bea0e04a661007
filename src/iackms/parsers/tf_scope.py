"""Module instances: a module directory as written (:class:`ModuleDef`) and
one instance of it (:class:`Scope`) with its variables, locals, module
outputs, ``each``/``count`` bindings, provider configurations and caches.
Expressions are evaluated by the scope's :class:`~.tf_expr.Ev`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Hashable

from ..context import ScanContext
from ..model import INSTANCES, Location, Note, Switch, Unknown
from . import tf_types
from .tf_expr import Ev
from .tf_hcl import AttrNode, Block, node_text
from .tf_values import err, mk_choice, to_number

#: a static ``for_each``/``count`` with more instances than this is not expanded
MAX_INSTANCES = 64


def instance_key(k: Any) -> str:
    """An instance key as Terraform writes it in an address: ``["jwt"]``, ``[0]``."""
    if isinstance(k, int) and not isinstance(k, bool):
        return f"[{k}]"
    return "[" + json.dumps(str(k), ensure_ascii=False) + "]"


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


class Deps:
    """The root variables that took their ``default`` while values were
    computed (shared by a tree of scopes): a ``count``/``for_each`` that is 0
    only because of them is a switch that is off by default, not a key that
    is never deployed."""

    def __init__(self) -> None:
        self.frames: list[set[str]] = []

    def note(self, name: str) -> None:
        for f in self.frames:
            f.add(name)


class _Open:
    """A root variable opened for a branch: any value may be given."""

    def __repr__(self) -> str:
        return "OPEN"


OPEN = _Open()


class Scope:
    """One instance of a module: its variables' values and its caches."""

    def __init__(
        self,
        mod: ModuleDef,
        ctx: ScanContext,
        root_dir: Path,
        prefix: str = "",
        inputs: dict[str, Callable[[], Any]] | None = None,
        calls: tuple[tuple[Location, str], ...] = (),
        arguments: dict[str, AttrNode] | None = None,
    ) -> None:
        self.mod = mod
        self.ctx = ctx
        self.root_dir = root_dir
        self.prefix = prefix
        self.inputs = inputs
        #: the module blocks that instantiate this module, from the root down:
        #: (where the block is written, its module address)
        self.calls = calls
        #: the module block's arguments as written (``inputs`` evaluates them)
        self.arguments = arguments or {}
        self.parent: Scope | None = None
        #: the module block's ``providers`` map: child alias -> caller alias;
        #: None when the module block has none (the default is inherited)
        self.provider_map: dict[str, str] | None = None
        self.child_factory: Callable[[str], "Scope | None"] | None = None
        self.notes: list[Note] = []
        self._memo: dict[str, dict[Hashable, Any]] = {}
        self._busy: set[tuple[str, Hashable]] = set()
        #: root variables each memoized value depends on the default of
        self._deps: dict[tuple[str, Hashable], frozenset[str]] = {}
        self.deps = Deps()
        #: the module block names from the root to this instance
        self.path: tuple[str, ...] = ()
        #: root variables given another value than their default (a branch of
        #: a switch that is off by default; :data:`OPEN`: any value)
        self.overrides: dict[str, Any] = {}
        #: the branch this instance is evaluated in (``var.create_external is
        #: true``): the conditions, off by default, under which it exists
        self.exists_when: tuple[str, ...] = ()
        #: that branch gives some root variables any value (see :attr:`iackms.model.Resource.opened`)
        self.opened = False
        #: on a root: a new root with some variables overridden (see :func:`.tf_module.branch_of`)
        self.spawn: Callable[[dict[str, Any]], "Scope"] | None = None
        #: on a root: the roots spawned for the branches of a value, by their
        #: overrides (see :func:`.tf_module.with_branches`)
        self.branch_roots: dict[tuple, "Scope | None"] = {}
        self.ev = Ev(self)

    def once(self, kind: str, key: Hashable, compute: Callable[[], Any], on_cycle: Callable[[], Any]) -> Any:
        """``compute()``, once per ``(kind, key)`` in this scope. Asked again
        while it runs (a reference cycle), the answer is ``on_cycle()``,
        which is not kept."""
        table = self._memo.get(kind)
        frames = self.deps.frames
        if table is None:
            table = self._memo[kind] = {}
        elif key in table:
            if frames:
                d = self._deps.get((kind, key))
                if d:
                    for f in frames:
                        f |= d
            return table[key]
        busy = (kind, key)
        if busy in self._busy:
            return on_cycle()
        self._busy.add(busy)
        frame: set[str] = set()
        frames.append(frame)
        try:
            v = compute()
        finally:
            self._busy.discard(busy)
            frames.pop()
        table[key] = v
        if frame:
            self._deps[busy] = frozenset(frame)
        return v

    # --- named values -------------------------------------------------------------

    def var(self, name: str) -> Any:
        return self.once("var", name, lambda: self._var(name), lambda: Unknown("var." + name, "cycle"))

    def _var(self, name: str) -> Any:
        blk = self.mod.variables.get(name)
        if blk is None:
            return Unknown("var." + name)
        default = blk.attrs.get("default")
        value: Any
        if self.inputs is None and name in self.overrides:
            o = self.overrides[name]
            return Unknown("var." + name, "any value: the branch in which a key that is off by default exists") if o is OPEN else o
        if self.inputs is not None and name in self.inputs:
            value = self.inputs[name]()
        elif self.inputs is None and name in self.ctx.tf_vars:
            value = self.ctx.tf_vars[name]
        elif self.inputs is None and name in self.mod.tfvars:
            value = self.ev.attr(self.mod.tfvars[name], {"__const__": True})
        elif default is not None:
            value = self.ev.attr(default, {"__const__": True})
            if self.inputs is None:
                self.deps.note(name)  # a deployment may pass another value
        else:
            return Unknown("var." + name)
        nullable = blk.attrs.get("nullable")
        if value is None and default is not None and nullable is not None and self.ev.attr(nullable, {"__const__": True}) is False:
            value = self.ev.attr(default, {"__const__": True})
        typ = blk.attrs.get("type")
        if typ is not None and not typ.file.is_json and isinstance(value, (dict, list, str)):
            value = tf_types.convert(value, tf_types.parse_type(typ.expr), lambda n: self.ev.node(n, typ.file, {"__const__": True}))
        return value

    def origin(self, a: AttrNode) -> Location | None:
        """Where the value of ``a`` is written, when ``a`` is a plain chain
        of references to it (``var.x``, ``local.y``, followed through module
        arguments, tfvars and defaults as :meth:`_var` takes them); None when
        ``a`` itself holds the value, or where it comes from is not written
        in the scan (a variable without a value, a command-line variable)."""
        from .tf_refs import plain_reference

        sc: Scope | None = self
        node = a
        found: Location | None = None
        for _ in range(64):  # a chain longer than this is a cycle
            ref = plain_reference(node) if sc is not None else None
            if ref is None or sc is None:
                break
            kind, name = ref
            nxt: AttrNode | None = None
            nsc: Scope | None = None
            if kind == "local":
                nxt, nsc = sc.mod.locals.get(name), sc
            else:
                blk = sc.mod.variables.get(name)
                if blk is None:
                    break
                if sc.inputs is None and name in sc.overrides:
                    break  # a value the branch being checked gives it: written nowhere
                if sc.inputs is not None and name in sc.inputs:
                    nxt, nsc = sc.arguments.get(name), sc.parent
                elif sc.inputs is None and name in sc.ctx.tf_vars:
                    break
                elif sc.inputs is None and name in sc.mod.tfvars:
                    nxt = sc.mod.tfvars[name]  # tfvars and defaults are constants: the chain ends there
                else:
                    nxt = blk.attrs.get("default")
            if nxt is None:
                break
            found, node, sc = nxt.loc, nxt, nsc
        return found

    def local(self, name: str) -> Any:
        a = self.mod.locals.get(name)
        if a is None:
            return err("local." + name)
        return self.once("local", name, lambda: self.ev.attr(a, {}), lambda: Unknown("local." + name, "cycle"))

    def module_output(self, mname: str, oname: str, expr: str) -> Any:
        child = self.child(mname)
        if child is None:
            return Unknown(expr)
        out = child.mod.outputs.get(oname)
        if out is None or "value" not in out.attrs:
            return err(expr)
        return child.ev.attr(out.attrs["value"], {})

    def child(self, mname: str) -> "Scope | None":
        """The instance of module block ``mname`` (None when it is not
        evaluated: remote, missing, outside the scan, no instance)."""
        factory = self.child_factory
        if factory is None:
            return None
        return self.once("module", mname, lambda: factory(mname), lambda: None)

    def path_module(self) -> str:
        try:
            r = os.path.relpath(str(self.mod.dir), str(self.root_dir))
        except ValueError:
            r = str(self.mod.dir)
        return r.replace(os.sep, "/")

    # --- instances ------------------------------------------------------------------

    def instance_env(self, blk: Block) -> dict[str, Any]:
        """Bindings for `each` / `count` inside a block with a static
        `for_each` or `count`: one value when there is one instance, else a
        Choice of every instance's value on the block's instances (a
        :class:`~iackms.model.Switch`: every value of one instance is chosen
        together)."""
        return self.once("env", id(blk), lambda: self._instance_env(blk), dict)

    def block_address(self, blk: Block) -> str:
        """The block's address without instance keys (module path included)."""
        lb = blk.labels
        if blk.type == "module" and lb:
            return f"{self.prefix}module.{lb[0]}"
        if blk.type == "data" and len(lb) >= 2:
            return f"{self.prefix}data.{lb[0]}.{lb[1]}"
        if len(lb) >= 2:
            return f"{self.prefix}{lb[0]}.{lb[1]}"
        return f"{self.prefix}{blk.type}"

    def _instance_env(self, blk: Block) -> dict[str, Any]:
        env: dict[str, Any] = {}
        if "for_each" in blk.attrs:
            v = self.ev.attr(blk.attrs["for_each"], {})
            items: list[tuple[Any, Any]] | None = None
            if isinstance(v, dict):
                items = list(v.items())
            elif isinstance(v, list) and all(isinstance(x, str) for x in v):
                items = [(x, x) for x in dict.fromkeys(v)]
            if items and len(items) <= MAX_INSTANCES:
                fe = blk.attrs["for_each"]
                src = fe.expr if isinstance(fe.expr, str) else (node_text(fe.expr) if hasattr(fe.expr, "text") else "")
                expr = f"each.value over {src[:80]}" if src else "each.value"
                sw = Switch(INSTANCES, self.block_address(blk))
                keys = [instance_key(a) for a, _ in items]
                env["each"] = {"key": mk_choice([a for a, _ in items], "each.key", blk.loc, sw, keys),
                               "value": mk_choice([b for _, b in items], expr, blk.loc, sw, keys)}
            elif isinstance(v, Unknown) and v.ref is not None:
                # for_each = aws_kms_key.x: each.value is an instance of that
                # resource, so each.value.key_id still links to it
                env["each"] = {"key": Unknown("each.key"), "value": Unknown("each.value", ref=v.ref)}
        elif "count" in blk.attrs:
            c = to_number(self.ev.attr(blk.attrs["count"], {}))
            if c is not None and c == int(c) and 1 <= c <= MAX_INSTANCES:
                n = int(c)
                env["count"] = {"index": mk_choice(list(range(n)), "count.index", blk.loc, Switch(INSTANCES, self.block_address(blk)),
                                                   [instance_key(i) for i in range(n)])}
        return env

    def absent(self, blk: Block) -> bool:
        """True when ``count``/``for_each`` statically give the block no
        instance."""
        return self.once("absent", id(blk), lambda: self._absent(blk), lambda: False)

    def absent_by_default(self, blk: Block) -> frozenset[str]:
        """For a block that :meth:`absent` says has no instance: the root
        variables whose defaults make it so (empty: a literal ``count = 0``,
        or values fixed by tfvars or the root's code)."""
        if not self.absent(blk):
            return frozenset()
        return self._deps.get(("absent", id(blk)), frozenset())

    def root(self) -> "Scope":
        s = self
        while s.parent is not None:
            s = s.parent
        return s

    def _absent(self, blk: Block) -> bool:
        if "count" in blk.attrs:
            c = self.ev.attr(blk.attrs["count"], {})
            if to_number(c) == 0 and not isinstance(c, bool):
                return True
        if "for_each" in blk.attrs:
            v = self.ev.attr(blk.attrs["for_each"], {})
            if isinstance(v, (dict, list)) and len(v) == 0:
                return True
        return False

    # --- providers ------------------------------------------------------------------

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
