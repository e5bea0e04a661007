"""Loading module directories (files, override files, tfvars) and
instantiating the tree of local module calls."""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from itertools import combinations
from pathlib import Path
from typing import Any, Callable

from ..context import ScanContext, size_limit_message
from ..model import CONDITION, Location, Note, Switch, bound
from ..consumer_table import table
from ..vocab import TF_CONFIG_SUFFIXES, TF_KMS_TYPES, replaced_by_tofu
from .tf_hcl import AttrNode, Block, SrcFile, parse_bytes
from .tf_scope import OPEN, ModuleDef, Scope

MAX_MODULE_DEPTH = 10
KMS_RESOURCES = TF_KMS_TYPES
#: resource types that make a module worth evaluating: the KMS resources and
#: every type of the consumer table (which directories get this far is the
#: prescan's byte-level decision, :mod:`.tf_prescan`)
RELEVANT_RESOURCES = TF_KMS_TYPES | table().types("terraform")
#: parsed module directories kept between root modules (the most recently
#: used): the examples and wrappers of one module call it one after the other
MAX_CACHED_MODULES = 8
MODULE_META = {"source", "version", "count", "for_each", "providers", "depends_on"}


def config_suffix(name: str) -> str | None:
    """The configuration suffix of a file name (``.tf.json`` before ``.json``), or None."""
    for suffix in TF_CONFIG_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return None


def _is_override(name: str) -> bool:
    suffix = config_suffix(name) or ""
    base = name[: -len(suffix)] if suffix else name
    return base == "override" or base.endswith("_override")


def _config_files(d: Path) -> list[Path]:
    """The configuration files of a module directory, as Terraform and
    OpenTofu read them: ``.tf``, ``.tf.json``, ``.tofu``, ``.tofu.json``,
    ``x.tofu`` replacing ``x.tf``."""
    try:
        entries = sorted(os.scandir(d), key=lambda e: e.name)
    except OSError:
        return []
    names = {e.name for e in entries}
    out = []
    for e in entries:
        n = e.name
        if n.startswith((".", "~", "#")) or config_suffix(n) is None or replaced_by_tofu(n, names):
            continue
        try:
            if e.is_file():
                out.append(Path(e.path))
        except OSError:
            continue
    return out


def _tfvars_files(d: Path) -> list[Path]:
    names: list[Path] = []
    for fixed in ("terraform.tfvars", "terraform.tfvars.json"):
        p = d / fixed
        if p.is_file():
            names.append(p)
    try:
        auto = sorted(e.name for e in os.scandir(d) if e.name.endswith((".auto.tfvars", ".auto.tfvars.json")) and e.is_file())
    except OSError:
        auto = []
    names.extend(d / n for n in auto)
    return names


