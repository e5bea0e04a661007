"""Consumers and delivery paths of one resource, for every source: the
attribute paths of the consumer table (``data/consumers.json``) walked over
a resource, whatever it is written in.

Each parser wraps its resource in a :class:`Node` (a Terraform block with its
evaluator, a CloudFormation property map, a plan's planned values); the
walk and the model objects it gives are the same for all of them. Path
notation (docs/consumers.md): dots separate steps; ``name[]`` is a list whose
every element is walked; ``name{json}`` holds a JSON document;
``name[Key=v].Value`` picks the element of a key/value list whose ``Key`` is
``v``."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterator

from .. import jsonload
from ..consumer_table import ConsumerSpec, PathSpec, holds, table
from ..model import ABSENT, REMOVE, Attr, Choice, Consumer, Delivery, LDict, Location, Unknown, display, is_known, variants
from ..vocab import CONSUMER_FACTS

#: lists whose elements are optional extras (more volumes, more replicas): an
#: absent or empty list has nothing to encrypt, so it gives no consumer
OPTIONAL_LISTS = frozenset({"block_device_mappings", "BlockDeviceMappings", "ebs_block_device", "replica"})

_SELECT = re.compile(r"^(?P<name>[^\[{]+)\[(?P<k>[^=\]]+)=(?P<v>[^\]]+)\]$")


class Step:
    """One step of a path."""

    __slots__ = ("name", "many", "json", "select", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.many = text.endswith("[]")
        self.json = text.endswith("{json}")
        self.select: tuple[str, str] | None = None
        name = text[:-2] if self.many else text[:-6] if self.json else text
        m = _SELECT.match(name)
        if m:
            name = m.group("name")
            self.select = (m.group("k"), m.group("v"))
        self.name = name


@lru_cache(maxsize=512)
def split(path: str) -> list[Step]:
    """Steps of a path (dots inside ``[...]`` do not split). Cached: the
    table's paths are few and walked for every resource."""
    out: list[str] = []
    depth = 0
    cur = ""
    for ch in path:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "." and depth == 0:
            out.append(cur)
            cur = ""
            continue
        cur += ch
    out.append(cur)
    return [Step(s) for s in out]


class Node:
    """A place in a resource: an object whose attributes and nested objects
    a path can reach. Subclasses read their source's syntax."""

    loc: Location

    def children(self, step: Step) -> "list[Node] | None":
        """The objects under ``step``: one for a plain step, every element for
        ``name[]``; None when the step is not written."""
        raise NotImplementedError

    def leaf(self, name: str) -> Attr | None:
        """The attribute ``name`` (None when not written or null)."""
        raise NotImplementedError

    def key_leaf(self, name: str) -> Attr | None:
        """The key attribute ``name``: :meth:`leaf`, where a source can also
        give its value in the branches of switches off by default (a Choice
        on each, see ``tf_module.with_branches``)."""
        return self.leaf(name)


class UnknownNode(Node):
    """An object whose content is not known (a ``dynamic`` block over an
    unknown collection, an unresolved value): every attribute under it is
    unknown."""

    def __init__(self, value: Unknown, loc: Location) -> None:
        self.value = value
        self.loc = loc

    def children(self, step: Step) -> "list[Node] | None":
        return [self]

    def leaf(self, name: str) -> Attr | None:
        return Attr(Unknown(f"{self.value.expr}.{name}", self.value.reason or "inside a value that is not known statically"),
                    self.loc, True, self.value.expr)


