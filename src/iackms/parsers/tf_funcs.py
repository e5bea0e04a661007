"""The pure, cheap Terraform built-in functions. Each takes evaluated
arguments (no top-level Unknown/Choice: the caller handles those) and returns
a value, or raises :class:`Unresolved` (the result cannot be known) or
:class:`FnError` (Terraform would fail)."""

from __future__ import annotations

import re
from typing import Any, Callable

from .. import jsonload
from ..model import UNK_CLOSE, UNK_OPEN, Choice, LDict, LList, Unknown
from .tf_values import (
    JDict,
    JList,
    LStr,
    fmt_number,
    json_text,
    known_deep,
    partial,
    relocate,
    source_lines,
    tf_equal,
    to_bool,
    to_number,
    to_str,
)


class Unresolved(Exception):
    pass


class FnError(Exception):
    pass


def _s(v: Any, allow_partial: bool = False) -> str:
    s = to_str(v)
    if isinstance(s, Unknown):
        if s.error:
            raise FnError
        raise Unresolved
    if not allow_partial and partial(s):
        raise Unresolved
    return s


def _n(v: Any) -> int | float:
    n = to_number(v)
    if n is None:
        if isinstance(v, (Unknown, Choice)) or (isinstance(v, str) and UNK_OPEN in v):
            raise Unresolved
        raise FnError
    return n


def _int(v: Any) -> int:
    n = _n(v)
    if isinstance(n, float):
        if n != int(n):
            raise FnError
        n = int(n)
    return n


def _list(v: Any) -> list[Any]:
    if isinstance(v, (Unknown, Choice)):
        raise Unresolved
    if isinstance(v, list):
        return v
    raise FnError


def _map(v: Any) -> dict[Any, Any]:
    if isinstance(v, (Unknown, Choice)):
        raise Unresolved
    if isinstance(v, dict):
        return v
    raise FnError


def _plain(v: Any) -> Any:
    """A jsonencode() structure used as a value again is a string."""
    if isinstance(v, (JDict, JList)):
        return json_text(v)
    return v


def f_jsonencode(args: list[Any]) -> Any:
    (v,) = args
    if isinstance(v, LDict):
        return JDict(v, loc=v.loc, key_locs=v.key_locs)
    if isinstance(v, dict):
        return JDict(v)
    if isinstance(v, LList):
        return JList(v, loc=v.loc)
    if isinstance(v, list):
        return JList(v)
    return json_text(v)


def f_jsondecode(args: list[Any]) -> Any:
    (v,) = args
    if isinstance(v, (JDict, JList)):
        return v
    s = _s(v)
    try:
        if isinstance(v, LStr) and v.loc is not None:
            out = jsonload.load(s, v.loc.file, v.loc.line - 1)
            fn = source_lines(v)
            if fn is not None:
                relocate(out, fn, v.loc.file)
            return out
        return jsonload.load(s, "")
    except jsonload.JsonError:
        raise FnError from None


def f_merge(args: list[Any]) -> Any:
    out = LDict()
    for a in args:
        if a is None:
            continue
        m = _map(a)
        out.update(m)
        if isinstance(m, LDict):
            out.key_locs.update(m.key_locs)
    return out


def f_concat(args: list[Any]) -> Any:
    out = LList()
    for a in args:
        out.extend(_list(a))
    return out


def f_format(args: list[Any]) -> Any:
    if not args:
        raise FnError
    spec = _s(args[0], allow_partial=True)
    if "%" in "".join(re.findall(UNK_OPEN + "[^" + UNK_CLOSE + "]*", spec)):
        raise Unresolved
    rest = list(args[1:])
    out: list[str] = []
    i = 0
    ai = 0
    pat = re.compile(r"%(\[(\d+)\])?([-+# 0]*)(\d*)(?:\.(\d+))?([a-zA-Z%])")
    while i < len(spec):
        j = spec.find("%", i)
        if j < 0:
            out.append(spec[i:])
            break
        out.append(spec[i:j])
        m = pat.match(spec, j)
        if not m:
            raise FnError
        verb = m.group(6)
        i = m.end()
        if verb == "%":
            out.append("%")
            continue
        if m.group(2):
            ai = int(m.group(2)) - 1
        if ai >= len(rest) or ai < 0:
            raise FnError
        v = rest[ai]
        ai += 1
        if m.group(3) or m.group(4) or m.group(5):
            if isinstance(v, (Unknown, Choice)):
                raise Unresolved
            out.append(("%" + (m.group(3) or "") + (m.group(4) or "") + ("." + m.group(5) if m.group(5) else "") + ("s" if verb in "sqv" else verb)) % (_fmt_arg(v, verb),))
            continue
        a = _fmt_arg(v, verb)
        if verb in ("x", "X", "o", "b"):
            a = format(a, verb)
        elif verb in ("f", "e", "g"):
            a = ("%" + verb) % a
        out.append(a if isinstance(a, str) else fmt_number(a))
    return "".join(out)