class Loader:
    """Parses each module directory once per scan."""

    def __init__(self, ctx: ScanContext, notes: list[Note]) -> None:
        self.ctx = ctx
        self.notes = notes
        self.cache: OrderedDict[Path, ModuleDef | None] = OrderedDict()
        self._note_keys: set[tuple[str, str, int]] = set()
        self._kms: dict[Path, bool] = {}

    def note(self, n: Note) -> None:
        k = (n.rule_id, n.loc.file, n.loc.line)
        if k not in self._note_keys:
            self._note_keys.add(k)
            self.notes.append(n)

    def _read(self, p: Path) -> bytes | None:
        if os.path.islink(p) and not self.ctx.inside_roots(p):
            # a .tf or tfvars file linked from outside the scan root is never
            # read, like every other file discovery would not follow out
            return None
        try:
            size = p.stat().st_size
            if size > self.ctx.max_file_size:
                self.note(Note("IKMS001", size_limit_message(size, self.ctx.max_file_size), Location(self.ctx.rel(p), 1, 1, 1)))
                return None
            return self.ctx.read_bytes(p)
        except OSError as e:
            self.note(Note("IKMS001", f"{self.ctx.rel(p)} cannot be read ({e.strerror or e})", Location(self.ctx.rel(p), 1, 1, 1)))
            return None

    def has_kms(self, d: Path, stack: tuple[Path, ...] = ()) -> bool:
        """True when the module at ``d`` or a local module it calls (at any
        depth) defines KMS resources."""
        if d in self._kms:
            return self._kms[d]
        mod = self.load(d)
        res = False
        if mod is not None and len(stack) <= MAX_MODULE_DEPTH:
            res = any(t in RELEVANT_RESOURCES for t, _ in mod.resources)
            if not res:
                for blk in mod.modules.values():
                    src = module_source(blk)
                    if isinstance(src, str) and is_local_source(src):
                        t = local_target(mod, src)
                        if t in stack or t == d:
                            continue
                        if not self.ctx.inside_roots(t) or not t.is_dir() or self.has_kms(t, stack + (d,)):
                            res = True  # (a module that cannot be read gets a note)
                            break
        self._kms[d] = res
        return res

    def remote_notes(self, mod: ModuleDef) -> None:
        for name, blk in mod.modules.items():
            src = module_source(blk)
            if isinstance(src, str) and not is_local_source(src):
                self.note(Note("IKMS002", f"module {name} uses remote source {src!r}; its keys are not scanned", blk.loc, f"module.{name}", "module"))

    def _parse(self, p: Path) -> Any:
        """One .tf/.tf.json/.tfvars file parsed, its notes recorded; None when unreadable."""
        data = self._read(p)
        if data is None:
            return None
        pf = parse_bytes(data, SrcFile(p, self.ctx.rel(p), p.name.endswith(".json")))
        for n in pf.notes:
            self.note(n)
        return pf

    def trim(self, keep: int = MAX_CACHED_MODULES) -> None:
        """Forget all but the ``keep`` most recently used module directories
        (memory stays bounded; a module shared by consecutive roots is parsed once)."""
        while len(self.cache) > keep:
            self.cache.popitem(last=False)

    def load(self, d: Path) -> ModuleDef | None:
        if d in self.cache:
            self.cache.move_to_end(d)
            return self.cache[d]
        mod = ModuleDef(d)
        regular: list[Block] = []
        overrides: list[Block] = []
        for p in _config_files(d):
            pf = self._parse(p)
            if pf is not None:
                (overrides if _is_override(p.name) else regular).extend(pf.blocks)
        for b in regular:
            _add(mod, b)
        for b in overrides:
            _override(mod, b)
        for p in _tfvars_files(d):
            pf = self._parse(p)
            if pf is not None:
                for a in pf.attrs:
                    mod.tfvars[a.name] = a
        self.cache[d] = mod
        self.remote_notes(mod)
        return mod


def _add(mod: ModuleDef, b: Block) -> None:
    t, lb = b.type, b.labels
    if t == "variable" and lb:
        mod.variables.setdefault(lb[0], b)
    elif t == "locals":
        for name, a in b.attrs.items():
            mod.locals.setdefault(name, a)
    elif t == "output" and lb:
        mod.outputs.setdefault(lb[0], b)
    elif t == "resource" and len(lb) >= 2:
        first = mod.resources.setdefault((lb[0], lb[1]), b)
        if first is not b and lb[0] in KMS_RESOURCES:
            mod.duplicates.append(b)
            mod.notes.append(Note("IKMS001", f"resource {lb[0]}.{lb[1]} is defined twice (first at {first.loc.file}:{first.loc.line}); Terraform rejects duplicate resource names. Both are checked", b.loc, f"{lb[0]}.{lb[1]}", lb[0]))
    elif t == "data" and len(lb) >= 2:
        mod.data.setdefault((lb[0], lb[1]), b)
    elif t == "module" and lb:
        mod.modules.setdefault(lb[0], b)
    elif t == "provider" and lb[:1] == ["aws"]:
        mod.providers.setdefault(_provider_alias(b), b)


def _provider_alias(b: Block) -> str:
    a = b.attrs.get("alias")
    if a is None:
        return ""
    v = a.expr if a.file.is_json else a.text().strip().strip('"')
    return v if isinstance(v, str) else "?"


_PROVIDER_PAIR = re.compile(r'"?aws(?:\.([A-Za-z0-9_-]+))?"?\s*[=:]\s*"?aws(?:\.([A-Za-z0-9_-]+))?"?')