class ValueNode(Node):
    """A node over model values (dicts and lists): CloudFormation properties,
    plan values, Terraform attributes written as objects. ``unknown`` is the
    plan's ``after_unknown`` part for this object."""

    def __init__(self, value: Any, loc: Location, expr: str = "", unknown: Any = None, raw: Any = None,
                 render: Any = None) -> None:
        self.value = value
        self.loc = getattr(value, "loc", None) or loc
        self.expr = expr
        self.unknown = unknown
        #: the value as written (CloudFormation intrinsics), and how to show it
        self.raw = raw
        self.render = render

    def _raw(self, name: str, index: int | None = None) -> Any:
        r = self.raw.get(name) if isinstance(self.raw, dict) else None
        if index is not None:
            r = r[index] if isinstance(r, list) and index < len(r) else None
        return r

    def _get(self, name: str) -> tuple[Any, Any, Location, bool]:
        v = self.value
        if not isinstance(v, dict) or name not in v:
            unk = self.unknown.get(name) if isinstance(self.unknown, dict) else None
            if unk is True:
                return Unknown(name, "known after apply"), None, self.loc, True
            return None, None, self.loc, False
        kl = v.key_locs.get(name) if isinstance(v, LDict) else None
        vl = getattr(v[name], "loc", None)
        loc = kl or vl or self.loc
        if kl is not None and vl is not None:
            loc = Location(kl.file, kl.line, max(kl.end_line, vl.end_line), kl.column)
        unk = self.unknown.get(name) if isinstance(self.unknown, dict) else None
        if unk is True:
            return Unknown(name, "known after apply"), None, loc, True
        return v[name], unk, loc, True

    def children(self, step: Step) -> "list[Node] | None":
        v, unk, loc, present = self._get(step.name)
        if not present or v is None:
            return None
        expr = f"{self.expr}.{step.name}" if self.expr else step.name
        if isinstance(v, (Unknown, Choice)):
            u = v if isinstance(v, Unknown) else Unknown(v.expr or expr, "depends on a condition")
            return [UnknownNode(u, loc)]
        if step.json:
            v = _decode(v, loc)
            if isinstance(v, Unknown):
                return [UnknownNode(v, loc)]
        if step.select is not None:
            return _select(v, step.select, loc, expr, unk)
        if isinstance(v, list):
            items = [(x, unk[i] if isinstance(unk, list) and i < len(unk) else None) for i, x in enumerate(v)]
            if not step.many and len(items) > 1:
                items = items[:1]
            return [self._make(x, loc, f"{expr}[{i}]", u, self._raw(step.name, i)) for i, (x, u) in enumerate(items)]
        return [self._make(v, loc, expr, unk, self._raw(step.name))]

    def _make(self, v: Any, loc: Location, expr: str, unknown: Any, raw: Any) -> Node:
        """A child node (subclasses keep their own kind)."""
        if isinstance(v, (Unknown, Choice)):
            return _node(v, loc, expr, unknown)
        return type(self)(v, loc, expr, unknown, raw, self.render)

    def leaf(self, name: str) -> Attr | None:
        v, _unk, loc, present = self._get(name)
        if not present or v is None:
            return None
        raw = self._raw(name)
        text = self.render(raw) if self.render is not None and raw is not None else ""
        return Attr(v, loc, True, text)


def _node(v: Any, loc: Location, expr: str, unknown: Any, raw: Any = None, render: Any = None) -> Node:
    if isinstance(v, Unknown):
        return UnknownNode(v, getattr(v, "loc", None) or loc)
    if isinstance(v, Choice):
        return UnknownNode(Unknown(v.expr or expr, "depends on a condition"), loc)
    return ValueNode(v, loc, expr, unknown, raw, render)


def _decode(v: Any, loc: Location) -> Any:
    if isinstance(v, dict):
        return v
    if isinstance(v, str) and is_known(v):
        try:
            return jsonload.loads_plain(v)
        except jsonload.JsonError:
            return Unknown(v[:80], "not JSON")
    return Unknown(display(v)[:80] if not isinstance(v, Unknown) else v.expr, "JSON not known statically")


def _select(v: Any, sel: tuple[str, str], loc: Location, expr: str, unk: Any) -> "list[Node] | None":
    """``name[Key=v]``: the elements of a key/value list whose key is ``v``."""
    k, want = sel
    if not isinstance(v, list):
        return [UnknownNode(Unknown(expr, "not a list"), loc)]
    out: list[Node] = []
    for i, item in enumerate(v):
        if isinstance(item, dict):
            got = item.get(k)
            if isinstance(got, str) and got == want:
                out.append(ValueNode(item, loc, f"{expr}[{i}]"))
            elif not isinstance(got, str):
                out.append(UnknownNode(Unknown(f"{expr}[{i}]", f"its {k} is not known statically"), getattr(item, "loc", None) or loc))
        elif isinstance(item, (Unknown, Choice)):
            out.append(UnknownNode(Unknown(f"{expr}[{i}]", "not known statically"), loc))
    return out or None


# --- walking -------------------------------------------------------------------------------


class Element:
    """One element reached by a path: the nodes at every step, and a label
    (``block_device_mappings[1]``) when a list had more than one element."""

    __slots__ = ("chain", "label", "absent", "path", "optional")

    def __init__(self, chain: list[Node | None], label: str, absent: bool, path: str = "", optional: bool = False) -> None:
        self.chain = chain
        self.label = label
        self.absent = absent
        #: the steps as written, with the index of an element of a longer list
        self.path = path
        #: inside an element of an optional list (:data:`OPTIONAL_LISTS`)
        self.optional = optional


