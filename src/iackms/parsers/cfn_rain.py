"""Rain modules (`rain pkg`): a module is a plain CloudFormation template
whose Resources are added to the parent's, so its KMS resources are checked
like the template's own.

Forms read (as Rain and `aws cloudformation package` document them):

- a resource ``Type: !Rain::Module path`` (``{"Rain::Module": path}``,
  ``{"Fn::Rain::Module": path}`` in JSON), or ``Type: LocalModule`` with a
  ``Source``;
- a ``Modules:`` section, ``Name: {Source: path, Properties: ..., Overrides: ...}``.

The module's resources get the module's name as a prefix (``Storage`` +
``Bucket`` = ``StorageBucket``; a resource named ``ModuleExtension`` takes the
module's own name and the type its ``Metadata.Extends`` gives). The parent's
``Properties`` are the values of the module's ``Parameters`` (else their
``Default``); ``Overrides`` are merged into the module's resources. References
inside the module (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, conditions) are
renamed to match. A module is read only from a local path inside the scan
(``ScanContext.read_text``); one that cannot be read gets an IKMS002 note.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..context import ScanContext
from ..model import LDict, LList, Location, Note, ScanUnit
from .cfn_intrinsics import source_repr

#: modules nested deeper than this are not expanded (Rain sets no limit; a cycle would be endless)
MAX_NESTING = 8
_SUB_RE = re.compile(r"\$\{([^}!][^}]*)\}")
_RAIN_TYPES = ("Rain::Module", "Fn::Rain::Module")


def module_source(res: Any) -> Any:
    """The module path of a resource that is a Rain module, else None."""
    if not isinstance(res, dict):
        return None
    t = res.get("Type")
    if isinstance(t, dict) and len(t) == 1:
        (fn, arg), = t.items()
        if fn in _RAIN_TYPES:
            return arg
    if t == "LocalModule" and "Source" in res:
        return res.get("Source")
    return None


def expand(data: LDict, path: Path, ctx: ScanContext, unit: ScanUnit, texts: dict, stack: tuple[str, ...] = (),
           origins: dict | None = None) -> None:
    """Replace the Rain modules of a loaded template (in place) by their
    resources. ``texts`` collects the text of every module file read (for
    locating policy lines), by file as printed; ``origins`` maps each logical
    ID a module added to where the template uses the module and that module
    resource's logical ID."""
    resources = data.get("Resources")
    modules = data.get("Modules")
    uses: list[tuple[str, Any, dict]] = []
    if isinstance(resources, dict):
        for lid, res in resources.items():
            src = module_source(res)
            if src is not None and isinstance(lid, str):
                uses.append((lid, src, res))
    if isinstance(modules, dict):
        for name, spec in modules.items():
            if isinstance(name, str) and isinstance(spec, dict) and "Source" in spec:
                uses.append((name, spec.get("Source"), spec))
    if not uses:
        return
    file = ctx.rel(path)
    new = LDict(loc=getattr(resources, "loc", None))
    old_locs = getattr(resources, "key_locs", {}) if isinstance(resources, dict) else {}
    by_name = {lid: (src, spec) for lid, src, spec in uses}
    conditions = data.get("Conditions")
    conditions = conditions if isinstance(conditions, LDict) else LDict(conditions or {}, loc=getattr(data, "loc", None))
    added_conditions = False
    items = list(resources.items()) if isinstance(resources, dict) else []
    if isinstance(modules, dict):
        items += [(name, None) for name in modules if name in by_name and not (isinstance(resources, dict) and name in resources)]
    parameters = data.get("Parameters")
    parameters = parameters if isinstance(parameters, LDict) else LDict(parameters if isinstance(parameters, dict) else {})
    added_parameters = False
    for lid, res in items:
        if lid not in by_name:
            new[lid] = res
            if lid in old_locs:
                new.key_locs[lid] = old_locs[lid]
            continue
        src, spec = by_name[lid]
        where = old_locs.get(lid) or _key_loc(modules, lid) or Location(file, 1, 1)
        got = _load(src, path, ctx, unit, texts, stack, lid, where)
        if got is None:
            continue
        mod_data, mod_file = got
        declared = mod_data.get("Parameters")
        if isinstance(declared, dict):
            given = _params(spec, mod_data)
            for pname, p in declared.items():
                if isinstance(pname, str) and pname not in given:
                    # a module parameter nobody sets: a parameter of the parent without a Default
                    parameters[f"{lid}.{pname}"] = LDict({"Type": p.get("Type", "String") if isinstance(p, dict) else "String"})
                    added_parameters = True
        for mlid, mres, mloc in _instantiate(lid, spec, mod_data):
            new[mlid] = mres
            new.key_locs[mlid] = mloc
            if origins is not None:
                origins[mlid] = (where, lid)
        mconds = mod_data.get("Conditions")
        if isinstance(mconds, dict):
            params = _params(spec, mod_data)
            names = _names(mod_data)
            for cname, body in mconds.items():
                if isinstance(cname, str):
                    conditions[lid + cname] = _rename(body, lid, params, names)
                    added_conditions = True
    data["Resources"] = new
    if added_parameters:
        data["Parameters"] = parameters
    if added_conditions:
        data["Conditions"] = conditions


