"""Terraform string templates: quoted strings, heredocs (``<<`` and
``<<-``), ``%{if}`` / ``%{for}`` directives with their strip markers, and
templates given as text (``templatefile()``, ``.tf.json`` strings). A
heredoc whose directives remove lines keeps a line map, so JSON written in
it is located on its source lines."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..model import Choice, Location, Unknown, unknown_piece
from .tf_hcl import SrcFile, hcl_parser, node_loc, node_text
from .tf_values import TOO_DEEP, LStr, err, is_err, iterate, lift_all, relocate, to_bool, to_str

if TYPE_CHECKING:
    from .tf_expr import Ev

_TPL_MARK = "__IACKMS_TPL__"
#: appended to the file name of a template while it is evaluated (its rows
#: are the wrapper's); template_string() puts the locations right
_TPL_FILE = "\ue006tpl"
_STRIP_L = "strip-left"
_STRIP_R = "strip-right"


# --- the template nodes of an expression --------------------------------------------


def quoted(ev: "Ev", n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
    """A quoted string (a template)."""
    kids = n.children
    if len(kids) < 2:
        return err(node_text(n))
    start = kids[0].end_byte
    end = kids[-1].start_byte if kids[-1].type == "quoted_template_end" else n.end_byte
    v = _template(ev, n, kids[1:], start, end, f, env)
    if type(v) is str and "\n" not in v:
        return LStr(v, node_loc(n, f.rel))
    return v


def template_expr(ev: "Ev", n: Any, f: SrcFile, env: dict[str, Any]) -> Any:
    return ev.node(n.children[0], f, env)


def heredoc(ev: "Ev", n: Any, f: SrcFile, env: dict[str, Any], drop_last_newline: bool = False) -> Any:
    """A heredoc: an LStr located on its body's lines."""
    kids = n.children
    idents = [c for c in kids if c.type == "heredoc_identifier"]
    if len(idents) < 2:
        return err(node_text(n))
    dash = any(c.type == "heredoc_start" and node_text(c).startswith("<<-") for c in kids)
    base = n.text
    b0 = n.start_byte
    nl = base.find(b"\n", idents[0].end_byte - b0)
    if nl < 0:
        return err(node_text(n))
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
    t = _Pieces(ev, n, f, True, strip)
    r = t.parts(body, start, end, env)
    if r is not None:
        return r
    items = t.items
    if len(items) == 1 and isinstance(items[0], tuple) and items[0][0] == "V":
        return items[0][2]
    row0 = idents[0].start_point[0] + 1  # the body's first row
    v, rows = _assemble(items, row0)
    first = row0 + 1
    out = LStr(v, Location(f.rel, first, max(first, close.start_point[0]), 1 + strip))
    if any(x != i for i, x in enumerate(rows)):
        out.line_map = rows  # directives or strip markers moved lines
    return out


# --- a template given as text --------------------------------------------------------


def template_string(ev: "Ev", s: str, f: SrcFile, env: dict[str, Any], loc: Location | None, tpl_file: SrcFile | None = None, at: Location | None = None) -> Any:
    """Evaluate ``s`` as a Terraform string template (a .tf.json string
    written at ``at``, or a templatefile() template whose text is
    ``loc``). Whatever the template builds is located where it is
    written, not in the wrapper it is parsed in."""
    src_file = tpl_file or SrcFile(f.path, f.rel)
    inner = SrcFile(src_file.path, src_file.rel + _TPL_FILE)
    v = _template_text(ev, s, inner, env, loc)
    if at is not None:
        def fn(x: Location) -> Location:
            return Location(src_file.rel, at.line, at.line, at.column) if x.file == inner.rel else x
    else:
        def fn(x: Location) -> Location:
            if x.file != inner.rel:
                return x
            return Location(src_file.rel, max(1, x.line - 1), max(1, x.end_line - 1), x.column)
    for n in ev.scope.notes:
        if n.loc.file == inner.rel:
            n.loc = fn(n.loc)
            n.message = n.message.replace(inner.rel, src_file.rel)
    return relocate(v, fn, inner.rel)


def _template_text(ev: "Ev", s: str, f: SrcFile, env: dict[str, Any], loc: Location | None) -> Any:
    """``s`` parsed as the body of a heredoc and evaluated."""
    tree = ev.tpl_cache.get(s)
    if tree is None:
        src = f"t = <<{_TPL_MARK}\n{s}\n{_TPL_MARK}\n".encode("utf-8", "surrogatepass")
        tree = hcl_parser().parse(src)
        if len(ev.tpl_cache) < 256:
            ev.tpl_cache[s] = tree
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
    v = heredoc(ev, hd, f, env, drop_last_newline=True)
    if type(v) is LStr:
        if loc is None:
            return str(v)
        out = LStr(str(v), loc, "file")
        out.line_map = v.line_map
        return out
    return v


# --- evaluation -----------------------------------------------------------------------


def _template(ev: "Ev", base: Any, kids: list[Any], start: int, end: int, f: SrcFile, env: dict[str, Any]) -> Any:
    t = _Pieces(ev, base, f, False, 0)
    r = t.parts(kids, start, end, env)
    if r is not None:
        return r
    items = t.items
    # a template that is exactly one interpolation yields the value itself
    if len(items) == 1 and isinstance(items[0], tuple) and items[0][0] == "V":
        return items[0][2]
    choices = [i for i, it in enumerate(items) if isinstance(it, tuple) and it[0] == "V" and isinstance(it[2], Choice)]
    if choices:
        return _template_choice(items, choices, base)
    return _assemble(items, 0, False)[0]


