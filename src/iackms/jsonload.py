"""JSON with line numbers: orjson reads the values, tree-sitter-json tells
where each object, array and key is written. The result is made of
:class:`~iackms.model.LDict` / :class:`~iackms.model.LList`."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import orjson

from .model import LDict, LList, Location

#: arrays and objects deeper than this are an error (orjson itself stops at
#: 1024 since 3.9.15; older releases recursed until the process crashed)
MAX_DEPTH = 512


def too_deep_message(limit: int = MAX_DEPTH) -> str:
    """The one wording of a nesting-depth error, whoever detected it (this
    module, orjson, or the YAML loader, whose limit differs)."""
    return f"the document is nested too deeply (more than {limit} levels)"


#: a JSON string (skipped) or a bracket
_DEPTH_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def _depth_at(text: str) -> int:
    """How many arrays and objects are open at the end of ``text``."""
    depth = 0
    for m in _DEPTH_TOKEN_RE.finditer(text):
        c = m.group()
        if c == "[" or c == "{":
            depth += 1
        elif c == "]" or c == "}":
            depth -= 1
    return depth


def _nesting_error(data: bytes | str, pos: int | None) -> bool:
    """orjson's error at ``pos`` (a character index) is its depth limit:
    decided by the document, not by orjson's wording, which changes between
    releases ("array and object recursion depth exceeded", "depth limit
    exceeded")."""
    if not pos:
        return False
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    prefix = text[:pos]
    # cheap bound first: fewer opening brackets than the limit, brackets in strings included
    if prefix.count("[") + prefix.count("{") <= MAX_DEPTH:
        return False
    return _depth_at(prefix) > MAX_DEPTH


class JsonError(Exception):
    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@lru_cache(maxsize=1)
def _parser() -> Any:
    import tree_sitter
    import tree_sitter_json

    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_json.language()))


def loads_plain(data: bytes | str) -> Any:
    """Values only (no lines), strict JSON. Raises JsonError."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        if _nesting_error(data, e.pos):
            raise JsonError(too_deep_message(MAX_DEPTH), e.lineno or 1, e.colno or 1) from None
        raise JsonError(f"invalid JSON: {e.msg}", e.lineno or 1, e.colno or 1) from None
    except RecursionError:  # pragma: no cover - orjson limits depth itself
        raise JsonError(too_deep_message(MAX_DEPTH)) from None


def load(
    data: bytes | str,
    file: str,
    line_offset: int = 0,
    col_offset: int = 0,
    duplicates: list | None = None,
) -> Any:
    """Parse JSON and attach locations. ``line_offset``/``col_offset`` shift
    the positions when the JSON is embedded in another file (a heredoc).
    Duplicate keys (the later wins) are appended to ``duplicates`` as
    ``(key, Location)`` when a list is given."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    value = loads_plain(raw)
    if not isinstance(value, (dict, list)):
        return value
    tree = _parser().parse(raw)
    node = tree.root_node
    # document > value
    for child in node.named_children:
        if child.type in ("object", "array"):
            node = child
            break
    else:
        return value
    return _attach(value, node, file, line_offset, col_offset, duplicates, 0)


def _loc(node: Any, file: str, lo: int, co: int) -> Location:
    sr, sc = node.start_point
    er = node.end_point[0]
    return Location(file, sr + 1 + lo, er + 1 + lo, sc + 1 + (co if sr == 0 else 0))


def _attach(value: Any, node: Any, file: str, lo: int, co: int, dups: list | None, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise JsonError(too_deep_message(MAX_DEPTH), node.start_point[0] + 1 + lo)
    if isinstance(value, dict) and node.type == "object":
        out = LDict(loc=_loc(node, file, lo, co))
        pairs = {}
        for pair in node.named_children:
            if pair.type != "pair":
                continue
            knode = pair.child_by_field_name("key")
            vnode = pair.child_by_field_name("value")
            if knode is None:
                continue
            try:
                key = orjson.loads(knode.text)
            except orjson.JSONDecodeError:
                continue
            if key in pairs and dups is not None:
                dups.append((key, _loc(knode, file, lo, co)))
            pairs[key] = (knode, vnode)
        for key, v in value.items():
            kv = pairs.get(key)
            if kv is None:
                out[key] = v
                continue
            knode, vnode = kv
            out.key_locs[key] = _loc(knode, file, lo, co)
            out[key] = _attach(v, vnode, file, lo, co, dups, depth + 1) if vnode is not None else v
        return out
    if isinstance(value, list) and node.type == "array":
        out_l = LList(loc=_loc(node, file, lo, co))
        items = [c for c in node.named_children if c.type != "comment"]
        if len(items) != len(value):
            out_l.extend(value)
            return out_l
        for v, n in zip(value, items):
            out_l.append(_attach(v, n, file, lo, co, dups, depth + 1))
        return out_l
    return value
