"""CloudFormation YAML with line numbers.

The text is read event by event with PyYAML's libyaml parser (``CSafeLoader``;
the pure-Python ``SafeLoader`` when libyaml is missing) and built into
:class:`~iackms.model.LDict` / :class:`~iackms.model.LList` values that know
their lines. Building from events instead of PyYAML's composer keeps
everything iterative and lets the limits stop the parser early: libyaml's
composer recurses in C (a segfault at ~100k levels) and its parser gets
quadratic with depth, so nesting is checked as the events arrive.

CloudFormation short tags become long forms exactly as cfn-flip does:
``!Ref X`` -> ``{"Ref": "X"}``, ``!Condition C`` -> ``{"Condition": "C"}``,
``!Sub ...`` -> ``{"Fn::Sub": ...}`` (any other ``!Name`` -> ``Fn::Name``) and
``!GetAtt A.B`` -> ``{"Fn::GetAtt": ["A", "B"]}``.

YAML 1.1 scalars resolve as in PyYAML (``yes``/``on`` are booleans, ``012``
is 10) except timestamps, which stay strings (``Version: 2012-10-17``).
``!!``-tags other than the core scalar, ``!!seq`` and ``!!map`` tags are errors:
nothing is ever constructed from ``!!python/...``.
"""

from __future__ import annotations

from typing import Any

import yaml

from .model import LDict, LList, Location

#: collections deeper than this are an error. libyaml 0.2.6 (in the PyYAML 6.0.4
#: wheels) has a limit of its own about as deep, so which of the two reports a
#: document depends on the PyYAML release: both say :func:`too_deep_message`.
MAX_DEPTH = 1000
MAX_ALIASES = 10_000
MAX_NODES = 5_000_000

_Loader: Any = getattr(yaml, "CSafeLoader", None) if getattr(yaml, "__with_libyaml__", False) else None
if _Loader is None:  # pragma: no cover - the wheels ship libyaml
    _Loader = yaml.SafeLoader

_T = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ = _T + "str", _T + "map", _T + "seq"
_MERGE = _T + "merge"
_UNCONVERTED = ("Ref", "Condition")

_ScalarEvent = yaml.ScalarEvent
_AliasEvent = yaml.AliasEvent
_MapStart = yaml.MappingStartEvent
_SeqStart = yaml.SequenceStartEvent
_CollectionEnd = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_DocStart = yaml.DocumentStartEvent
_DocEnd = yaml.DocumentEndEvent
_StreamEnd = yaml.StreamEndEvent

_sc = yaml.constructor.SafeConstructor
_NON_STR = {
    _T + "int": _sc.construct_yaml_int,
    _T + "float": _sc.construct_yaml_float,
    _T + "bool": _sc.construct_yaml_bool,
    _T + "null": _sc.construct_yaml_null,
}
_DUMMY = _sc()
#: first characters of plain scalars the YAML 1.1 resolver may type (bool,
#: int, float, null, timestamp, merge, value); anything else is a string
_TYPED_START = frozenset("yYnNtTfFoO~-+0123456789.<=")


def too_deep_message(limit: int = MAX_DEPTH) -> str:
    """The one wording of a nesting-depth error (as :func:`iackms.jsonload.too_deep_message`)."""
    return f"the document is nested too deeply (more than {limit} levels)"


def _is_nesting_error(e: yaml.MarkedYAMLError) -> bool:
    """libyaml's own depth limit ("exceeded maximum nesting depth" in
    libyaml 0.2.6), recognised by its words: the error comes from the scanner,
    ahead of the events this module counts."""
    words = f"{e.problem or ''} {e.context or ''}".lower()
    return "nesting" in words or "depth" in words