def _template_choice(items: list[Any], choices: list[int], base: Any) -> Any:
    """A template over Choices (e.g. `alias/${each.value}` with several
    instances) is a Choice of the strings it can produce (at most 16
    combinations of independent Choices; Choices on one switch go
    together)."""

    def render(vals: list[Any]) -> Any:
        cc = list(items)
        for i, o in zip(choices, vals):
            so = to_str(o)
            if isinstance(so, Unknown):
                so = unknown_piece(node_text(base))
            cc[i] = ("V", so, o, items[i][3])
        return _assemble(cc, 0, False)[0]

    res = lift_all(render, [items[i][2] for i in choices], node_text(base), None)
    if isinstance(res, Unknown):
        return _assemble(items, 0, False)[0]
    return res


class _Pieces:
    """The pieces of one template (node ``base``) as it is evaluated:
    ``("L", text, None, row)`` for a literal, ``("V", text, value, row)`` for
    an interpolation, and the strip markers of directives."""

    def __init__(self, ev: "Ev", base: Any, f: SrcFile, heredoc: bool, strip: int) -> None:
        self.ev = ev
        self.base = base
        self.f = f
        self.heredoc = heredoc
        self.strip = strip
        self.src: bytes = base.text
        self.b0: int = base.start_byte
        self.items: list[Any] = []

    def parts(self, kids: list[Any], start: int, end: int, env: dict[str, Any]) -> Any:
        """Append the pieces of ``kids`` between bytes ``start`` and ``end``;
        return a value (Unknown) to abort the whole template."""
        src, items = self.src, self.items
        pos = start
        for c in kids:
            t = c.type
            if t not in ("template_interpolation", "template_directive"):
                continue
            if c.start_byte < pos or c.end_byte > end:
                continue
            if c.start_byte > pos:
                items.append(("L", self._literal(pos, c.start_byte, start), None, _row(self.base, src, pos)))
            if t == "template_interpolation":
                lead, trail = _strip_marks(c)
                ex = next((x for x in c.children if x.type == "expression"), None)
                if ex is None:
                    return err(node_text(self.base))
                v = self.ev.node(ex, self.f, env)
                s = to_str(v)
                if isinstance(s, Unknown):
                    return s if s.error or s.reason == TOO_DEEP else Unknown(node_text(self.base))
                if lead:
                    items.append(_STRIP_L)
                items.append(("V", s, v, c.start_point[0]))
                if trail:
                    items.append(_STRIP_R)
            else:
                r = self._directive(c.children[0], env)
                if r is not None:
                    return r
            pos = c.end_byte
        if end > pos:
            items.append(("L", self._literal(pos, end, start), None, _row(self.base, src, pos)))
        return None

    def _literal(self, pos: int, stop: int, start: int) -> str:
        b0 = self.b0
        return _literal(self.src[pos - b0 : stop - b0], self.heredoc, self.strip, _at_line_start(self.src, pos - b0, start - b0))

    def _mark(self, tag: Any, lead: bool) -> None:
        """Push the strip marker of a directive tag: ``%{~`` strips the
        whitespace before the tag, ``~}`` the whitespace after it."""
        ld, tr = _strip_marks(tag)
        if lead and ld:
            self.items.append(_STRIP_L)
        elif not lead and tr:
            self.items.append(_STRIP_R)

    def _directive(self, d: Any, env: dict[str, Any]) -> Any:
        kids = d.children
        whole = self.base
        if d.type == "template_if":
            intro = kids[0]
            else_i = next((k for k in kids if k.type == "template_else_intro"), None)
            end_n = next((k for k in kids if k.type == "template_if_end"), None)
            if end_n is None:
                return err(node_text(whole))
            ex = next((x for x in intro.children if x.type == "expression"), None)
            if ex is None:
                return err(node_text(whole))
            c = self.ev.node(ex, self.f, env)
            b = to_bool(c)
            if b is None:
                return err(node_text(whole)) if is_err(c) else Unknown(node_text(whole))
            self._mark(intro, lead=True)
            if b:
                self._mark(intro, lead=False)
                stop = else_i if else_i is not None else end_n
                r = self.parts(kids, intro.end_byte, stop.start_byte, env)
                if r is not None:
                    return r
                self._mark(stop, lead=True)
            elif else_i is not None:
                self._mark(else_i, lead=False)
                r = self.parts(kids, else_i.end_byte, end_n.start_byte, env)
                if r is not None:
                    return r
                self._mark(end_n, lead=True)
            self._mark(end_n, lead=False)
            return None
        if d.type == "template_for":
            fs = kids[0]
            end_n = next((k for k in kids if k.type == "template_for_end"), None)
            if end_n is None:
                return err(node_text(whole))
            names = [node_text(x) for x in fs.children if x.type == "identifier"]
            ex = next((x for x in fs.children if x.type == "expression"), None)
            if ex is None or not names:
                return err(node_text(whole))
            coll = self.ev.node(ex, self.f, env)
            pairs = iterate(coll)
            if pairs is None:
                return err(node_text(whole)) if is_err(coll) or coll is None else Unknown(node_text(whole))
            self._mark(fs, lead=True)
            for k, v in pairs:
                env2 = dict(env)
                if len(names) == 2:
                    env2[names[0]] = k
                    env2[names[1]] = v
                else:
                    env2[names[0]] = v
                self._mark(fs, lead=False)
                r = self.parts(kids, fs.end_byte, end_n.start_byte, env2)
                if r is not None:
                    return r
                self._mark(end_n, lead=True)
            self._mark(end_n, lead=False)
            return None
        return Unknown(node_text(whole))


# --- text -------------------------------------------------------------------------------


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
