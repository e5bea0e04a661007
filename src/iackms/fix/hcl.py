"""Terraform (``.tf``, ``.tofu``) edits by byte ranges of the tree-sitter
syntax tree: a literal replaced, an attribute removed with its line or added
as a line next to its neighbours, a key reference renamed, a statement added
to a ``jsonencode`` policy or an ``aws_iam_policy_document``.

Only the edited lines change, plus, in a block that was aligned the way
``terraform fmt`` aligns it, the spaces before ``=`` and before trailing
comments in the alignment groups the edit touched, so that a formatted file
stays formatted (:meth:`Editor.finish`). Comments, blank lines and every
other byte are kept.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ..model import Location
from ..parsers.tf_hcl import hcl_parser
from . import render
from .edits import Edit, Lines, NotFixed, NotLiteral, apply, insert_lines, neighbour, newline_of, scalar_text

#: the indentation ``terraform fmt`` uses for one level
UNIT = "  "


def parses(text: str) -> bool:
    """The text is Terraform without a syntax error."""
    return not hcl_parser().parse(text.encode("utf-8")).root_node.has_error


class Editor:
    def __init__(self, text: str, rel: str):
        self.text = text
        self.rel = rel
        self.data = text.encode("utf-8")
        self.tree = hcl_parser().parse(self.data)
        self.lines = Lines(text)
        self.nl = newline_of(text)
        self.broken = self.tree.root_node.has_error
        self._ascii = len(self.data) == len(text)

    # --- positions ------------------------------------------------------------
    def c(self, byte: int) -> int:
        """A byte offset as a character offset."""
        return byte if self._ascii else len(self.data[:byte].decode("utf-8", "replace"))

    def _find(self, loc: Location, types: tuple[str, ...]) -> Any:
        """The node of one of ``types`` that starts at ``loc``."""
        pt = (loc.line - 1, loc.column - 1)
        node = self.tree.root_node
        while True:
            nxt = None
            for ch in node.children:
                s, e = tuple(ch.start_point), tuple(ch.end_point)
                if s == pt and ch.type in types:
                    return ch
                if s <= pt < e or s == pt:
                    nxt = ch
                    break
            if nxt is None:
                return None
            node = nxt

    # --- attributes -----------------------------------------------------------
    def _attribute(self, at: Location) -> Any:
        node = self._find(at, ("attribute",))
        if node is None:
            raise NotFixed(f"the attribute is not found at {self.rel}:{at.line}")
        return node

    @staticmethod
    def _name(attr: Any) -> str:
        ident = next((c for c in attr.children if c.type == "identifier"), None)
        return ident.text.decode("utf-8", "replace") if ident is not None else ""

    @staticmethod
    def _expr(attr: Any) -> Any:
        return next((c for c in attr.children if c.type == "expression"), None)

    def _literal(self, attr: Any) -> tuple[Any, bool]:
        """The literal value node of an attribute and whether it is a quoted
        string; NotLiteral for anything else."""
        expr = self._expr(attr)
        kids = list(expr.children) if expr is not None else []
        if len(kids) == 1 and kids[0].type == "literal_value" and kids[0].child_count == 1:
            lit = kids[0].children[0]
            if lit.type in ("bool_lit", "numeric_lit"):
                return lit, False
            if lit.type == "string_lit" and all(c.type in ("quoted_template_start", "template_literal", "quoted_template_end")
                                                for c in lit.children):
                return lit, True
        text = expr.text.decode("utf-8", "replace") if expr is not None else ""
        raise NotLiteral(f"set by {' '.join(text.split())}")

    def literal_text(self, at: Location) -> str:
        """The literal written at ``at`` (NotLiteral when it is not one)."""
        lit, _ = self._literal(self._attribute(at))
        return lit.text.decode("utf-8", "replace")

    def set(self, at: Location, value: Any) -> tuple[list[Edit], str]:
        attr = self._attribute(at)
        return self._set(attr, value)

    def _set(self, attr: Any, value: Any) -> tuple[list[Edit], str]:
        lit, quoted = self._literal(attr)
        new = scalar_text(value)
        if quoted:
            new = f'"{new}"'
        old = lit.text.decode("utf-8", "replace")
        if old == new:
            raise NotFixed("the value is already " + new)
        return [Edit(self.c(lit.start_byte), self.c(lit.end_byte), new)], f"{self._name(attr)} = {new} (was {old})"

    def remove(self, at: Location) -> tuple[list[Edit], str]:
        attr = self._attribute(at)
        self._literal(attr)  # only a literal is removed: an expression may be someone's intent
        r0, r1 = attr.start_point[0], attr.end_point[0]
        lines = self.lines
        before = self.data[self.data.rfind(b"\n", 0, attr.start_byte) + 1:attr.start_byte]
        after = self.data[attr.end_byte:self.data.find(b"\n", attr.end_byte) if b"\n" in self.data[attr.end_byte:] else len(self.data)]
        rest = after.strip()
        if before.strip() or (rest and not rest.startswith((b"#", b"//"))):
            raise NotFixed("the attribute shares its line with other code")
        return [Edit(lines.start(r0), lines.end(r1), "")], f"removed {self._name(attr)}"

    # --- references -------------------------------------------------------------
    def replace_reference(self, at: Location, key: str, to: str) -> tuple[list[Edit], str]:
        """``aws_kms_key.k.id`` (or ``.key_id``, ``[0].id``, in any branch or
        template of the attribute's value) -> ``aws_kms_key.k.<to>``."""
        attr = self._attribute(at)
        local = local_address(key)
        if local is None:
            raise NotFixed(f"{key} is not a resource address")
        typ, name = local
        edits: list[Edit] = []
        stack = [attr]
        while stack:
            n = stack.pop()
            stack.extend(n.children)
            if n.type != "expression":
                continue
            kids = n.children
            for i, k in enumerate(kids):
                if k.type != "variable_expr" or k.text.decode("utf-8", "replace") != typ or i + 1 >= len(kids):
                    continue
                if _get_attr_name(kids[i + 1]) != name:
                    continue
                j = i + 2
                while j < len(kids) and kids[j].type in ("index", "splat"):
                    j += 1
                if j < len(kids) and _get_attr_name(kids[j]) in ("id", "key_id"):
                    ident = next(c for c in kids[j].children if c.type == "identifier")
                    edits.append(Edit(self.c(ident.start_byte), self.c(ident.end_byte), to))
        if not edits:
            raise NotFixed(f"the key is not written here as `{typ}.{name}.id`")
        return edits, f"{self._name(attr)}: {typ}.{name}.{to} (was its ID)"

    # --- key policy statements ------------------------------------------------------
    def add_statement(self, at: Location, statement: dict, document: bool = False) -> tuple[list[Edit], str]:
        """Append ``statement`` to the ``Statement`` list of a
        ``jsonencode({...})`` policy (the attribute at ``at``), or, with
        ``document``, a ``statement`` block to the ``aws_iam_policy_document``
        whose block starts at ``at``."""
        sid = statement.get("Sid", "")
        what = f"added statement {sid!r} to the key policy" if sid else "added a statement to the key policy"
        if document:
            return self._add_document_statement(at, statement), what
        attr = self._attribute(at)
        expr = self._expr(attr)
        call = expr.children[0] if expr is not None and expr.child_count == 1 else None
        if call is None or call.type != "function_call" or call.children[0].text != b"jsonencode":
            raise NotFixed("the key policy is not written as jsonencode({...})")
        args = next((c for c in call.children if c.type == "function_arguments"), None)
        obj = _collection(args.children[0] if args is not None and args.child_count == 1 else None, "object")
        if obj is None:
            raise NotFixed("the key policy is not written as jsonencode({...})")
        elem = next((e for e in obj.children if e.type == "object_elem" and _elem_key(e) == "Statement"), None)
        tup = _collection(elem.children[-1] if elem is not None else None, "tuple")
        if tup is None:
            raise NotFixed("the policy's Statement is not written as a list [...]")
        items = [c for c in tup.children if c.type == "expression"]
        lines = self.lines
        if not items:
            ind = lines.indent(elem.start_point[0])
            body = self._lines(render.hcl_value(statement, ind + UNIT, UNIT))
            return [Edit(self.c(tup.start_byte), self.c(tup.end_byte), f"[{self.nl}{ind}{UNIT}{body},{self.nl}{ind}]")], what
        last = items[-1]
        comma = last.next_sibling if last.next_sibling is not None and last.next_sibling.type == "," else None
        if self._first_on_row(last):  # one element per line
            ind = lines.indent(last.start_point[0])
            body = self._lines(render.hcl_value(statement, ind, UNIT))
            if comma is not None:
                return [Edit(self.c(comma.end_byte), self.c(comma.end_byte), f"{self.nl}{ind}{body},")], what
            return [Edit(self.c(last.end_byte), self.c(last.end_byte), f",{self.nl}{ind}{body}")], what
        # [{ ... }, { ... }]: the new element goes before the last one's closing brace, which closes it instead:
        # `}, {` on a line of its own, one level deeper as `terraform fmt` indents it, then the new entries
        row = last.end_point[0]
        close = lines.indent(row)
        brace = lines.start(row) + len(close)
        body = render.hcl_value(statement, close, UNIT).split("\n")
        if self.text[brace:brace + 1] == "}" and self.c(last.end_byte) == brace + 1:
            text = self.nl.join([UNIT + "}, {", *body[1:-1], close])
            return [Edit(brace, brace, text)], what
        return [Edit(self.c(last.end_byte), self.c(last.end_byte), ", " + self._lines("\n".join(body)))], what

    def _lines(self, text: str) -> str:
        """Rendered text with the file's line breaks."""
        return text if self.nl == "\n" else text.replace("\n", self.nl)

    def _add_document_statement(self, at: Location, statement: dict) -> list[Edit]:
        block = self._find(at, ("block",))
        if block is None or block.children[0].text != b"data":
            raise NotFixed(f"the policy document is not found at {self.rel}:{at.line}")
        body = next((c for c in block.children if c.type == "body"), None)
        end = next((c for c in block.children if c.type == "block_end"), None)
        if body is None or end is None or end.start_point[0] == block.start_point[0]:
            raise NotFixed("the policy document is written on one line")
        row = end.start_point[0]
        if self.lines.content(row)[: end.start_point[1]].strip():
            raise NotFixed("the policy document's closing brace shares its line with other code")
        ind = self.lines.indent(body.children[0].start_point[0]) if body.children else self.lines.indent(block.start_point[0]) + UNIT
        new = ["", *render.policy_document_block(statement, ind, UNIT)]
        return [insert_lines(self.lines, row, new, self.nl)]

    # --- adding an attribute -----------------------------------------------------
    def insert(self, res_at: Location, name: str, value: Any, after: list[str], before: list[str]) -> tuple[list[Edit], str]:
        block = self._find(res_at, ("block",))
        if block is None:
            raise NotFixed(f"the resource block is not found at {self.rel}:{res_at.line}")
        body = next((c for c in block.children if c.type == "body"), None)
        attrs = [c for c in body.children if c.type == "attribute"] if body is not None else []
        by_name = {self._name(a): a for a in attrs}
        if name in by_name:  # written, but not as the model saw it (null): set it
            return self._set(by_name[name], value)
        start = next(c for c in block.children if c.type == "block_start")
        end = next((c for c in block.children if c.type == "block_end"), None)
        if end is None:
            raise NotFixed("the block is not closed")
        text = f"{name} = {scalar_text(value)}"
        lines = self.lines
        block_row = block.start_point[0]
        if start.start_point[0] == end.start_point[0]:  # { } on one line
            if attrs:
                raise NotFixed("the block is written on one line")
            ind = lines.indent(block_row)
            new = f"{self.nl}{ind}{UNIT}{text}{self.nl}{ind}"
            return [Edit(self.c(start.end_byte), self.c(end.start_byte), new)], f"added {text}"
        anchor, where = neighbour(by_name, after, before)
        if anchor is None:
            single = [a for a in attrs if a.start_point[0] == a.end_point[0] and self._first_on_row(a)]
            if single:
                anchor, where = single[-1], "after"
            elif attrs and self._first_on_row(attrs[0]):
                anchor, where = attrs[0], "before"
        if anchor is not None and not self._first_on_row(anchor):
            raise NotFixed("the attributes of the block share lines")
        if anchor is None:  # no attribute to stand next to: before the closing brace
            first = next((c for c in body.children), None) if body is not None else None
            ind = lines.indent(first.start_point[0]) if first is not None else lines.indent(block_row) + UNIT
            row = end.start_point[0]
            if lines.content(row)[: end.start_point[1]].strip():
                raise NotFixed("the block's closing brace shares its line with other code")
            return [Edit(lines.start(row), lines.start(row), f"{ind}{text}{self.nl}")], f"added {text}"
        row = anchor.end_point[0] + 1 if where == "after" else anchor.start_point[0]
        ind = lines.indent(anchor.start_point[0])
        line = f"{ind}{name}{' ' * self._spaces(attrs, anchor, name)}= {scalar_text(value)}"
        at = lines.start(row)
        new = line + self.nl
        if at >= len(self.text) and not self.text.endswith("\n"):
            new = self.nl + line
        return [Edit(at, at, new)], f"added {text}"

    def _first_on_row(self, node: Any) -> bool:
        row_start = self.data.rfind(b"\n", 0, node.start_byte) + 1
        return not self.data[row_start:node.start_byte].strip()

    def _spaces(self, attrs: list[Any], anchor: Any, name: str) -> int:
        """Spaces before a new attribute's `=`: lined up with its neighbours
        when they share a column and the name fits, else one. (In a block
        aligned as `terraform fmt` aligns it, :meth:`finish` aligns it so.)"""
        if anchor.start_point[0] != anchor.end_point[0]:
            return 1
        gap = _gap(anchor)
        if gap is None:
            return 1
        col = gap[1] - anchor.start_byte
        return col - len(name) if col >= len(name) + 1 else 1

    # --- `terraform fmt` alignment ------------------------------------------------
    def finish(self, new_text: str, edits: list[Edit]) -> str:
        """``new_text`` (this file with ``edits`` applied) with the blocks the
        edits touched aligned as `terraform fmt` aligns them — when they were
        so aligned before: only the spaces before `=` and before trailing
        comments change, and only where the edit made them differ."""
        blocks = [c for body in self.tree.root_node.children if body.type == "body" for c in body.children if c.type == "block"]
        touched = sorted({i for e in edits for i, b in enumerate(blocks)
                          if self.c(b.start_byte) <= e.start <= self.c(b.end_byte)})
        if not touched:
            return new_text
        clean = [i for i in touched if not _spacing(self.data, blocks[i])]
        if not clean:
            return new_text
        new = Editor(new_text, self.rel)
        new_blocks = [c for body in new.tree.root_node.children if body.type == "body" for c in body.children if c.type == "block"]
        if len(new_blocks) != len(blocks):
            return new_text
        fixes = [Edit(new.c(g0), new.c(g1), " " * want) for i in clean for g0, g1, want in _spacing(new.data, new_blocks[i])]
        return apply(new_text, fixes) if fixes else new_text


def _collection(expr: Any, kind: str) -> Any:
    """The ``object`` or ``tuple`` an expression node is, else None."""
    if expr is None or expr.type != "expression" or expr.child_count != 1:
        return None
    cv = expr.children[0]
    if cv.type != "collection_value" or cv.child_count != 1 or cv.children[0].type != kind:
        return None
    return cv.children[0]


def _elem_key(elem: Any) -> str:
    """The key of an object element written as a name or a quoted string."""
    key = elem.children[0]
    text = key.text.decode("utf-8", "replace").strip()
    return text[1:-1] if len(text) >= 2 and text[0] == '"' == text[-1] else text


def local_address(address: str) -> tuple[str, str] | None:
    """``(type, name)`` of a resource address as its own module refers to it
    (``module.a["x"].aws_kms_key.this`` -> ``aws_kms_key``, ``this``)."""
    m = re.search(r"([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?$", address)
    return (m.group(1), m.group(2)) if m else None


def _get_attr_name(node: Any) -> str | None:
    if node.type != "get_attr":
        return None
    ident = next((c for c in node.children if c.type == "identifier"), None)
    return ident.text.decode("utf-8", "replace") if ident is not None else None


def _gap(attr: Any) -> tuple[int, int, int] | None:
    """(byte where the name ends, byte where `=` starts, the name's width)."""
    ident = next((c for c in attr.children if c.type == "identifier"), None)
    eq = next((c for c in attr.children if c.type == "="), None)
    if ident is None or eq is None:
        return None
    return ident.end_byte, eq.start_byte, len(ident.text.decode("utf-8", "replace"))


def _one_line(attr: Any) -> bool:
    """The attribute is one line of `terraform fmt`'s alignment: written on
    one line, or with a heredoc value (hclwrite reads a heredoc as part of
    the line that opens it)."""
    if attr.start_point[0] == attr.end_point[0]:
        return True
    expr = next((c for c in attr.children if c.type == "expression"), None)
    kids = list(expr.children) if expr is not None else []
    return len(kids) == 1 and kids[0].type == "template_expr" and kids[0].child_count == 1 \
        and kids[0].children[0].type == "heredoc_template"


def _row_start(data: bytes, byte: int) -> int:
    return data.rfind(b"\n", 0, byte) + 1


def _spacing(data: bytes, block: Any) -> list[tuple[int, int, int]]:
    """Where a block differs from `terraform fmt`'s alignment: (gap start
    byte, gap end byte, spaces wanted) for the spaces before `=` of
    attributes on consecutive lines and before comments that end
    consecutive lines (hclwrite's alignment groups)."""
    rows: dict[int, Any] = {}  # row -> an attribute that starts it and is one of fmt's lines
    comments: dict[int, Any] = {}  # row -> the comment that ends it, after code
    stack = [block]
    while stack:
        n = stack.pop()
        if n.type == "attribute" and _one_line(n) and not data[_row_start(data, n.start_byte):n.start_byte].strip():
            rows[n.start_point[0]] = n
        elif n.type == "comment" and n.start_point[0] == n.end_point[0]:
            rs = _row_start(data, n.start_byte)
            end = data.find(b"\n", n.end_byte)
            end = len(data) if end == -1 else end
            if data[rs:n.start_byte].strip() and not data[n.end_byte:end].strip():
                comments[n.start_point[0]] = n
            continue
        stack.extend(n.children)
    out: list[tuple[int, int, int]] = []
    shift: dict[int, int] = {}  # row -> how far alignment moves the rest of the row

    def chains(keys: list[int], end: Callable[[int], int]) -> list[list[int]]:
        groups: list[list[int]] = []
        for r in sorted(keys):
            if groups and end(groups[-1][-1]) == r - 1:
                groups[-1].append(r)
            else:
                groups.append([r])
        return groups

    for group in chains(list(rows), lambda r: rows[r].end_point[0]):
        gaps = {r: _gap(rows[r]) for r in group}
        if any(g is None for g in gaps.values()):
            continue
        width = max(g[2] for g in gaps.values())  # type: ignore[index]
        for r, (g0, g1, w) in gaps.items():  # type: ignore[misc]
            want = width - w + 1
            shift[r] = want - (g1 - g0)
            if g1 - g0 != want:
                out.append((g0, g1, want))
    for group in chains(list(comments), lambda r: r):
        cols = {}
        for r in group:
            c = comments[r]
            rs = _row_start(data, c.start_byte)
            code = data[rs:c.start_byte].rstrip()
            cols[r] = (rs + len(code), c.start_byte, len(code.decode("utf-8", "replace")) + shift.get(r, 0))
        width = max(v[2] for v in cols.values())
        for r, (g0, g1, w) in cols.items():
            want = width - w + 1
            if g1 - g0 != want:
                out.append((g0, g1, want))
    return out
