"""What every file editor shares: an edit is a character range of the file's
text and its replacement; an editor that cannot make an edit safely says why
(:class:`NotFixed`) and changes nothing."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Iterable


class NotFixed(Exception):
    """The edit cannot be made safely; ``reason`` says why, for people."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class NotLiteral(NotFixed):
    """The value is not a literal written here (an expression, a reference,
    an intrinsic function): nothing is edited."""


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` (character offsets) with ``new``."""

    start: int
    end: int
    new: str

    def overlaps(self, other: "Edit") -> bool:
        """Two edits that cannot both be made: they touch the same characters,
        or one inserts inside (or at the edge of) the other's range. Two
        insertions at one point can both be made (one after the other: two
        attributes added to one block, two statements to one policy), and so
        can one edit made twice (it is made once)."""
        if self == other:
            return False
        if self.start == self.end and other.start == other.end:
            return False
        if self.start == self.end or other.start == other.end:
            return self.start <= other.end and other.start <= self.end
        return self.start < other.end and other.start < self.end


def apply(text: str, edits: Iterable[Edit]) -> str:
    """``text`` with non-overlapping ``edits`` applied (insertions at one
    point in the order given; an edit given twice made once)."""
    out = []
    pos = 0
    for e in sorted(dict.fromkeys(edits), key=lambda e: (e.start, e.end)):
        if e.start < pos:
            raise ValueError("overlapping edits")
        out.append(text[pos:e.start])
        out.append(e.new)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


def newline_of(text: str) -> str:
    """The line break the file uses (``\\r\\n`` when its first line ends so)."""
    i = text.find("\n")
    return "\r\n" if i > 0 and text[i - 1] == "\r" else "\n"


class Lines:
    """Offsets of the lines of a text (``\\n``-separated; a ``\\r`` before it
    belongs to the line's end)."""

    def __init__(self, text: str):
        self.text = text
        starts = [0]
        i = text.find("\n")
        while i != -1:
            starts.append(i + 1)
            i = text.find("\n", i + 1)
        self.starts = starts

    def __len__(self) -> int:
        return len(self.starts)

    def start(self, row: int) -> int:
        """Offset of the first character of 0-based ``row`` (the end of the
        text past the last line)."""
        return self.starts[row] if row < len(self.starts) else len(self.text)

    def end(self, row: int) -> int:
        """Offset just past the line break of ``row`` (or the end of the text)."""
        return self.starts[row + 1] if row + 1 < len(self.starts) else len(self.text)

    def content(self, row: int) -> str:
        """The row without its line break."""
        s = self.text[self.start(row):self.end(row)]
        return s.rstrip("\n").rstrip("\r")

    def indent(self, row: int) -> str:
        c = self.content(row)
        return c[: len(c) - len(c.lstrip(" \t"))]

    def row_of(self, offset: int) -> int:
        import bisect

        return bisect.bisect_right(self.starts, offset) - 1

    def blank_or_comment(self, row: int, comment: str = "#") -> bool:
        s = self.content(row).strip()
        return not s or s.startswith(comment)


def insert_lines(lines: Lines, row: int, new_lines: list[str], nl: str) -> Edit:
    """An edit inserting ``new_lines`` before 0-based ``row`` (at the end of
    the text when ``row`` is past it)."""
    text = lines.text
    body = "".join(line + nl for line in new_lines)
    at = lines.start(row)
    if at >= len(text) and text and not text.endswith("\n"):
        body = nl + body.removesuffix(nl)  # the last line had no line break: keep it so
    return Edit(at, at, body)


def delete_rows(lines: Lines, first: int, last: int) -> Edit:
    """An edit removing rows ``first`` to ``last`` (0-based, inclusive) with
    their line breaks."""
    start, end = lines.start(first), lines.end(last)
    if end >= len(lines.text) and not lines.text.endswith("\n") and first > 0:
        start = lines.end(first - 1) - len(newline_of(lines.text))  # no line break after: drop the one before
    return Edit(start, end, "")


def unified_diff(path: str, before: str, after: str) -> str:
    """A unified diff of one file as ``git diff`` writes it (``a/`` and ``b/``
    prefixes), so that ``git apply`` and ``patch -p1`` take it."""
    a = before.splitlines(keepends=True)
    b = after.splitlines(keepends=True)
    out = []
    for line in difflib.unified_diff(a, b, f"a/{path}", f"b/{path}", n=3):
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        out.append(line)
    return "".join(out)


def scalar_text(value: Any) -> str:
    """A bool or a number as every format writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def neighbour(by_name: dict[str, Any], after: Iterable[str], before: Iterable[str]) -> tuple[Any, str]:
    """Where a new entry goes: after the first of ``after`` that is written,
    else before the first of ``before``; ``(None, "after")`` when neither is
    (the editor picks its own place)."""
    for n in after:
        if n in by_name:
            return by_name[n], "after"
    for n in before:
        if n in by_name:
            return by_name[n], "before"
    return None, "after"
