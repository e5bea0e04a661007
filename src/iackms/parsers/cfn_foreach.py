"""``Fn::ForEach`` loops (``AWS::LanguageExtensions``) in ``Resources``,
expanded statically when the collection is known.

    Fn::ForEach::Keys:
      - Name                    # the identifier
      - [a, b]                  # the collection (or !Ref a list parameter)
      - Key${Name}:             # the output key; &{Name} drops non-alphanumerics
          Type: AWS::KMS::Key
          Properties: {Description: !Sub "key ${Name}"}

In the body the identifier is replaced in ``!Ref Name``, in ``Fn::Sub``
strings and in map keys. Expanded resources keep the lines of the body.
"""

from __future__ import annotations

import re
from typing import Any

from ..model import LDict, LList, Location, Note, ScanUnit
from .cfn_intrinsics import Template, resolve, source_repr

PREFIX = "Fn::ForEach::"
MAX_EXPANDED = 10_000
_NON_ALNUM = re.compile(r"[^A-Za-z0-9]")


def expand_resources(resources: dict, tpl: Template, file: str, unit: ScanUnit) -> dict:
    """``resources`` with its ``Fn::ForEach::`` loops expanded; a loop that
    cannot be expanded statically is left out with an IKMS002 note."""
    if not any(isinstance(k, str) and k.startswith(PREFIX) for k in resources):
        return resources
    out = LDict(loc=getattr(resources, "loc", None))
    kl = getattr(resources, "key_locs", {})
    count = [0]
    for k, v in resources.items():
        loc = kl.get(k) or getattr(resources, "loc", None) or Location(file, 1, 1)
        if isinstance(k, str) and k.startswith(PREFIX):
            _loop(k, v, tpl, loc, out, unit, count, 0)
        else:
            out[k] = v
            if k in kl:
                out.key_locs[k] = kl[k]
    return out


def _loop(name: str, spec: Any, tpl: Template, loc: Location, out: LDict, unit: ScanUnit, count: list, depth: int) -> None:
    def note(why: str) -> None:
        # the loop's name is the note's resource (reporters show it): not repeated here
        unit.notes.append(Note("IKMS002", f"{why}; the resources this loop creates are not checked", loc, name))

    if depth > 10:
        return note("Fn::ForEach nested too deeply")
    if not (isinstance(spec, list) and len(spec) == 3 and isinstance(spec[0], str) and isinstance(spec[2], dict)):
        return note("malformed Fn::ForEach")
    ident, coll_raw, body = spec
    coll = resolve(coll_raw, tpl)
    if not isinstance(coll, list) or not all(isinstance(c, (str, int, float)) and not isinstance(c, bool) for c in coll):
        return note(f"the Fn::ForEach collection {source_repr(coll_raw, 60)} is not known statically")
    for item in coll:
        value = str(item)
        inst = _substitute(body, ident, value, 0)
        bl = getattr(inst, "key_locs", {})
        for k, v in inst.items():
            kloc = bl.get(k, loc)
            if isinstance(k, str) and k.startswith(PREFIX):
                _loop(k, v, tpl, kloc, out, unit, count, depth + 1)
                continue
            count[0] += 1
            if count[0] > MAX_EXPANDED:
                return note(f"Fn::ForEach creates over {MAX_EXPANDED} resources")
            out[k] = v
            out.key_locs[k] = kloc


def _replace(s: str, ident: str, value: str) -> str:
    return s.replace("${" + ident + "}", value).replace("&{" + ident + "}", _NON_ALNUM.sub("", value))


def _substitute(raw: Any, ident: str, value: str, depth: int) -> Any:
    if depth > 200:
        return raw
    if isinstance(raw, dict):
        if len(raw) == 1:
            (k, v), = raw.items()
            if k == "Ref" and v == ident:
                return value
            if k == "Fn::Sub":
                if isinstance(v, str):
                    s = _replace(v, ident, value)
                    if "${" not in s:  # nothing left to substitute: the literal itself
                        return s
                    return LDict({k: s}, loc=getattr(raw, "loc", None), key_locs=getattr(raw, "key_locs", None))
                if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str):
                    new = LList([_replace(v[0], ident, value), _substitute(v[1], ident, value, depth + 1)], loc=getattr(v, "loc", None))
                    return LDict({k: new}, loc=getattr(raw, "loc", None), key_locs=getattr(raw, "key_locs", None))
        out = LDict(loc=getattr(raw, "loc", None))
        kl = getattr(raw, "key_locs", {})
        for k, v in raw.items():
            nk = _replace(k, ident, value) if isinstance(k, str) else k
            out[nk] = _substitute(v, ident, value, depth + 1)
            if k in kl:
                out.key_locs[nk] = kl[k]
        return out
    if isinstance(raw, list):
        return LList([_substitute(v, ident, value, depth + 1) for v in raw], loc=getattr(raw, "loc", None))
    return raw


__all__ = ["expand_resources"]