def _key_loc(d: Any, k: str) -> Location | None:
    return d.key_locs.get(k) if isinstance(d, LDict) else None


def _load(src: Any, parent: Path, ctx: ScanContext, unit: ScanUnit, texts: dict, stack: tuple[str, ...], lid: str, where: Location):
    from .cloudformation import load_template

    def note(why: str) -> None:
        unit.notes.append(Note("IKMS002", f"resource {lid} is a Rain module ({source_repr(src, 60)}) that {why}; the resources it adds are not checked",
                               where, lid))

    if not isinstance(src, str) or not src.strip():
        note("names no module file")
        return None
    s = src.strip()
    if s.startswith("file://"):
        s = s[len("file://"):]
    if re.match(r"^[a-z][a-z0-9+.-]*://", s, re.I):
        note("is not a local file")
        return None
    target = Path(os.path.normpath(os.path.join(str(parent.parent), s)))
    real = os.path.realpath(str(target))
    if real in stack or len(stack) >= MAX_NESTING:
        note("includes itself" if real in stack else f"is nested more than {MAX_NESTING} modules deep")
        return None
    text = ctx.read_text(target)
    if text is None:
        note("cannot be read (outside the scan, missing, too large or not UTF-8)")
        return None
    mod_file = ctx.rel(target)
    try:
        mod_data = load_template(text, mod_file, target.suffix.lower() == ".json", [])
    except Exception as e:  # noqa: BLE001 - YAML/JSON errors, several documents
        note(f"cannot be parsed ({getattr(e, 'message', type(e).__name__)})")
        return None
    if not isinstance(mod_data, LDict):
        note("is not a template")
        return None
    texts[mod_file] = (text, target.suffix.lower() == ".json")
    unit.module_files.add(mod_file)
    expand(mod_data, target, ctx, unit, texts, (*stack, os.path.realpath(str(parent)), real))
    return mod_data, mod_file


def _params(spec: dict, mod_data: dict) -> dict[str, Any]:
    """Module parameter → the raw value the parent gives it (or its Default)."""
    declared = mod_data.get("Parameters")
    declared = declared if isinstance(declared, dict) else {}
    props = spec.get("Properties")
    props = props if isinstance(props, dict) else {}
    out: dict[str, Any] = {}
    for name, p in declared.items():
        if name in props:
            out[name] = props[name]
        elif isinstance(p, dict) and "Default" in p:
            out[name] = p["Default"]
    return out


def _names(mod_data: dict) -> set[str]:
    res = mod_data.get("Resources")
    return {k for k in res if isinstance(k, str)} if isinstance(res, dict) else set()


def _instantiate(lid: str, spec: dict, mod_data: dict):
    """The module's resources as the parent's: (logical ID, resource, where its name is written)."""
    res = mod_data.get("Resources")
    if not isinstance(res, dict):
        return
    params = _params(spec, mod_data)
    declared = mod_data.get("Parameters")
    declared = set(declared) if isinstance(declared, dict) else set()
    names = _names(mod_data)
    overrides = spec.get("Overrides")
    overrides = overrides if isinstance(overrides, dict) else {}
    props = spec.get("Properties")
    extra = {k: v for k, v in props.items() if k not in declared} if isinstance(props, dict) else {}
    for mlid, mres in res.items():
        if not isinstance(mlid, str):
            continue
        out = _rename(mres, lid, params, names, declared)
        new_lid = lid + mlid
        if mlid == "ModuleExtension" and isinstance(out, dict):
            # Rain's type inheritance: the module's own name, the extended type, the parent's other properties
            new_lid = lid
            meta = out.get("Metadata")
            ext = meta.get("Extends") if isinstance(meta, dict) else None
            if isinstance(ext, str):
                out["Type"] = ext
            if extra:
                p = out.get("Properties")
                out["Properties"] = _merge(p if isinstance(p, dict) else LDict(), extra)
        if isinstance(out, dict):
            if mlid in overrides and isinstance(overrides[mlid], dict):
                out = _merge(out, overrides[mlid])
            if "Condition" in spec and "Condition" not in out:
                out["Condition"] = spec["Condition"]
        yield new_lid, out, _key_loc(res, mlid) or getattr(mres, "loc", None) or Location("", 1, 1)


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = LDict(base, loc=getattr(base, "loc", None), key_locs=dict(getattr(base, "key_locs", {})))
        for k, v in over.items():
            out[k] = _merge(base[k], v) if k in base else v
            kl = getattr(over, "key_locs", {}).get(k)
            if kl is not None:
                out.key_locs[k] = kl
        return out
    return over