def _fmt_arg(v: Any, verb: str) -> Any:
    if verb in ("s", "v"):
        return _s(v, allow_partial=True) if not isinstance(v, (dict, list)) or isinstance(v, (JDict, JList)) else json_text(v)
    if verb == "q":
        return json_text(_s(v, allow_partial=True))
    if verb == "d":
        return _int(v)
    if verb in ("f", "e", "g"):
        return float(_n(v))
    if verb == "t":
        b = to_bool(v)
        if b is None:
            raise Unresolved if isinstance(v, (Unknown, Choice)) else FnError
        return "true" if b else "false"
    if verb in ("x", "X", "o", "b"):
        return _int(v)
    raise FnError


def f_join(args: list[Any]) -> Any:
    sep = _s(args[0], True)
    parts: list[str] = []
    for lst in args[1:]:
        for v in _list(lst):
            parts.append(_s(v, True))
    return sep.join(parts)


def f_split(args: list[Any]) -> Any:
    sep, s = _s(args[0]), _s(args[1])
    if sep == "":
        return LList(list(s))
    return LList(s.split(sep))


def f_replace(args: list[Any]) -> Any:
    s, a, b = _s(args[0]), _s(args[1]), _s(args[2])
    if len(a) > 1 and a.startswith("/") and a.endswith("/"):
        raise Unresolved  # a regular expression: Go syntax, not evaluated
    return s.replace(a, b)


def f_tostring(args: list[Any]) -> Any:
    (v,) = args
    if v is None:
        return None
    if isinstance(v, (dict, list)) and not isinstance(v, (JDict, JList)):
        raise FnError
    return _s(v, True)


def f_tonumber(args: list[Any]) -> Any:
    (v,) = args
    return None if v is None else _n(v)


def f_tobool(args: list[Any]) -> Any:
    (v,) = args
    if v is None:
        return None
    b = to_bool(v)
    if b is None:
        if isinstance(v, str) and partial(v):
            raise Unresolved
        raise FnError
    return b


def f_tolist(args: list[Any]) -> Any:
    (v,) = args
    if isinstance(v, dict):
        raise FnError
    return _list(v)


def f_toset(args: list[Any]) -> Any:
    (v,) = args
    lst = _list(v)
    if not known_deep(lst):
        raise Unresolved
    return _distinct(lst)


def _distinct(lst: list[Any]) -> LList:
    out = LList(loc=getattr(lst, "loc", None))
    for x in lst:
        if not any(tf_equal(x, y) for y in out):
            out.append(x)
    return out


def f_tomap(args: list[Any]) -> Any:
    (v,) = args
    return _map(v)


def f_coalesce(args: list[Any]) -> Any:
    for a in args:
        if isinstance(a, (Unknown, Choice)):
            raise Unresolved
        if a is None or a == "":
            continue
        return a
    raise FnError


def f_coalescelist(args: list[Any]) -> Any:
    for a in args:
        if isinstance(a, (Unknown, Choice)):
            raise Unresolved
        if a is None:
            continue
        if len(_list(a)) > 0:
            return a
    raise FnError


def f_compact(args: list[Any]) -> Any:
    out = LList()
    for v in _list(args[0]):
        if isinstance(v, (Unknown, Choice)):
            raise Unresolved
        if v is None or v == "":
            continue
        out.append(v)
    return out


def f_distinct(args: list[Any]) -> Any:
    lst = _list(args[0])
    if not known_deep(lst):
        raise Unresolved
    return _distinct(lst)


def f_flatten(args: list[Any]) -> Any:
    out = LList()

    def rec(v: Any, d: int) -> None:
        if d > 100:
            raise FnError
        for x in v:
            if isinstance(x, (Unknown, Choice)):
                raise Unresolved
            if isinstance(x, list):
                rec(x, d + 1)
            else:
                out.append(x)

    rec(_list(args[0]), 0)
    return out


def f_length(args: list[Any]) -> Any:
    (v,) = args
    if isinstance(v, (JDict, JList)):
        v = json_text(v)
    if isinstance(v, str):
        if partial(v):
            raise Unresolved
        return len(v)
    if isinstance(v, (list, dict)):
        return len(v)
    raise FnError


def f_lookup(args: list[Any]) -> Any:
    m = _map(args[0])
    k = _s(args[1])
    if k in m:
        return m[k]
    if len(args) > 2:
        return args[2]
    raise FnError


def f_element(args: list[Any]) -> Any:
    lst = _list(args[0])
    i = _int(args[1])
    if not lst:
        raise FnError
    return lst[i % len(lst)]


def f_keys(args: list[Any]) -> Any:
    return LList(sorted(_map(args[0]).keys(), key=str))


def f_values(args: list[Any]) -> Any:
    m = _map(args[0])
    return LList(m[k] for k in sorted(m.keys(), key=str))


def f_contains(args: list[Any]) -> Any:
    lst = _list(args[0])
    unk = False
    for x in lst:
        e = tf_equal(x, args[1])
        if e:
            return True
        if e is None:
            unk = True
    if unk:
        raise Unresolved
    return False


def _str_fn(fn: Callable[..., Any]) -> Callable[[list[Any]], Any]:
    return lambda args: fn(*[_s(a) for a in args])