def provider_map(blk: Block) -> dict[str, str] | None:
    """``providers = { aws = aws.west, aws.x = aws }`` of a module block."""
    a = blk.attrs.get("providers")
    if a is None:
        return None
    return {m.group(1) or "": m.group(2) or "" for m in _PROVIDER_PAIR.finditer(a.text())}


def _merge_block(orig: Block, ov: Block) -> None:
    """Terraform override files: attributes replace, nested block types
    replace all blocks of that type."""
    orig.attrs.update(ov.attrs)
    types = {x.type for x in ov.blocks}
    if types:
        kept = [x for x in orig.blocks if x.type not in types]
        orig._blocks = kept + list(ov.blocks)


def _override(mod: ModuleDef, b: Block) -> None:
    t, lb = b.type, b.labels
    table: dict[Any, Block] | None = None
    key: Any = None
    if t == "locals":
        mod.locals.update(b.attrs)
        return
    if t == "variable" and lb:
        table, key = mod.variables, lb[0]
    elif t == "output" and lb:
        table, key = mod.outputs, lb[0]
    elif t == "resource" and len(lb) >= 2:
        table, key = mod.resources, (lb[0], lb[1])
    elif t == "data" and len(lb) >= 2:
        table, key = mod.data, (lb[0], lb[1])
    elif t == "module" and lb:
        table, key = mod.modules, lb[0]
    if table is None:
        return
    if key in table:
        _merge_block(table[key], b)
    else:
        table[key] = b


def module_source(blk: Block, scope: Scope | None = None) -> Any:
    """The ``source`` of a module block (Terraform requires a literal)."""
    a = blk.attrs.get("source")
    if a is None:
        return None
    if a.file.is_json:
        return a.expr if isinstance(a.expr, str) else None
    t = a.expr.text
    if len(t) >= 2 and t[:1] == b'"' and t[-1:] == b'"' and b"\\" not in t and b"${" not in t and b"%{" not in t:
        return t[1:-1].decode("utf-8", "replace")
    if scope is None:
        return None
    return scope.ev.attr(a, {"__const__": True})


def is_local_source(src: str) -> bool:
    return src.startswith(("./", "../", ".\\", "..\\")) or src in (".", "..")


def local_target(mod: ModuleDef, src: str) -> Path:
    return Path(os.path.normpath(os.path.join(str(mod.dir), src.replace("\\", "/"))))


def instance_absent(blk: Block, scope: Scope) -> bool:
    """True when ``count``/``for_each`` make the block have no instance."""
    return scope.absent(blk)


def make_factory(scope: Scope, loader: Loader, stack: tuple[Path, ...], depth: int) -> Callable[[str], Scope | None]:
    def factory(name: str) -> Scope | None:
        blk = scope.mod.modules.get(name)
        if blk is None:
            return None
        src = module_source(blk, scope)
        rel_loc = blk.loc
        if not isinstance(src, str):
            loader.note(Note("IKMS002", f"module {name} has a source that cannot be resolved statically; its keys are not scanned", rel_loc, f"module.{name}", "module"))
            return None
        if not is_local_source(src):
            loader.note(Note("IKMS002", f"module {name} uses remote source {src!r}; its keys are not scanned", rel_loc, f"module.{name}", "module"))
            return None
        target = local_target(scope.mod, src)
        if target in stack or depth >= MAX_MODULE_DEPTH:
            why = "calls itself" if target in stack else f"is nested more than {MAX_MODULE_DEPTH} levels deep"
            loader.note(Note("IKMS002", f"module {name} ({src}) {why}; it is not evaluated again", rel_loc, f"module.{name}", "module"))
            return None
        if not loader.ctx.inside_roots(target):
            b = loader.ctx.root_of(scope.mod.dir)
            where = f"the scan boundary {loader.ctx.rel(b)}" if b is not None else "the scan boundary"
            loader.note(Note("IKMS002", f"module {name} uses {src!r}, which is outside {where} (the repository of the scanned path); "
                                        "its keys are not scanned", rel_loc, f"module.{name}", "module"))
            return None
        if not target.is_dir():
            loader.note(Note("IKMS002", f"module {name} uses {src!r}, which does not exist; its keys are not scanned", rel_loc, f"module.{name}", "module"))
            return None
        if instance_absent(blk, scope):
            # off by default (count = var.enable ? 1 : 0): the module's keys
            # are checked as the branch in which it exists
            br = branch_of(scope, blk)
            return br.child(name) if br is not None else None
        mod = loader.load(target)
        if mod is None:
            return None
        inputs: dict[str, Callable[[], Any]] = {}
        for aname, a in blk.attrs.items():
            if aname not in MODULE_META:
                inputs[aname] = _thunk(scope, a, blk)
        arguments = {aname: a for aname, a in blk.attrs.items() if aname not in MODULE_META}
        child = Scope(mod, scope.ctx, scope.root_dir, f"{scope.prefix}module.{name}.", inputs,
                      (*scope.calls, (blk.loc, f"{scope.prefix}module.{name}")), arguments)
        child.parent = scope
        child.provider_map = provider_map(blk)
        child.child_factory = make_factory(child, loader, stack + (target,), depth + 1)
        child.deps = scope.deps
        child.path = scope.path + (name,)
        child.exists_when = scope.exists_when
        child.opened = scope.opened
        return child

    return factory