def elements(root: Node, steps: list[Step]) -> list[Element]:
    """The elements a path (without its leaf) reaches. A step that is not
    written continues as absent (the leaf will be absent); an optional list
    (:data:`OPTIONAL_LISTS`) that is absent or empty gives nothing."""
    out = [Element([root], "", False)]
    for step in steps:
        nxt: list[Element] = []
        for el in out:
            node = el.chain[-1]
            written = step.name if step.select is None else f"{step.name}[{step.select[0]}={step.select[1]}]"
            path = f"{el.path}.{written}" if el.path else written
            if node is None:
                nxt.append(Element(el.chain + [None], el.label, True, path, el.optional))
                continue
            kids = node.children(step)
            if not kids:
                if step.name in OPTIONAL_LISTS:
                    continue  # nothing there to encrypt
                if el.optional:
                    continue  # e.g. a block device mapping without `ebs` (an instance store volume)
                nxt.append(Element(el.chain + [None], el.label, True, path))
                continue
            many = step.many and len(kids) > 1
            optional = el.optional or step.name in OPTIONAL_LISTS
            for i, k in enumerate(kids):
                label = el.label
                p = path
                if many:
                    label = f"{label}.{step.name}[{i}]" if label else f"{step.name}[{i}]"
                    p = f"{path}[{i}]"
                nxt.append(Element(el.chain + [k], label, el.absent, p, optional))
        out = nxt
    return out


def read(node: Node | None, steps: list[Step]) -> Attr | None:
    """The attribute at the end of ``steps`` from ``node``, following the
    first element of lists (None when not written)."""
    for step in steps[:-1]:
        if node is None:
            return None
        kids = node.children(step)
        if not kids:
            return None
        node = kids[0]
    if node is None:
        return None
    return node.leaf(steps[-1].name)


def _common(a: list[Step], b: list[Step]) -> int:
    n = 0
    for x, y in zip(a[:-1], b[:-1]):
        if x.text != y.text:
            break
        n += 1
    return n


# --- building the model ------------------------------------------------------------------------


def build(source: str, rtype: str, address: str, loc: Location, root: Node, suppressions: list, rroot: str = "",
          ) -> tuple[list[Consumer], list[Delivery]]:
    """The consumers and delivery paths of one resource."""
    t = table()
    side_source = "cloudformation" if source == "cloudformation" else "terraform"
    facts = _facts(rtype, root)
    consumers: list[Consumer] = []
    for spec in t.consumers_of(side_source, rtype):
        consumers.extend(_consumers(spec, side_source, source, rtype, address, loc, root, suppressions, facts, rroot))
    deliveries: list[Delivery] = []
    for p in t.paths_of(side_source, rtype):
        deliveries.extend(_deliveries(p, side_source, source, rtype, address, loc, root, suppressions, facts, rroot))
    return consumers, deliveries


def _facts(rtype: str, root: Node) -> dict[str, Attr]:
    out: dict[str, Attr] = {}
    for fact, path in CONSUMER_FACTS.get(rtype, {}).items():
        a = read(root, split(path))
        if a is not None:
            out[fact] = a
    return out


def _consumers(spec: ConsumerSpec, side_source: str, source: str, rtype: str, address: str, loc: Location, root: Node,
               suppressions: list, facts: dict[str, Attr], rroot: str) -> Iterator[Consumer]:
    side = spec.side(side_source)
    assert side is not None
    applies: bool | None = True
    if side.applies_when is not None:
        verdicts = [_applies(root, w) for w in side.applies_when]
        applies = True if True in verdicts else None if None in verdicts else False
        if applies is False:
            return
    key_steps = split(side.key_path)
    en_steps = split(side.enable.path) if side.enable else None
    off_steps = split(side.off.path) if side.off else None

    def beside(el: Any, steps: list[Step]) -> Attr:
        """A flag at ``steps`` in the element ``el`` of the key, read from where its path leaves the key's."""
        n = _common(key_steps, steps)
        base = el.chain[n] if n < len(el.chain) else None
        return (read(base, steps[n:]) if base is not None else None) or Attr()

    for el in elements(root, key_steps[:-1]):
        node = el.chain[-1]
        key = node.key_leaf(key_steps[-1].name) if node is not None else None
        c = Consumer(address, rtype, loc, source, suppressions=suppressions, table_id=spec.id,
                     key_attr=key or Attr(), key_name=key_steps[-1].name, applies=applies, element=el.label,
                     facts=dict(facts), container_absent=el.absent)
        c.root = rroot
        if en_steps is not None:
            c.enable, c.enable_name = beside(el, en_steps), en_steps[-1].name
        if off_steps is not None:
            c.off, c.off_name = beside(el, off_steps), off_steps[-1].name
        # by the names written, so that the engine finds the attribute a finding is located at
        for name, a in ((c.key_name, c.key_attr), (c.enable_name, c.enable), (c.off_name, c.off)):
            if name and a.present:
                c.attrs[name] = a
        yield c


