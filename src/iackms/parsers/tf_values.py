"""Values produced by the Terraform evaluator and the conversions Terraform
applies to them (to string, to number, to bool, equality, JSON text)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import orjson

from ..model import OPAQUE_OPEN, THIS_ACCOUNT, UNK_OPEN, Choice, LDict, LList, Location, Switch, Unknown, bound, display, unknown_piece


class LStr(str):
    """A string whose text starts at ``loc.line`` of ``loc.file`` (a heredoc
    body or a file read by file()/templatefile()), so JSON inside it keeps
    its lines. ``origin`` is ``file`` for file()/templatefile()."""

    loc: Location | None
    origin: str
    #: for each line of the text, its source line relative to ``loc.line``
    #: when they differ (a heredoc with directives); None: line i is
    #: ``loc.line + i``
    line_map: list[int] | None

    def __new__(cls, value: str, loc: Location | None = None, origin: str = "") -> "LStr":
        s = super().__new__(cls, value)
        s.loc = loc
        s.origin = origin
        s.line_map = None
        return s


def source_lines(s: Any) -> Any:
    """A function mapping a Location inside the JSON text ``s`` (parsed with
    ``s.loc.line`` as its first line) to where it is written, or None when
    the text's lines are the source's."""
    mp = getattr(s, "line_map", None)
    loc = getattr(s, "loc", None)
    if not mp or loc is None:
        return None
    base = loc.line

    def line(n: int) -> int:
        i = n - base
        return base + mp[i] if 0 <= i < len(mp) else n

    def fn(x: Location) -> Location:
        if x.file != loc.file:
            return x
        return Location(x.file, line(x.line), max(line(x.line), line(x.end_line)), x.column)

    return fn


def relocate(value: Any, fn: Any, only_file: str | None = None, seen: set[int] | None = None, depth: int = 0) -> Any:
    """Apply ``fn`` to every location in ``value`` (in place where the value
    is mutable); returns the value (a Choice is rebuilt). With
    ``only_file``, a collection written in another file is left alone (it
    was built elsewhere)."""
    seen = set() if seen is None else seen
    if depth > 200:
        return value
    loc = getattr(value, "loc", None)
    if only_file is not None and loc is not None and loc.file != only_file:
        return value
    if isinstance(value, Choice):
        return replace(value, options=tuple(relocate(o, fn, only_file, seen, depth + 1) for o in value.options), loc=fn(loc) if loc is not None else None)
    if isinstance(value, LStr):
        if loc is not None:
            value.loc = fn(loc)
        return value
    if id(value) in seen:
        return value
    if isinstance(value, dict):
        seen.add(id(value))
        if isinstance(value, LDict):
            if loc is not None:
                value.loc = fn(loc)
            value.key_locs = {k: fn(v) for k, v in value.key_locs.items()}
        for k in list(value.keys()):
            value[k] = relocate(value[k], fn, only_file, seen, depth + 1)
    elif isinstance(value, list):
        seen.add(id(value))
        if isinstance(value, LList) and loc is not None:
            value.loc = fn(loc)
        for i, v in enumerate(value):
            value[i] = relocate(v, fn, only_file, seen, depth + 1)
    return value


class JDict(LDict):
    """The result of jsonencode() on an object: the structure itself (so
    statements keep their lines); it becomes JSON text in a string context."""

    __slots__ = ()


class JList(LList):
    __slots__ = ()


class DocDict(JDict):
    """A document converted from ``data "aws_iam_policy_document"`` (its
    ``json`` attribute: JSON text in a string context)."""

    __slots__ = ()


#: the reason of an Unknown nested too deeply to be evaluated (like an
#: error, an enclosing expression passes it on as it is)
TOO_DEEP = "nested too deeply"


def err(expr: str) -> Unknown:
    """An evaluation error (Terraform would reject the expression)."""
    return Unknown(expr, error=True)


def is_err(v: Any) -> bool:
    return isinstance(v, Unknown) and v.error


def is_unknown(v: Any) -> bool:
    return isinstance(v, (Unknown, Choice))


def fmt_number(v: int | float) -> str:
    if isinstance(v, float):
        if math.isfinite(v) and v == int(v) and abs(v) < 1e21:
            return str(int(v))
        return repr(v)
    return str(v)


def to_str(v: Any) -> str | Unknown:
    """The string Terraform would interpolate; unknown parts become markers."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return fmt_number(v)
    if isinstance(v, (JDict, JList)):
        return json_text(v)
    if isinstance(v, Unknown):
        if v.error:
            return v
        return unknown_piece(v.expr)
    if isinstance(v, Choice):
        return unknown_piece(v.expr or display(v))
    return err(display(v))  # null, maps and lists cannot be interpolated


def _json_default(o: Any) -> Any:
    if isinstance(o, Unknown):
        return unknown_piece(o.expr)
    if isinstance(o, Choice):
        return unknown_piece(o.expr or display(o))
    if isinstance(o, (set, tuple)):
        return list(o)
    raise TypeError


def json_text(v: Any) -> str:
    """jsonencode() as Terraform writes it: compact, keys sorted, <>& escaped."""
    try:
        s = orjson.dumps(v, default=_json_default, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return unknown_piece("jsonencode(...)")
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def to_number(v: Any) -> int | float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str) and UNK_OPEN not in v:
        s = v.strip()
        try:
            return int(s)
        except ValueError:
            try:
                f = float(s)
            except ValueError:
                return None
            return f if math.isfinite(f) else None
    return None