def root_scope(mod: ModuleDef, loader: Loader, d: Path, overrides: dict[str, Any] | None = None) -> Scope:
    """The root module instance of directory ``d`` (with some variables
    overridden: a branch of a switch that is off by default)."""
    root = Scope(mod, loader.ctx, d)
    root.overrides = dict(overrides or {})
    root.child_factory = make_factory(root, loader, (d,), 0)
    root.spawn = lambda ov: root_scope(mod, loader, d, ov)
    return root


#: at most this many combinations of switch values are tried to find the
#: branch in which a block that is off by default exists
MAX_BRANCH_TRIES = 32


def branch_of(scope: Scope, blk: Block) -> Scope | None:
    """A block with no instance only because of root variables' defaults
    (``count = var.create_x ? 1 : 0``, ``for_each = var.items`` with ``{}``
    by default) is still code under review: the instance of ``scope``, in a
    new root, in which it exists, with ``exists_when`` saying which branch
    that is. Boolean switches are turned (as few as possible); other values
    are opened (any value). None when no such branch exists (a literal
    ``count = 0``, values fixed by tfvars or by the root's code)."""
    deps = scope.absent_by_default(blk)
    root = scope.root()
    if not deps or root.spawn is None:
        return None
    defaults = {n: root.var(n) for n in sorted(deps) if n not in root.overrides}
    bools = [n for n, v in defaults.items() if isinstance(v, bool)]
    opened = {n: OPEN for n in defaults if n not in bools}
    tries = 0
    for size in range(len(bools) + 1):
        for flips in combinations(bools, size):
            if size == 0 and not opened:
                continue
            tries += 1
            if tries > MAX_BRANCH_TRIES:
                return None
            ov = {**root.overrides, **opened, **{n: not defaults[n] for n in flips}}
            t: Scope | None = root.spawn(ov)
            for name in scope.path:
                t = t.child(name) if t is not None else None
            if t is None or t.absent(blk):
                continue
            if opened:
                phrases = [_existence(scope, blk)]
            else:
                phrases = [f"var.{n} is {'true' if not defaults[n] else 'false'}" for n in flips]
            t.exists_when = tuple(dict.fromkeys((*scope.exists_when, *phrases)))
            t.opened = scope.opened or bool(opened)
            return t
    return None


#: at most this many boolean root variables with a default are turned to find
#: the branches of a value (2**4 evaluations at most)
MAX_FLIPPED = 4
#: at most this many root variables a value depends on are looked at for them
MAX_CANDIDATES = 16


