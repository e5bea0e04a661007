"""Terraform source files (``.tf`` with tree-sitter-hcl, ``.tf.json`` with
:mod:`iackms.jsonload`) turned into a small block model. Expressions are kept
unevaluated: a tree-sitter node for HCL, the JSON value for ``.tf.json``."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from .. import jsonload
from ..model import LDict, LList, Location, Note, Suppression


@lru_cache(maxsize=1)
def hcl_parser() -> Any:
    import tree_sitter
    import tree_sitter_hcl

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_hcl.language()))


@dataclass
class SrcFile:
    path: Path
    rel: str
    is_json: bool = False


def node_loc(node: Any, rel: str) -> Location:
    return Location(rel, node.start_point[0] + 1, node.end_point[0] + 1, node.start_point[1] + 1)


def node_text(node: Any) -> str:
    """The source text of a tree-sitter node."""
    return node.text.decode("utf-8", "replace")


def object_elems(obj: Any) -> Iterator[tuple[Any, Any]]:
    """The (key, value) nodes of an HCL object's elements that have both."""
    for el in obj.children:
        if el.type != "object_elem":
            continue
        k, v = el.child_by_field_name("key"), el.child_by_field_name("val")
        if k is not None and v is not None:
            yield k, v


@dataclass
class AttrNode:
    """One attribute as written: ``expr`` is a tree-sitter ``expression`` node
    (HCL) or a JSON value (``.tf.json``)."""

    name: str
    expr: Any
    file: SrcFile
    loc: Location

    def text(self) -> str:
        if self.file.is_json:
            return _json_text(self.expr)
        return self.expr.text.decode("utf-8", "replace")


def _json_text(v: Any) -> str:
    if isinstance(v, str):
        return v
    try:
        import orjson

        return orjson.dumps(v).decode()
    except Exception:  # noqa: BLE001 - only for messages
        return repr(v)


@dataclass
class Block:
    type: str
    labels: list[str]
    file: SrcFile
    loc: Location
    node: Any = None  # tree-sitter block node (HCL)
    body: Any = None  # tree-sitter body node or JSON dict
    _attrs: dict[str, AttrNode] | None = field(default=None, repr=False)
    _blocks: list["Block"] | None = field(default=None, repr=False)

    @property
    def attrs(self) -> dict[str, AttrNode]:
        if self._attrs is None:
            self._fill()
        assert self._attrs is not None
        return self._attrs

    @property
    def blocks(self) -> list["Block"]:
        if self._blocks is None:
            self._fill()
        assert self._blocks is not None
        return self._blocks

    def _fill(self) -> None:
        if self.file.is_json:
            self._attrs, self._blocks = _json_body(self.body, self.file, self.loc)
        else:
            self._attrs, self._blocks = _hcl_body(self.body, self.file)

    def get_blocks(self, name: str) -> list["Block"]:
        """Nested blocks of one type (in ``.tf.json`` written as an object or
        a list of objects under that name)."""
        out = [b for b in self.blocks if b.type == name]
        if self.file.is_json and name in self.attrs:
            out.extend(json_blocks(name, self.attrs[name].expr, self.file, self.attrs[name].loc, _JSON_LABELS.get(name, 0)))
        return out


# --- HCL -----------------------------------------------------------------------


def _label(node: Any) -> str:
    if node.type == "identifier":
        return node.text.decode("utf-8", "replace")
    t = node.text.decode("utf-8", "replace")
    if len(t) >= 2 and t[0] == '"' and t[-1] == '"':
        t = t[1:-1]
    return t


def _hcl_block(node: Any, f: SrcFile) -> Block | None:
    ident = None
    labels: list[str] = []
    body = None
    for c in node.children:
        t = c.type
        if t == "identifier" and ident is None:
            ident = c.text.decode("utf-8", "replace")
        elif t in ("string_lit", "identifier"):
            labels.append(_label(c))
        elif t == "body":
            body = c
    if ident is None:
        return None
    return Block(ident, labels, f, node_loc(node, f.rel), node, body)


def _hcl_body(body: Any, f: SrcFile) -> tuple[dict[str, AttrNode], list[Block]]:
    attrs: dict[str, AttrNode] = {}
    blocks: list[Block] = []
    if body is None:
        return attrs, blocks
    for c in body.children:
        if c.type == "attribute":
            a = _hcl_attr(c, f)
            if a is not None:
                attrs[a.name] = a
        elif c.type == "block":
            b = _hcl_block(c, f)
            if b is not None:
                blocks.append(b)
    return attrs, blocks