def _applies(root: Node, w: dict) -> bool | None:
    if "all" in w:
        verdicts = [_applies(root, x) for x in w["all"]]
        return False if False in verdicts else None if None in verdicts else True
    return _applies_one(root, w)


def _applies_one(root: Node, w: dict) -> bool | None:
    """One condition of ``applies_when``: ``{path, equals}``, ``{path, present: true}``
    (written and not empty) or ``{path, absent: true}`` (not written)."""
    a = read(root, split(w["path"]))
    if w.get("absent"):
        if a is None or not a.present:
            return True
        if isinstance(a.value, Choice):
            # `cond ? id : null`, `Fn::If [C, Id, !Ref AWS::NoValue]`: absent in some branches only
            gone = [v is None or v is REMOVE or v == "" for v in variants(a.value)]
            return True if all(gone) else False if not any(gone) else None
        return False
    if a is None or not a.present:
        return False  # not written: neither present nor equal to anything (SSM's type defaults to String)
    if w.get("present"):
        if a is None or not a.present:
            return False
        v = a.value
        if isinstance(v, (dict, list, str)) and not isinstance(v, Unknown):
            return bool(v)
        return True if not isinstance(v, (Unknown, Choice)) else None
    return holds(a, [w.get("equals")], None)


def _deliveries(p: PathSpec, side_source: str, source: str, rtype: str, address: str, loc: Location, root: Node,
                suppressions: list, facts: dict[str, Attr], rroot: str) -> Iterator[Delivery]:
    side = p.side(side_source)
    assert side is not None
    whole: bool | None = True
    why = ""
    item_conds = []
    for w in side.when:
        if w.get("same_item"):
            item_conds.append(w)
            continue
        h = _cond(root, w)
        if h is False:
            return
        if h is None:
            whole = None
            why = f"cannot tell {w['path']}"
    for path in side.paths:
        steps = split(path)
        for el in elements(root, steps[:-1]):
            node = el.chain[-1]
            if node is None:
                continue
            leaf = steps[-1]
            a = node.leaf(leaf.name)
            if a is None:
                continue
            h_item: bool | None = whole
            for w in item_conds:
                wsteps = split(w["path"])
                n = _common(steps, wsteps)
                base = el.chain[n] if n < len(el.chain) else None
                r = _cond_at(base, wsteps[n:], w)
                if r is False:
                    h_item = False
                    break
                if r is None:
                    h_item = None
            if h_item is False:
                continue
            name = f"{el.path}.{leaf.name}" if el.path else leaf.name
            raw = node._raw(leaf.name) if isinstance(node, ValueNode) else None
            for dest, dloc, label in _destinations(a, leaf, name, raw):
                d = Delivery(address, rtype, loc, source, suppressions=suppressions, path_id=p.id,
                             dest=Attr(dest, dloc, True, a.expr, a.origin if dloc == a.loc else None),
                             dest_name=label, holds=h_item, why=why, facts=dict(facts))
                d.attrs[label] = d.dest
                d.root = rroot
                yield d


def _destinations(a: Attr, leaf: Step, name: str, raw: Any = None) -> Iterator[tuple[Any, Location | None, str]]:
    """Each destination an attribute names: every item of a list attribute
    (``alarm_actions``), else the value; located at the item when it is
    written on a line of its own (a CloudFormation list)."""
    v = a.value
    if leaf.many and isinstance(v, list):
        raws = raw if isinstance(raw, list) and len(raw) == len(v) else [None] * len(v)
        for i, item in enumerate(v):
            loc = getattr(item, "loc", None) or getattr(raws[i], "loc", None) or a.loc
            yield item, loc, name if len(v) == 1 else f"{name}[{i}]"
        return
    if leaf.many and isinstance(v, Choice):
        for opt in variants(v):
            if isinstance(opt, list):
                for item in opt:
                    yield item, a.loc, name
            else:
                yield opt, a.loc, name
        return
    yield v, a.loc, name


def _cond(root: Node, w: dict) -> bool | None:
    return _cond_at(root, split(w["path"]), w)


def _cond_at(node: Node | None, steps: list[Step], w: dict) -> bool | None:
    a = read(node, steps) if node is not None and steps else None
    if w.get("absent"):
        return a is None or not a.present  # written at all (even unknown): the condition fails
    if "equals" in w:
        return holds(a, [w["equals"]], w.get("default"), "default" in w)
    return holds(a, list(w.get("in") or ()), w.get("default"), "default" in w)


__all__ = ["ABSENT", "Node", "UnknownNode", "ValueNode", "build", "elements", "holds", "read", "split"]
