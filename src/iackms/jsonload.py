"""JSON with line numbers: orjson reads the values, tree-sitter-json tells
where each object, array and key is written. The result is made of
:class:`~iackms.model.LDict` / :class:`~iackms.model.LList`."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import orjson

from .model import LDict, LList, Location

MAX_DEPTH = 512


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
        raise JsonError(f"invalid JSON: {e.msg}", e.lineno or 1, e.colno or 1) from None
    except RecursionError:  # pragma: no cover - orjson limits depth itself
        raise JsonError("JSON nested too deeply") from None


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
        raise JsonError(f"JSON nested deeper than {MAX_DEPTH} levels", node.start_point[0] + 1 + lo)
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