def _hcl_attr(node: Any, f: SrcFile) -> AttrNode | None:
    name = None
    expr = None
    for c in node.children:
        if c.type == "identifier" and name is None:
            name = c.text.decode("utf-8", "replace")
        elif c.type == "expression":
            expr = c
    if name is None or expr is None:
        return None
    return AttrNode(name, expr, f, node_loc(node, f.rel))


_TOP_TYPES = {"resource", "data", "module", "variable", "locals", "output"}


def _error_point(n: Any) -> tuple[int, int]:
    """Where a problem is: an ERROR node's start; for a MISSING token, the
    end of the token before it (the parser notices a missing token only at
    the next one, often on a later line)."""
    if not n.is_missing:
        return n.start_point[0], n.start_point[1]
    cur = n
    while cur is not None and cur.prev_sibling is None:
        cur = cur.parent
    if cur is None or cur.prev_sibling is None:
        return n.start_point[0], n.start_point[1]
    p = cur.prev_sibling.end_point
    return p[0], p[1]


def _salvage(node: Any, f: SrcFile, out: list[Block], depth: int = 0) -> None:
    """Top-level blocks that error recovery nested inside a broken block."""
    if depth > 50:
        return
    for c in node.children:
        if c.type == "body":
            _salvage(c, f, out, depth + 1)
        elif c.type == "block":
            ident = c.children[0] if c.child_count else None
            if ident is None or ident.type != "identifier" or ident.text.decode("utf-8", "replace") not in _TOP_TYPES:
                continue
            if c.has_error:
                _salvage(c, f, out, depth + 1)
                continue
            b = _hcl_block(c, f)
            if b is not None:
                out.append(b)


def _string_over_lines(root: Any, before_row: int) -> Any:
    """The first quoted string that starts on an earlier line than
    ``before_row`` and runs into it: an unclosed string (HCL's quoted
    strings end on their line; heredocs are not quoted strings)."""
    stack = [root]
    while stack:
        n = stack.pop()
        if n.start_point[0] > before_row:
            continue
        if n.type in ("string_lit", "literal_value", "template_expr") and n.start_point[0] < n.end_point[0] \
                and n.end_point[0] >= before_row and n.text[:1] == b'"':
            return n  # it runs into the error (an interpolation may hold line breaks, and then ends earlier)
        if n.has_error or n.type in ("body", "block", "attribute", "expression"):
            stack.extend(reversed(n.children))
    return None


def first_error(root: Any) -> Any:
    """The first ERROR or MISSING node in document order."""
    stack = [root]
    while stack:
        n = stack.pop()
        if n.is_error or n.is_missing:
            return n
        if n.has_error:
            stack.extend(reversed(n.children))
    return None


@dataclass
class ParsedFile:
    file: SrcFile
    blocks: list[Block]
    attrs: list[AttrNode]  # top-level attributes (tfvars files)
    notes: list[Note]


#: the memory tree-sitter-hcl may take for one file (the peak is about twice
#: this: finishing a stopped parse allocates as much again). Its trees cost ~40
#: bytes per byte of typical Terraform but up to ~600 (long strings, runs of
#: blank lines), so a hostile file far below --max-file-size could exhaust
#: memory. Files up to BOUNDED_FROM bytes cannot reach the budget and are
#: parsed directly.
HCL_MEMORY_BUDGET = 512 * 1024 * 1024
BOUNDED_FROM = 512 * 1024
_CHUNK = 256 * 1024