class YamlError(Exception):
    """A YAML document that cannot be read; ``line``/``column`` are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class MultipleDocuments(Exception):
    """The stream holds more than one YAML document (not a template)."""


_MISSING = object()


class _Frame:
    __slots__ = ("value", "is_map", "key", "key_mark", "start", "tag", "anchor", "size", "merges")

    def __init__(self, value: Any, is_map: bool, start: Any, tag: str, anchor: str | None):
        self.value = value
        self.is_map = is_map
        self.key: Any = _MISSING
        self.key_mark: Any = None
        self.start = start
        self.tag = tag
        self.anchor = anchor
        self.size = 1
        self.merges: list | None = None


def _scalar(loader: Any, ev: Any) -> Any:
    tag = ev.tag
    value = ev.value
    if tag is None or tag == "!":
        if tag == "!" or ev.style:  # quoted or explicitly non-specific: a string
            return value
        tag = loader.resolve(yaml.ScalarNode, value, ev.implicit)
        if tag == _STR:
            return value
    elif tag == _STR:
        return value
    if tag[0] == "!":
        return _intrinsic(tag[1:], value, ev)
    fn = _NON_STR.get(tag)
    if fn is not None:
        try:
            return fn(_DUMMY, yaml.ScalarNode(tag, value))
        except (ValueError, yaml.YAMLError) as e:
            raise YamlError(f"bad {tag[len(_T):]} value {value!r}: {e}", ev.start_mark.line + 1, ev.start_mark.column + 1) from None
    if tag == _T + "timestamp":
        return value  # CloudFormation has no timestamps: keep the text
    if tag == _MERGE:
        return _MergeKey(value)
    raise YamlError(f"unsupported YAML tag {tag!r}", ev.start_mark.line + 1, ev.start_mark.column + 1)


class _MergeKey(str):
    """The ``<<`` merge key."""


def _intrinsic(name: str, value: Any, ev: Any) -> Any:
    fn = name if name in _UNCONVERTED else "Fn::" + name
    if fn == "Fn::GetAtt" and isinstance(value, str):
        value = LList(value.split(".", 1), loc=None)
    d = LDict({fn: value})
    return d


class _Builder:
    def __init__(self, text: str, file: str, duplicates: list | None):
        self.file = file
        self.lines: list[str] | None = None
        self.text = text
        self.duplicates = duplicates
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.open_anchors: set[str] = set()
        self.aliases = 0

    # -- locations -----------------------------------------------------------
    def _end_line(self, start_line: int, mark: Any) -> int:
        """1-based last line of something that ends at ``mark`` (exclusive),
        leaving out trailing blank and comment lines."""
        end = mark.line + 1
        if end > start_line:
            if self.lines is None:
                self.lines = self.text.split("\n")
            lines = self.lines
            # a block collection or scalar ends where the next token starts:
            # when only indentation precedes that token, the end is above it
            if mark.column == 0 or (end - 1 < len(lines) and not lines[end - 1][: mark.column].strip()):
                end -= 1
            while end > start_line and end - 1 < len(lines):
                s = lines[end - 1].strip()
                if s and not s.startswith("#"):
                    break
                end -= 1
        return end

    def _loc(self, start: Any, end: Any) -> Location:
        line = start.line + 1
        return Location(self.file, line, self._end_line(line, end), start.column + 1)

    # -- building ------------------------------------------------------------
    def build(self, loader: Any) -> Any:
        stack: list[_Frame] = []
        root: Any = None
        have_root = False
        docs = 0
        get_event = loader.get_event
        check_event = loader.check_event
        while check_event():
            ev = get_event()
            cls = ev.__class__
            if cls is _ScalarEvent:
                size = 1
                if ev.tag is None:
                    value = ev.value
                    # plain scalars that cannot be anything but a string skip the resolver
                    if not ev.style and (not value or value[0] in _TYPED_START):
                        value = _scalar(loader, ev)
                else:
                    value = _scalar(loader, ev)
                if value.__class__ is LDict:  # a short-form intrinsic on a scalar
                    loc = self._loc(ev.start_mark, ev.end_mark)
                    value.loc = loc
                    for v in value.values():
                        if isinstance(v, LList):
                            v.loc = loc
                    size = 2
                if ev.anchor is not None:
                    self.anchors[ev.anchor] = (value, size)
                end_mark = ev.end_mark
            elif cls is _MapStart or cls is _SeqStart:
                if len(stack) >= MAX_DEPTH:
                    m = ev.start_mark
                    raise YamlError(too_deep_message(), m.line + 1, m.column + 1)
                tag = ev.tag
                is_map = cls is _MapStart
                if tag is not None and tag != "!" and tag[0] != "!" and tag != (_MAP if is_map else _SEQ):
                    m = ev.start_mark
                    raise YamlError(f"unsupported YAML tag {tag!r}", m.line + 1, m.column + 1)
                container = LDict() if is_map else LList()
                if ev.anchor is not None:
                    self.open_anchors.add(ev.anchor)
                stack.append(_Frame(container, is_map, ev.start_mark, tag or "", ev.anchor))
                continue
            elif cls in _CollectionEnd:
                fr = stack.pop()
                value = fr.value
                loc = self._loc(fr.start, ev.end_mark)
                value.loc = loc
                if fr.merges:
                    self._merge(value, fr.merges)
                size = fr.size
                tag = fr.tag
                if tag and tag[0] == "!" and tag != "!":
                    name = tag[1:]
                    fn = name if name in _UNCONVERTED else "Fn::" + name
                    value = LDict({fn: value}, loc=loc)
                    size += 1
                if fr.anchor is not None:
                    self.open_anchors.discard(fr.anchor)
                    self.anchors[fr.anchor] = (value, size)
                end_mark = ev.end_mark
            elif cls is _AliasEvent:
                m = ev.start_mark
                if ev.anchor in self.open_anchors:
                    raise YamlError(f"recursive YAML alias *{ev.anchor}", m.line + 1, m.column + 1)
                hit = self.anchors.get(ev.anchor)
                if hit is None:
                    raise YamlError(f"unknown YAML alias *{ev.anchor}", m.line + 1, m.column + 1)
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    raise YamlError(f"YAML alias expansion limit: over {MAX_ALIASES} aliases", m.line + 1, m.column + 1)
                value, size = hit
                end_mark = ev.end_mark
            elif cls is _DocStart:
                docs += 1
                if docs > 1:
                    raise MultipleDocuments()
                continue
            elif cls is _DocEnd or cls is _StreamEnd:
                continue
            else:  # StreamStart
                continue

            # attach ``value`` to its parent
            if not stack:
                root = value
                have_root = True
                continue
            parent = stack[-1]
            parent.size += size
            if parent.size > MAX_NODES:
                m = ev.start_mark
                raise YamlError(f"YAML alias expansion limit: over {MAX_NODES} nodes", m.line + 1, m.column + 1)
            if not parent.is_map:
                parent.value.append(value)
            elif parent.key is _MISSING:
                if isinstance(value, (dict, list)):
                    m = ev.start_mark
                    raise YamlError("a YAML mapping key must be a scalar", m.line + 1, m.column + 1)
                parent.key = value
                parent.key_mark = ev.start_mark
            else:
                key = parent.key
                km = parent.key_mark
                parent.key = _MISSING
                if isinstance(key, _MergeKey):
                    if parent.merges is None:
                        parent.merges = []
                    parent.merges.append((value, km))
                    continue
                d = parent.value
                kline = km.line + 1
                kloc = Location(self.file, kline, kline if end_mark.line == km.line else self._end_line(kline, end_mark), km.column + 1)
                if key in d and self.duplicates is not None:
                    self.duplicates.append((key, kloc))
                d[key] = value
                d.key_locs[key] = kloc
        # propagate sizes up already done; ``have_root`` False means an empty stream
        return root if have_root else None

    def _merge(self, d: LDict, merges: list) -> None:
        """YAML ``<<`` merge keys: explicit keys win, then earlier merged maps."""
        for value, km in merges:
            sources = value if isinstance(value, list) else [value]
            for src in sources:
                if not isinstance(src, dict):
                    raise YamlError("a YAML merge key needs a mapping or a list of mappings", km.line + 1, km.column + 1)
                for k, v in src.items():
                    if k not in d:
                        d[k] = v
                        kl = src.key_locs.get(k) if isinstance(src, LDict) else None
                        if kl is not None:
                            d.key_locs[k] = kl


def load(text: str, file: str = "", duplicates: list | None = None) -> Any:
    """Parse one YAML document into LDict/LList/scalars.

    Raises :class:`YamlError` (with a 1-based line) for syntax errors and
    exceeded limits, :class:`MultipleDocuments` for a multi-document stream.
    Duplicate keys (the later wins) are appended to ``duplicates`` as
    ``(key, Location)`` when a list is given."""
    loader = _Loader(text)
    try:
        return _Builder(text, file, duplicates).build(loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 1
        col = mark.column + 1 if mark is not None else 1
        if _is_nesting_error(e):
            raise YamlError(too_deep_message(), line, col) from None
        problem = e.problem or e.context or "invalid YAML"
        ctx = f" ({e.context})" if e.context and e.problem else ""
        raise YamlError(f"YAML syntax error: {problem}{ctx}", line, col) from None
    except yaml.YAMLError as e:
        raise YamlError(f"YAML error: {e}", 1, 1) from None
    finally:
        try:
            loader.dispose()
        except Exception:  # pragma: no cover
            pass


__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_NODES", "MultipleDocuments", "YamlError", "load", "too_deep_message"]
