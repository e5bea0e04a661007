"""Terraform's operators on evaluated values (``!``, unary ``-``,
arithmetic, comparison, ``&&``/``||``), and the lifting of an operation
over :class:`~iackms.model.Choice` operands: one result per combination of
options (at most :data:`MAX_COMBINATIONS`, else Unknown)."""

from __future__ import annotations

from typing import Any, Callable

from ..model import UNK_OPEN, Choice, Location, Unknown
from .tf_hcl import SrcFile, node_loc, node_text
from .tf_values import err, is_err, lift_all, remap, tf_equal, to_bool, to_number

#: at most this many combinations of independent Choice options are evaluated
MAX_COMBINATIONS = 16
#: at most this many evaluations in all when Choices share a switch (one per
#: instance of a static for_each/count, which has at most 64)
MAX_SWITCHED = 64


def lift1(fn: Callable[[Any], Any], v: Any, whole: Any, f: SrcFile) -> Any:
    """``fn(v)``, once per option when ``v`` is a Choice (``whole`` is the
    expression node); the result is chosen by the same switch."""
    if isinstance(v, Choice):
        return remap(v, [lift1(fn, o, whole, f) for o in v.options], node_text(whole), node_loc(whole, f.rel))
    return fn(v)


def lift2(fn: Callable[[Any, Any], Any], a: Any, b: Any, whole: Any, f: SrcFile) -> Any:
    """``fn(a, b)``, once per combination of options (options of Choices
    on the same switch are taken key by key, never mixed)."""
    if isinstance(a, Choice) or isinstance(b, Choice):
        return lift_all(lambda xs: lift2(fn, xs[0], xs[1], whole, f), [a, b], node_text(whole), node_loc(whole, f.rel),
                        MAX_SWITCHED, MAX_COMBINATIONS)
    return fn(a, b)


def lift_args(fn: Callable[[list[Any]], Any], args: list[Any], whole: str, loc: Location) -> Any:
    """``fn(args)``, once per combination of the options of its arguments."""
    return lift_all(fn, args, whole, loc, MAX_SWITCHED, MAX_COMBINATIONS)


def unary(sym: str, v: Any, whole: Any) -> Any:
    """``!v`` or ``-v``."""
    if isinstance(v, Unknown):
        return v if is_err(v) else Unknown(node_text(whole))
    if sym == "!":
        b = to_bool(v)
        if b is None:
            return Unknown(node_text(whole)) if isinstance(v, str) and UNK_OPEN in v else err(node_text(whole))
        return not b
    if sym == "-":
        x = to_number(v)
        if x is None:
            return Unknown(node_text(whole)) if isinstance(v, str) and UNK_OPEN in v else err(node_text(whole))
        return -x
    return err(node_text(whole))


def _num_result(x: float) -> Any:
    if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def binary(sym: str, a: Any, b: Any, whole: Any) -> Any:
    """``a <sym> b`` as Terraform computes it (an error, or Unknown when an
    operand is)."""
    t = node_text(whole)
    if is_err(a):
        return a
    if is_err(b):
        return b
    if sym in ("==", "!="):
        e = tf_equal(a, b)
        if e is None:
            return Unknown(t)
        return e if sym == "==" else not e
    if sym in ("&&", "||"):
        p, q = to_bool(a), to_bool(b)
        if sym == "&&" and (p is False or q is False):
            return False
        if sym == "||" and (p is True or q is True):
            return True
        if p is None or q is None:
            unk = isinstance(a, Unknown) or isinstance(b, Unknown) or (isinstance(a, str) and UNK_OPEN in a) or (isinstance(b, str) and UNK_OPEN in b)
            return Unknown(t) if unk else err(t)
        return (p and q) if sym == "&&" else (p or q)
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return Unknown(t)
    x, y = to_number(a), to_number(b)
    if x is None or y is None:
        unk = (isinstance(a, str) and UNK_OPEN in a) or (isinstance(b, str) and UNK_OPEN in b)
        return Unknown(t) if unk else err(t)
    try:
        if sym == "+":
            return x + y
        if sym == "-":
            return x - y
        if sym == "*":
            return x * y
        if sym == "/":
            return _num_result(x / y)
        if sym == "%":
            return _num_result(x % y) if (x >= 0) == (y >= 0) else _num_result(-((-x) % y) if x < 0 else x % y)
        if sym == "<":
            return x < y
        if sym == ">":
            return x > y
        if sym == "<=":
            return x <= y
        if sym == ">=":
            return x >= y
    except (ZeroDivisionError, OverflowError):
        return err(t)
    return err(t)