def _rss() -> int | None:
    """Resident memory of this process (Linux), else its peak (other
    POSIX), else None."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
    except (ImportError, OSError, AttributeError):  # pragma: no cover - Windows
        return None


def _parse_bounded(data: bytes) -> tuple[Any, int | None]:
    """The tree of ``data``, or (None, line) when parsing would take more than
    HCL_MEMORY_BUDGET; ``line`` (1-based) is where it was stopped."""
    parser = hcl_parser()
    start = _rss() if len(data) > BOUNDED_FROM else None
    if start is None:
        return parser.parse(data), None
    stopped: list[int] = []

    def read(offset: int, point: Any) -> bytes:
        # tree-sitter asks for the next chunk as it reaches the end of the last
        if stopped or offset >= len(data):
            return b""
        now = _rss()
        if now is not None and now - start > HCL_MEMORY_BUDGET:
            stopped.append(point[0] + 1)
            return b""  # the end of input: the parse finishes at once
        return data[offset : offset + _CHUNK]

    tree = parser.parse(read)
    if stopped:
        return None, stopped[0]
    # the same tree backed by the bytes (nodes' text without the callback);
    # with nothing edited, tree-sitter reuses every node of the first parse
    return parser.parse(data, old_tree=tree), None


def parse_hcl(data: bytes, f: SrcFile) -> ParsedFile:
    notes: list[Note] = []
    tree, stopped_at = _parse_bounded(data)
    if tree is None:
        mb = HCL_MEMORY_BUDGET // (1024 * 1024)
        msg = f"{f.rel} needs more than the HCL parser's memory limit of {mb} MB (stopped at line {stopped_at}); it is not scanned"
        return ParsedFile(f, [], [], [Note("IKMS001", msg, Location(f.rel, stopped_at or 1, stopped_at or 1, 1))])
    root = tree.root_node
    if root.has_error:
        err = first_error(root)
        row, col0 = _error_point(err) if err is not None else (0, 0)
        what = "missing " + err.type if err is not None and err.is_missing else "unexpected syntax"
        unclosed = _string_over_lines(root, row)
        if unclosed is not None:
            # a quoted string may not hold a line break: the parser reads on to the next quote, lines later
            row, col0 = unclosed.start_point[0], unclosed.start_point[1]
            what = "a quoted string is not closed on its line"
        line, col = row + 1, col0 + 1
        notes.append(
            Note(
                "IKMS001",
                f"{f.rel} has a syntax error at line {line} ({what}); blocks that could not be read are skipped",
                Location(f.rel, line, line, col),
            )
        )
    blocks: list[Block] = []
    attrs: list[AttrNode] = []
    for body in root.children:
        if body.type != "body":
            continue
        for c in body.children:
            if c.type == "block":
                if c.has_error:
                    _salvage(c, f, blocks)  # the broken block itself is skipped
                    continue
                b = _hcl_block(c, f)
                if b is not None:
                    blocks.append(b)
            elif c.type == "ERROR":
                _salvage(c, f, blocks)
            elif c.type == "attribute":
                a = _hcl_attr(c, f)
                if a is not None:
                    attrs.append(a)
    return ParsedFile(f, blocks, attrs, notes)


def iter_comments(node: Any) -> Iterator[Any]:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "comment":
            yield n
            continue
        if n.child_count:
            stack.extend(reversed(n.children))


# --- JSON ----------------------------------------------------------------------

#: how many labels the nested blocks of each top-level type take in .tf.json
_TOP_LABELS = {"resource": 2, "data": 2, "module": 1, "variable": 1, "output": 1, "provider": 1, "locals": 0, "terraform": 0}
_JSON_LABELS = {"dynamic": 1}


def json_blocks(name: str, value: Any, f: SrcFile, loc: Location, nlabels: int, labels: list[str] | None = None) -> list[Block]:
    labels = labels or []
    out: list[Block] = []
    if nlabels == 0:
        items = value if isinstance(value, list) else [value]
        for it in items:
            if isinstance(it, dict):
                out.append(Block(name, list(labels), f, getattr(it, "loc", None) or loc, None, it))
        return out
    if isinstance(value, list):
        for it in value:
            out.extend(json_blocks(name, it, f, loc, nlabels, labels))
        return out
    if isinstance(value, dict):
        for k, v in value.items():
            kl = value.key_locs.get(k, loc) if isinstance(value, LDict) else loc
            out.extend(json_blocks(name, v, f, getattr(v, "loc", None) or kl, nlabels - 1, labels + [str(k)]))
    return out


def _json_body(body: Any, f: SrcFile, loc: Location) -> tuple[dict[str, AttrNode], list[Block]]:
    attrs: dict[str, AttrNode] = {}
    if not isinstance(body, dict):
        return attrs, []
    for k, v in body.items():
        if k == "//":
            continue
        kl = body.key_locs.get(k, loc) if isinstance(body, LDict) else loc
        vl = getattr(v, "loc", None)
        if vl is not None:
            kl = Location(kl.file, kl.line, max(kl.end_line, vl.end_line), kl.column)
        attrs[str(k)] = AttrNode(str(k), v, f, kl)
    return attrs, []


def parse_json(data: bytes, f: SrcFile) -> ParsedFile:
    try:
        doc = jsonload.load(data, f.rel)
    except jsonload.JsonError as e:
        note = Note("IKMS001", f"{f.rel} is not valid JSON: {e.message}", Location(f.rel, e.line, e.line, e.column))
        return ParsedFile(f, [], [], [note])
    blocks: list[Block] = []
    attrs: list[AttrNode] = []
    if not isinstance(doc, dict):
        note = Note("IKMS001", f"{f.rel} is not a Terraform JSON configuration (not an object)", Location(f.rel, 1, 1, 1))
        return ParsedFile(f, [], [], [note])
    root_loc = getattr(doc, "loc", None) or Location(f.rel, 1, 1, 1)
    for k, v in doc.items():
        kl = doc.key_locs.get(k, root_loc) if isinstance(doc, LDict) else root_loc
        if k in _TOP_LABELS:
            blocks.extend(json_blocks(k, v, f, kl, _TOP_LABELS[k]))
        elif k != "//":
            attrs.append(AttrNode(str(k), v, f, kl))
    return ParsedFile(f, blocks, attrs, [])


def parse_bytes(data: bytes, f: SrcFile) -> ParsedFile:
    if f.is_json:
        return parse_json(data, f)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        note = Note("IKMS001", f"{f.rel} is not valid UTF-8 (byte {e.start}, line {line}); it is not scanned", Location(f.rel, 1, 1, 1))
        return ParsedFile(f, [], [], [note])
    return parse_hcl(data, f)


# --- suppressions ------------------------------------------------------------------

_IACKMS_RE = re.compile(r"iackms:skip=\s*([A-Za-z0-9_\-]+(?:\s*,\s*[A-Za-z0-9_\-]+)*)(?:\s*:\s*|\s+)?(.*)$")
_CHECKOV_RE = re.compile(r"checkov:skip=\s*([A-Za-z0-9_]+)(?:\s*:\s*(.*))?")


def suppressions_in(block: Block) -> list[Suppression]:
    """``# iackms:skip=ID[,ID] reason`` and ``# checkov:skip=CKV_AWS_7:reason``
    comments written inside a block or on the comment lines directly above its
    header (where tfsec and Trivy users write them)."""
    out: list[Suppression] = []
    if block.file.is_json or block.node is None:
        return out
    rel = block.file.rel
    for c in _comments_above(block.node):
        _suppressions_of(c, rel, out)
    for c in iter_comments(block.node):
        _suppressions_of(c, rel, out)
    return out


def _comments_above(node: Any) -> list[Any]:
    """The comments on the lines directly above ``node`` (no blank line, no
    code between), in source order. A comment that ends a line of code, or
    that starts the header's own line, is not one of them."""
    found: list[Any] = []
    row = node.start_point[0]
    cur = node
    while True:
        prev = cur.prev_sibling
        if prev is None:
            parent = cur.parent
            # the first block's leading comments belong to the file, before its body
            if parent is None or parent.type != "body":
                break
            cur = parent
            continue
        if prev.type != "comment" or prev.end_point[0] < row - 1 or (prev.end_point[0] == row and prev.end_point[1] > 0 and cur is node):
            break
        before = prev.prev_sibling
        if before is None and prev.parent is not None and prev.parent.type == "body":
            before = prev.parent.prev_sibling
        if before is not None and before.end_point[0] == prev.start_point[0] and before.type != "comment":
            break  # a comment after code on the same line
        found.append(prev)
        row = prev.start_point[0]
        cur = prev
    return found[::-1]


def _suppressions_of(c: Any, rel: str, out: list[Suppression]) -> None:
    text = c.text.decode("utf-8", "replace")
    base_line = c.start_point[0] + 1
    for i, line in enumerate(text.split("\n")):
        body = line.strip()
        for pre in ("/*", "//", "#"):
            if body.startswith(pre):
                body = body[len(pre):]
                break
        if body.endswith("*/"):
            body = body[:-2]
        body = body.strip().lstrip("*").strip()
        loc = Location(rel, base_line + i, base_line + i, 1)
        m = _IACKMS_RE.search(body)
        if m:
            reason = m.group(2).strip()
            for rid in m.group(1).split(","):
                rid = rid.strip()
                out.append(Suppression(rid.upper(), reason, loc, "iackms", rid))
            continue
        m2 = _CHECKOV_RE.search(body)
        if m2:
            out.append(Suppression("", (m2.group(2) or "").strip(), loc, "checkov", m2.group(1)))


__all__ = [
    "AttrNode",
    "Block",
    "LList",
    "ParsedFile",
    "SrcFile",
    "hcl_parser",
    "node_loc",
    "parse_bytes",
    "suppressions_in",
]