def to_bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if v == "true":
        return True
    if v == "false":
        return False
    return None


def partial(s: Any) -> bool:
    """A string with a piece that is not a known constant."""
    return isinstance(s, str) and (UNK_OPEN in s or OPAQUE_OPEN in s or THIS_ACCOUNT in s)


def tf_equal(a: Any, b: Any) -> bool | None:
    """Terraform ``==``; None when it cannot be decided statically."""
    if is_unknown(a) or is_unknown(b):
        return None
    if isinstance(a, str) and isinstance(b, str):
        if partial(a) or partial(b):
            return True if a == b and UNK_OPEN not in a else None
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return False
        res: bool | None = True
        for k in a:
            e = tf_equal(a[k], b[k])
            if e is False:
                return False
            if e is None:
                res = None
        return res
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return False
        res2: bool | None = True
        for x, y in zip(a, b):
            e = tf_equal(x, y)
            if e is False:
                return False
            if e is None:
                res2 = None
        return res2
    return False


def known_deep(v: Any, depth: int = 0) -> bool:
    """No Unknown/Choice and no unknown string piece anywhere."""
    if depth > 200:
        return False
    if isinstance(v, (Unknown, Choice)):
        return False
    if isinstance(v, str):
        return UNK_OPEN not in v
    if isinstance(v, dict):
        return all(known_deep(x, depth + 1) for x in v.values())
    if isinstance(v, list):
        return all(known_deep(x, depth + 1) for x in v)
    return True


def contains_err(v: Any, depth: int = 0) -> bool:
    if depth > 200:
        return False
    if isinstance(v, Unknown):
        return v.error
    if isinstance(v, dict):
        return any(contains_err(x, depth + 1) for x in v.values())
    if isinstance(v, list):
        return any(contains_err(x, depth + 1) for x in v)
    return False


def mk_choice(options: list[Any], expr: str, loc: Location | None, on: Switch | None = None, keys: Any = None) -> Any:
    """A Choice of the distinct ``options``; the value itself when there is
    only one. With a switch ``on``, ``keys[i]`` is the key (or keys) of the
    switch that gives ``options[i]``."""
    if on is not None and keys is not None:
        return bound(options, list(keys), expr, loc, on, _same)
    uniq: list[Any] = []
    for o in options:
        if not any(_same(o, u) for u in uniq):
            uniq.append(o)
    if len(uniq) == 1:
        return uniq[0]
    return Choice(tuple(uniq), expr, loc)


def remap(c: Choice, options: list[Any], expr: str | None = None, loc: Any = False) -> Any:
    """The Choice ``c`` with each option replaced by ``options[i]`` (its
    switch and keys kept)."""
    return mk_choice(options, c.expr if expr is None else expr, c.loc if loc is False else loc, c.on, c.labels if c.on is not None else None)


def lift_all(fn: Any, args: list[Any], expr: str, loc: Location | None, budget: int = 64, independent: int = 16) -> Any:
    """``fn(args)`` once per way the top-level Choices among ``args`` can go:
    Choices on one switch go together (key by key), independent Choices
    combine. More than ``budget`` evaluations (or ``independent``
    combinations of independent Choices) give Unknown."""
    if not any(isinstance(a, Choice) for a in args):
        return fn(args)
    n_sw: dict = {}
    n_ind = 1
    for a in args:
        if isinstance(a, Choice):
            if a.on is None:
                n_ind *= len(a.options)
            else:
                n_sw[a.on] = max(n_sw.get(a.on, 0), len(a.keys()))
    total = n_ind
    for n in n_sw.values():
        total *= n
    if n_ind > independent or total > budget:
        return Unknown(expr)
    return _lift(fn, list(args), expr, loc)


def _lift(fn: Any, args: list[Any], expr: str, loc: Location | None) -> Any:
    i = next((j for j, a in enumerate(args) if isinstance(a, Choice)), None)
    if i is None:
        return fn(args)
    c = args[i]
    if c.on is None:
        return mk_choice([_lift(fn, args[:i] + [o] + args[i + 1 :], expr, loc) for o in c.options], expr, loc)
    keys = c.keys()
    outs = []
    for k in keys:
        sub = [_at(a, c.on, k) for a in args]
        outs.append(_lift(fn, sub, expr, loc))
    return mk_choice(outs, expr, loc, c.on, keys)


def _at(a: Any, on: Switch, key: Any) -> Any:
    if isinstance(a, Choice) and a.on == on:
        try:
            return a.pick(key)
        except KeyError:
            return a
    return a


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, (Unknown, Choice)):
        return a == b
    try:
        return bool(known_deep(a) and known_deep(b) and tf_equal(a, b))
    except Exception:  # noqa: BLE001
        return False


def iterate(coll: Any) -> list[tuple[Any, Any]] | None:
    """The (key, value) pairs a ``for`` goes over; None for a non-collection."""
    if isinstance(coll, dict):
        return list(coll.items())
    if isinstance(coll, list):
        return list(enumerate(coll))
    return None