def _rename(v: Any, lid: str, params: dict, names: set[str], declared: set[str] | None = None, depth: int = 0) -> Any:
    """A module value as the parent's: parameters replaced by the parent's
    values, the module's resources and conditions by their prefixed names."""
    if depth > 200:
        return v
    declared = set(params) if declared is None else declared
    if isinstance(v, dict):
        if len(v) == 1:
            (k, a), = v.items()
            if k == "Ref" and isinstance(a, str):
                if a in params:
                    return params[a]
                if a in declared:
                    return _copy(v, {"Ref": f"{lid}.{a}"})  # a parameter nobody set: unknown
                if a in names:
                    return _copy(v, {"Ref": lid + a})
                return v
            if k == "Fn::GetAtt":
                if isinstance(a, str) and "." in a and a.split(".", 1)[0] in names:
                    return _copy(v, {k: lid + a})
                if isinstance(a, list) and a and isinstance(a[0], str) and a[0] in names:
                    return _copy(v, {k: LList([lid + a[0], *a[1:]], loc=getattr(a, "loc", None))})
                return v
            if k == "Fn::Sub":
                return _copy(v, {k: _sub(a, lid, params, names, declared, depth)})
            if k == "Condition" and isinstance(a, str):
                return _copy(v, {k: lid + a})
            if k == "Fn::If" and isinstance(a, list) and a and isinstance(a[0], str):
                return _copy(v, {k: LList([lid + a[0], *(_rename(x, lid, params, names, declared, depth + 1) for x in a[1:])],
                                          loc=getattr(a, "loc", None))})
        out = LDict(loc=getattr(v, "loc", None), key_locs=dict(getattr(v, "key_locs", {})))
        for k, x in v.items():
            if k == "Condition" and isinstance(x, str) and depth == 0:
                out[k] = lid + x  # the resource's own condition
            elif k == "DependsOn":
                out[k] = _depends(x, lid, names)
            else:
                out[k] = _rename(x, lid, params, names, declared, depth + 1)
        return out
    if isinstance(v, list):
        return LList((_rename(x, lid, params, names, declared, depth + 1) for x in v), loc=getattr(v, "loc", None))
    return v


def _depends(x: Any, lid: str, names: set[str]) -> Any:
    if isinstance(x, str):
        return lid + x if x in names else x
    if isinstance(x, list):
        return [lid + d if isinstance(d, str) and d in names else d for d in x]
    return x


def _sub(a: Any, lid: str, params: dict, names: set[str], declared: set[str], depth: int) -> Any:
    """``Fn::Sub`` with its variables renamed; a parameter the parent sets
    becomes a variable of the Sub bound to the parent's value."""
    if isinstance(a, str):
        text, bound = a, {}
    elif isinstance(a, list) and len(a) == 2 and isinstance(a[0], str) and isinstance(a[1], dict):
        text, bound = a[0], a[1]
    else:
        return _rename(a, lid, params, names, declared, depth + 1)
    extra: dict[str, Any] = {}

    def one(m: re.Match) -> str:
        name = m.group(1).strip()
        if name in bound:
            return m.group(0)
        if name in params:
            extra[name] = params[name]
            return m.group(0)
        if name in declared:
            return "${" + f"{lid}.{name}" + "}"
        head = name.split(".", 1)[0]
        if head in names:
            return "${" + lid + name + "}"
        return m.group(0)

    new_text = _SUB_RE.sub(one, text)
    variables = LDict({k: _rename(x, lid, params, names, declared, depth + 1) for k, x in bound.items()})
    variables.update(extra)
    if not variables:
        return new_text
    return LList([new_text, variables], loc=getattr(a, "loc", None))


def _copy(orig: Any, d: dict) -> LDict:
    out = LDict(d, loc=getattr(orig, "loc", None))
    out.key_locs = dict(getattr(orig, "key_locs", {}))
    return out