def with_branches(scope: Scope, blk: Block, compute: Callable[[Scope], Any], same: Callable[[Any, Any], bool]) -> Any:
    """``compute(scope)``, and where it depends on boolean root variables that
    take their ``default`` of false (a statement behind ``dynamic "statement" {
    for_each = var.public_read ? [1] : [] }``), the value in every branch
    those variables may be turned to: a Choice on ``Switch(CONDITION,
    "var.public_read")`` per variable, so that the key is judged in each
    branch as a key behind a switch that is off by default is (see
    :func:`branch_of`). A value fixed by tfvars, ``-var``, a module argument
    or a literal is not turned; a branch in which the block has no instance
    keeps the default's value."""
    frame: set[str] = set()
    scope.deps.frames.append(frame)
    try:
        value = compute(scope)
    finally:
        scope.deps.frames.pop()
    root = scope.root()
    if not frame or root.spawn is None:
        return value
    spawn = root.spawn

    def instance(flips: dict[str, bool]) -> Scope | None:
        """The instance of ``scope`` in the root with ``flips``; None when the block has none there."""
        okey = tuple(sorted(flips.items()))
        if okey not in root.branch_roots:
            root.branch_roots[okey] = spawn({**root.overrides, **flips})
        t: Scope | None = root.branch_roots[okey]
        for name in scope.path:
            t = t.child(name) if t is not None else None
        return None if t is None or t.absent(blk) else t

    defaults: dict[str, bool] = {}
    for n in sorted(frame)[:MAX_CANDIDATES]:
        d = root.var(n) if n not in root.overrides else None
        # only a switch that is off by default is turned on (a feature the module offers: a statement
        # behind enable_x); turning off what is on by default (enable_default_policy) mostly removes
        # statements other inputs are then meant to replace. A variable whose turning removes the
        # block decides whether it exists (count = var.create ? 1 : 0), not what its value is
        if d is False and instance({n: True}) is not None:
            defaults[n] = d
            if len(defaults) == MAX_FLIPPED:
                break
    names = list(defaults)
    if not names:
        return value

    def at(flips: dict[str, bool]) -> Any:
        if not any(flips[n] != defaults[n] for n in names):
            return value
        t = instance(flips)
        return value if t is None else compute(t)

    def nest(i: int, flips: dict[str, bool]) -> Any:
        if i == len(names):
            return at(flips)
        n = names[i]
        opts = [nest(i + 1, {**flips, n: b}) for b in (True, False)]
        return bound(opts, ["true", "false"], f"var.{n}", None, Switch(CONDITION, f"var.{n}"), same)

    return nest(0, {})


_TERNARY = re.compile(r"^(?P<c>.+?)\s*\?\s*(?P<a>[^?:]+?)\s*:\s*(?P<b>[^?:]+?)$", re.S)


def _existence(scope: Scope, blk: Block) -> str:
    """The condition, as written at the block, under which it has instances."""
    where = f" in {scope.prefix.rstrip('.')}" if scope.prefix else ""
    if "for_each" in blk.attrs:
        return f"{_text(blk.attrs['for_each'])} is not empty{where}"
    text = _text(blk.attrs["count"]) if "count" in blk.attrs else ""
    m = _TERNARY.match(text)
    if m and m.group("b").strip() == "0":
        return f"{m.group('c').strip()} is true{where}"
    if m and m.group("a").strip() == "0":
        return f"{m.group('c').strip()} is false{where}"
    return f"count = {text} is not 0{where}"


def _text(a: AttrNode) -> str:
    t = a.text() if not a.file.is_json else str(a.expr)
    t = " ".join(t.split())
    if t.startswith("${") and t.endswith("}"):
        t = t[2:-1]
    return t


def _thunk(scope: Scope, a: AttrNode, blk: Block) -> Callable[[], Any]:
    """A module argument, evaluated in the caller with the module block's
    `each` / `count.index` bound (a Choice over its static instances)."""
    return lambda: scope.ev.attr(a, dict(scope.instance_env(blk)))


def instantiate(root: Scope, loader: Loader) -> list[Scope]:
    """The module instances under ``root`` (root first) whose tree defines
    KMS resources; other modules are instantiated only when their outputs
    are used."""
    out: list[Scope] = []
    todo = [root]
    while todo:
        s = todo.pop(0)
        out.append(s)
        for name, blk in s.mod.modules.items():
            src = module_source(blk, s)
            if isinstance(src, str) and is_local_source(src):
                t = local_target(s.mod, src)
                if t.is_dir() and loader.ctx.inside_roots(t) and not loader.has_kms(t):
                    continue
            c = s.child(name)
            if c is not None:
                todo.append(c)
    return out