def f_substr(args: list[Any]) -> Any:
    s, off, ln = _s(args[0]), _int(args[1]), _int(args[2])
    if off < 0:
        off = max(len(s) + off, 0)
    if ln < 0:
        return s[off:]
    return s[off : off + ln]


def f_minmax(fn: Callable[..., Any]) -> Callable[[list[Any]], Any]:
    def inner(args: list[Any]) -> Any:
        if not args:
            raise FnError
        return fn(_n(a) for a in args)

    return inner


def f_trim(args: list[Any]) -> Any:
    s, chars = _s(args[0]), _s(args[1])
    return s.strip(chars)


def f_basename(args: list[Any]) -> Any:
    s = _s(args[0])
    s2 = s.rstrip("/")
    return s2.rsplit("/", 1)[-1] if s2 else s


def f_dirname(args: list[Any]) -> Any:
    s = _s(args[0]).rstrip("/")
    if "/" not in s:
        return "."
    return s.rsplit("/", 1)[0] or "/"


def f_range(args: list[Any]) -> Any:
    nums = [_n(a) for a in args]
    if len(nums) == 1:
        start, stop, step = 0, nums[0], 1
    elif len(nums) == 2:
        start, stop, step = nums[0], nums[1], 1
    else:
        start, stop, step = nums[0], nums[1], nums[2]
    if step == 0 or abs((stop - start) / step) > 1024:
        raise FnError
    out = LList()
    x = start
    while (step > 0 and x < stop) or (step < 0 and x > stop):
        out.append(x)
        x += step
    return out


def f_zipmap(args: list[Any]) -> Any:
    ks, vs = _list(args[0]), _list(args[1])
    if len(ks) != len(vs):
        raise FnError
    return LDict({_s(k): v for k, v in zip(ks, vs)})


def f_slice(args: list[Any]) -> Any:
    lst = _list(args[0])
    a, b = _int(args[1]), _int(args[2])
    if a < 0 or b > len(lst) or a > b:
        raise FnError
    return LList(lst[a:b])


def f_reverse(args: list[Any]) -> Any:
    return LList(reversed(_list(args[0])))


def f_one(args: list[Any]) -> Any:
    lst = _list(args[0])
    if len(lst) == 0:
        return None
    if len(lst) == 1:
        return lst[0]
    raise FnError


def f_index(args: list[Any]) -> Any:
    """index(list, value): the first position of ``value``."""
    lst, v = _list(args[0]), args[1]
    for i, x in enumerate(lst):
        e = tf_equal(x, v)
        if e is None:
            raise Unresolved
        if e:
            return i
    raise FnError


def f_setunion(args: list[Any]) -> Any:
    out: list[Any] = []
    for a in args:
        out.extend(_list(a))
    if not known_deep(out):
        raise Unresolved
    return _distinct(out)


FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "jsonencode": f_jsonencode,
    "jsondecode": f_jsondecode,
    "merge": f_merge,
    "concat": f_concat,
    "lower": _str_fn(str.lower),
    "upper": _str_fn(str.upper),
    "format": f_format,
    "join": f_join,
    "split": f_split,
    "replace": f_replace,
    "tostring": f_tostring,
    "tonumber": f_tonumber,
    "tobool": f_tobool,
    "tolist": f_tolist,
    "toset": f_toset,
    "tomap": f_tomap,
    "coalesce": f_coalesce,
    "coalescelist": f_coalescelist,
    "compact": f_compact,
    "distinct": f_distinct,
    "flatten": f_flatten,
    "length": f_length,
    "lookup": f_lookup,
    "element": f_element,
    "keys": f_keys,
    "values": f_values,
    "contains": f_contains,
    # surrounding whitespace is never part of an unresolved piece
    "trimspace": lambda args: _s(args[0], True).strip(),
    "trimprefix": _str_fn(lambda s, p: s[len(p):] if p and s.startswith(p) else s),
    "trimsuffix": _str_fn(lambda s, p: s[: -len(p)] if p and s.endswith(p) else s),
    "trim": f_trim,
    "startswith": _str_fn(lambda s, p: s.startswith(p)),
    "endswith": _str_fn(lambda s, p: s.endswith(p)),
    "strcontains": _str_fn(lambda s, p: p in s),
    "substr": f_substr,
    "title": _str_fn(lambda s: re.sub(r"\b\w", lambda m: m.group(0).upper(), s)),
    "min": f_minmax(min),
    "max": f_minmax(max),
    "abs": lambda args: abs(_n(args[0])),
    "basename": f_basename,
    "dirname": f_dirname,
    "range": f_range,
    "zipmap": f_zipmap,
    "slice": f_slice,
    "reverse": f_reverse,
    "one": f_one,
    "index": f_index,
    "setunion": f_setunion,
}

#: functions whose arguments may be Unknown individually (handled inside)
UNKNOWN_TOLERANT = {"coalesce", "coalescelist"}

__all__ = ["FUNCTIONS", "FnError", "UNKNOWN_TOLERANT", "Unresolved", "fmt_number"]
