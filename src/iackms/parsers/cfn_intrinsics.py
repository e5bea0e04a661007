"""CloudFormation intrinsic functions, resolved exactly or not at all.

:func:`resolve` turns a raw template value (long-form intrinsics, as both
loaders produce them) into a model value: plain data when it is known,
:class:`~iackms.model.Unknown` when it is not, partly known strings with
``unknown_piece`` markers, ``THIS_ACCOUNT`` for ``AWS::AccountId``, opaque
markers for other pseudo parameters, :class:`~iackms.model.Choice` when a
condition cannot be decided and ``REMOVE`` for ``AWS::NoValue`` (dropped from
maps and lists). Locations of maps and lists (``LDict``/``LList``) are kept.

Parameters resolve to their ``Default`` (a parameter without one is
Unknown, or a Choice of its ``AllowedValues``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from itertools import combinations, product
from typing import Any, Callable, Iterator

import orjson

from ..model import (
    CONDITION,
    OPAQUE_CLOSE,
    OPAQUE_OPEN,
    REMOVE,
    THIS_ACCOUNT,
    UNK_OPEN,
    Choice,
    LDict,
    LList,
    Location,
    Switch,
    Unknown,
    bound,
    display,
    from_alternatives,
    unknown_piece,
    variants_when,
)

MAX_DEPTH = 300
MAX_OPTIONS = 16
PARTITION = "aws"

_OPAQUE_PSEUDO = ("AWS::Region", "AWS::URLSuffix", "AWS::StackName", "AWS::StackId")
_SUB_RE = re.compile(r"\$\{([^}]*)\}")
_DYNAMIC_RE = re.compile(r"\{\{resolve:.*?\}\}", re.S)
_LIST_TYPES = ("CommaDelimitedList", "List<")
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
#: SAM resources that get a role ``<LogicalId>Role`` when they name none
_SAM_ROLE_TYPES = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")
#: every intrinsic function CloudFormation (and its transforms) knows; an
#: other ``Fn::`` name (``!Bogus``) is a mistake, not a deployment-time value
INTRINSICS = frozenset((
    "Fn::And", "Fn::Base64", "Fn::Cidr", "Fn::Contains", "Fn::EachMemberEquals", "Fn::EachMemberIn",
    "Fn::Equals", "Fn::FindInMap", "Fn::ForEach", "Fn::GetAtt", "Fn::GetAZs", "Fn::If",
    "Fn::ImportValue", "Fn::Join", "Fn::Length", "Fn::Not", "Fn::Or", "Fn::RefAll", "Fn::Select",
    "Fn::Split", "Fn::Sub", "Fn::ToJsonString", "Fn::Transform", "Fn::ValueOf", "Fn::ValueOfAll",
))


def opaque(name: str) -> str:
    """A known string of unknown value (``AWS::Region``...)."""
    return f"{OPAQUE_OPEN}{name}{OPAQUE_CLOSE}"


@dataclass
class Template:
    """The parts of a template that intrinsics look things up in."""

    params: dict = field(default_factory=dict)
    mappings: dict = field(default_factory=dict)
    conditions: dict = field(default_factory=dict)
    resources: dict = field(default_factory=dict)
    #: the names of the template's transforms (``Transform``), strings only
    transforms: tuple = ()
    #: ``Globals`` (SAM)
    globals: dict = field(default_factory=dict)
    _cond_cache: dict = field(default_factory=dict)
    _busy: set = field(default_factory=set)

    @classmethod
    def from_data(cls, data: dict) -> "Template":
        def section(name: str) -> dict:
            v = data.get(name)
            return v if isinstance(v, dict) else {}

        tr = data.get("Transform")
        transforms = tuple(t for t in (tr if isinstance(tr, list) else [tr]) if isinstance(t, str))
        return cls(section("Parameters"), section("Mappings"), section("Conditions"), section("Resources"), transforms, section("Globals"))

    @property
    def is_sam(self) -> bool:
        return SAM_TRANSFORM in self.transforms

    def sam_role_owner(self, name: Any) -> str | None:
        """The SAM function (or state machine) whose implicit role is the
        logical ID ``name`` (``FnRole`` for a function ``Fn`` with no
        ``Role``), else None."""
        if not self.is_sam or not isinstance(name, str) or not name.endswith("Role") or name in self.resources:
            return None
        owner = name[: -len("Role")]
        r = self.resources.get(owner)
        if not isinstance(r, dict) or r.get("Type") not in _SAM_ROLE_TYPES:
            return None
        props = r.get("Properties")
        if props is None:
            return owner
        if not isinstance(props, dict):
            return None
        if "Role" in props and resolve(props["Role"], self) is not REMOVE:
            return None
        return owner

    def resource_type(self, name: Any) -> str | None:
        r = self.resources.get(name) if isinstance(name, str) else None
        if isinstance(r, dict):
            t = r.get("Type")
            return t if isinstance(t, str) else None
        return None


# --- source text for messages ---------------------------------------------------


def source_repr(raw: Any, limit: int = 120) -> str:
    """A short, YAML-like rendering of a raw value (``!Ref X``, ``!GetAtt R.Arn``)."""
    try:
        s = _repr(raw)
    except RecursionError:
        # called at the resolution depth limit on a value nested deeper still
        # (orjson gives up at 255 levels, then str() recurses): a message
        # must not turn a deep but valid template into a parse error
        return "(a value nested too deeply to show)"
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _repr(raw: Any) -> str:
    if isinstance(raw, dict) and len(raw) == 1:
        (k, v), = raw.items()
        if k == "Ref" and isinstance(v, str):
            return f"!Ref {v}"
        if k == "Fn::GetAtt":
            if isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v):
                return f"!GetAtt {v[0]}.{v[1]}"
            if isinstance(v, str):
                return f"!GetAtt {v}"
        if isinstance(k, str) and k.startswith("Fn::"):
            return f"!{k[4:]} {_repr(v)}"
        if k == "Condition" and isinstance(v, str):
            return f"!Condition {v}"
    if isinstance(raw, str):
        return raw
    try:
        return orjson.dumps(raw, default=str).decode()
    except (TypeError, orjson.JSONEncodeError):
        return str(raw)


# --- choices ----------------------------------------------------------------------


def has_choice(value: Any, depth: int = 0) -> bool:
    if isinstance(value, Choice):
        return True
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return any(has_choice(v, depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_choice(v, depth + 1) for v in value)
    return False


def expand(value: Any, limit: int = MAX_OPTIONS) -> list | None:
    """Every concrete variant of ``value`` (Choices expanded at any depth,
    ``REMOVE`` dropped from maps and lists), or None when there are more than
    ``limit``."""
    if isinstance(value, Choice):
        out: list = []
        for opt in value.options:
            sub = expand(opt, limit)
            if sub is None:
                return None
            out.extend(sub)
            if len(out) > limit:
                return None
        return out
    if isinstance(value, dict) and has_choice(value):
        combos: list[list] = [[]]
        for k, v in value.items():
            vs = expand(v, limit)
            if vs is None or len(combos) * len(vs) > limit:
                return None
            combos = [c + [(k, x)] for c in combos for x in vs]
        res = []
        for c in combos:
            d = LDict(((k, x) for k, x in c if x is not REMOVE), loc=getattr(value, "loc", None), key_locs=getattr(value, "key_locs", None))
            res.append(d if isinstance(value, LDict) else dict(d))
        return res
    if isinstance(value, (list, tuple)) and has_choice(value):
        combos_l: list[list] = [[]]
        for v in value:
            vs = expand(v, limit)
            if vs is None or len(combos_l) * len(vs) > limit:
                return None
            combos_l = [c + [x] for c in combos_l for x in vs]
        res_l: list = []
        for c in combos_l:
            items = [x for x in c if x is not REMOVE]
            res_l.append(LList(items, loc=getattr(value, "loc", None)) if isinstance(value, list) else tuple(items))
        return res_l
    return [value]


def _dedupe(values: list) -> list:
    out: list = []
    keys: list = []
    for v in values:
        k = _key(v)
        if k not in keys:
            keys.append(k)
            out.append(v)
    return out


def _key(v: Any) -> Any:
    try:
        return orjson.dumps(v, default=repr)
    except (TypeError, orjson.JSONEncodeError):
        return repr(v)


def _same(a: Any, b: Any) -> bool:
    return a is b or _key(a) == _key(b)


def choice_of(values: list, expr: str, loc: Location | None, on: Switch | None = None, keys: Any = None) -> Any:
    """A Choice of the distinct ``values`` (the value itself when there is
    one); with a switch ``on``, ``keys[i]`` is the key (or keys) giving ``values[i]``."""
    if on is not None and keys is not None:
        return bound(values, list(keys), expr, loc, on, _same)
    vals = _dedupe(values)
    if len(vals) == 1:
        return vals[0]
    return Choice(tuple(vals), expr, loc)


def remap(c: Choice, values: list, expr: str | None = None, loc: Any = False) -> Any:
    """``c`` with each option replaced by ``values[i]`` (its switch kept)."""
    return choice_of(values, c.expr if expr is None else expr, c.loc if loc is False else loc, c.on, c.labels if c.on is not None else None)


def lift(args: Any, fn: Callable[[Any], Any], expr: str, loc: Location | None) -> Any:
    """Apply ``fn`` to resolved ``args``; when they hold Choices, apply it to
    every variant and return the Choice of the results (chosen by the same
    conditions as the arguments)."""
    if not has_choice(args):
        return fn(args)
    pairs = variants_when(_strip(args), MAX_OPTIONS + 1)
    if len(pairs) > MAX_OPTIONS:
        return Unknown(expr, "too many conditional combinations")
    return from_alternatives([(fn(v), w) for v, w in pairs], expr, loc, _same)


def _strip(v: Any) -> Any:
    """Tuples as lists (what :func:`expand` took)."""
    return list(v) if isinstance(v, tuple) else v


# --- conditions -------------------------------------------------------------------


def condition(tpl: Template, name: Any) -> bool | None:
    """The static value of a named condition, None when it cannot be decided."""
    if not isinstance(name, str):
        return None
    cache = tpl._cond_cache
    if name in cache:
        return cache[name]
    key = ("cond", name)
    if key in tpl._busy or name not in tpl.conditions:
        return None
    tpl._busy.add(key)
    try:
        v = eval_condition(tpl, tpl.conditions[name], 0)
    finally:
        tpl._busy.discard(key)
    cache[name] = v
    return v


def _condition_items(tpl: Template, name: Any) -> Iterator[tuple[str, Any]]:
    """Each one-key mapping (``Ref``, ``Fn::Equals``, ``Fn::Sub``...) of the
    named condition and of the conditions it uses, as ``(key, value)``, in
    the order they are written."""
    seen: set[str] = set()

    def walk(raw: Any, depth: int) -> Iterator[tuple[str, Any]]:
        if depth > MAX_DEPTH:
            return
        if isinstance(raw, dict):
            if len(raw) == 1:
                (k, v), = raw.items()
                if k == "Condition" and isinstance(v, str):
                    yield from cond(v)
                    return
                yield k, v
            for v in raw.values():
                yield from walk(v, depth + 1)
        elif isinstance(raw, list):
            for v in raw:
                yield from walk(v, depth + 1)

    def cond(n: str) -> Iterator[tuple[str, Any]]:
        if n not in seen and n in tpl.conditions:
            seen.add(n)
            yield from walk(tpl.conditions[n], 0)

    if isinstance(name, str):
        yield from cond(name)


def condition_parameters(tpl: Template, name: Any) -> list[str]:
    """The parameters a named condition refers to, directly or through the
    conditions it uses, in the order they are written."""
    out: list[str] = []

    def add(p: str) -> None:
        if p in tpl.params and p not in out:
            out.append(p)

    for k, v in _condition_items(tpl, name):
        if k == "Ref" and isinstance(v, str):
            add(v)
        elif k == "Fn::Sub":
            text = v if isinstance(v, str) else v[0] if isinstance(v, list) and v and isinstance(v[0], str) else None
            if text is not None:
                for m in _SUB_RE.finditer(text):
                    add(m.group(1).strip())
    return out


def false_by_defaults(tpl: Template, name: Any) -> list[tuple[str, Any]]:
    """When the named condition is false only because parameters take their
    ``Default`` (another allowed value could make it true or undecidable),
    those parameters and their defaults; else ``[]`` (a condition of constants,
    or one that no allowed value changes)."""
    params = [p for p in condition_parameters(tpl, name) if isinstance(tpl.params.get(p), dict) and "Default" in tpl.params[p]]
    if not params or condition(tpl, name) is not False:
        return []
    opened = dict(tpl.params)
    for p in params:
        d = tpl.params[p]
        opened[p] = LDict({k: v for k, v in d.items() if k != "Default"}, loc=getattr(d, "loc", None))
    without = Template(opened, tpl.mappings, tpl.conditions, tpl.resources, tpl.transforms, tpl.globals)
    if condition(without, name) is False:
        return []
    return [(p, param_value(tpl, p)) for p in params]


#: at most this many parameter assignments are tried to find the branch in
#: which a condition that is false with the defaults is true
MAX_BRANCH_TRIES = 64


def branch_template(tpl: Template, name: str, by_defaults: list[tuple[str, Any]]) -> Template:
    """The template as deployed in the branch where condition ``name`` (false
    with the parameters' defaults) is true: the parameters it depends on set
    to values that make it true (allowed values, or the literals the
    conditions compare them with; as few changed as possible), every other
    parameter at its default. When no such values are found, the condition
    is simply taken as true."""
    params = [p for p, _ in by_defaults]
    literals = _compared_literals(tpl, name)
    cands: list[list[Any]] = []
    for p in params:
        d = tpl.params[p]
        allowed = d.get("AllowedValues")
        vals = [v for v in allowed if isinstance(v, (str, int, float, bool))] if isinstance(allowed, list) else list(literals)
        cands.append([v for v in dict.fromkeys(vals) if v != d.get("Default")])
    tries = 0
    for size in range(1, len(params) + 1):
        for idx in combinations(range(len(params)), size):
            for values in product(*(cands[i] for i in idx)):
                tries += 1
                if tries > MAX_BRANCH_TRIES:
                    return _forced(tpl, name)
                opened = dict(tpl.params)
                for i, v in zip(idx, values):
                    d = tpl.params[params[i]]
                    opened[params[i]] = LDict({**d, "Default": v}, loc=getattr(d, "loc", None), key_locs=getattr(d, "key_locs", None))
                t = replace(tpl, params=opened, _cond_cache={}, _busy=set())
                if condition(t, name) is True:
                    return t
    return _forced(tpl, name)


def _forced(tpl: Template, name: str) -> Template:
    return replace(tpl, _cond_cache={name: True}, _busy=set())


def _compared_literals(tpl: Template, name: str) -> list[Any]:
    """The scalar literals the named condition (and the conditions it uses)
    compares values with in ``Fn::Equals``."""
    out: list[Any] = []
    for k, v in _condition_items(tpl, name):
        if k == "Fn::Equals" and isinstance(v, list):
            out.extend(x for x in v if isinstance(x, (str, int, float, bool)) and x not in out)
    return out


def eval_condition(tpl: Template, raw: Any, depth: int) -> bool | None:
    if depth > MAX_DEPTH:
        return None
    if isinstance(raw, bool):
        return raw
    if not (isinstance(raw, dict) and len(raw) == 1):
        return None
    (fn, arg), = raw.items()
    if fn == "Condition":
        return condition(tpl, arg)
    if fn == "Fn::Not":
        if isinstance(arg, list) and len(arg) == 1:
            v = eval_condition(tpl, arg[0], depth + 1)
            return None if v is None else not v
        return None
    if fn in ("Fn::And", "Fn::Or"):
        if not isinstance(arg, list) or not arg:
            return None
        vals = [eval_condition(tpl, a, depth + 1) for a in arg]
        if fn == "Fn::And":
            if False in vals:
                return False
            return True if all(v is True for v in vals) else None
        if True in vals:
            return True
        return False if all(v is False for v in vals) else None
    if fn == "Fn::Equals":
        if not isinstance(arg, list) or len(arg) != 2:
            return None
        a = resolve(arg[0], tpl, depth + 1)
        b = resolve(arg[1], tpl, depth + 1)
        pairs = expand([a, b])
        if pairs is None:
            return None
        results = {_equals(p[0], p[1]) if len(p) == 2 else None for p in pairs}
        return results.pop() if len(results) == 1 else None
    return None


def _scalar_text(v: Any) -> str | None:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        return v
    return None


def _equals(a: Any, b: Any) -> bool | None:
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return True if a == b else None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return None if _partial(a) or _partial(b) else False
        res = [_equals(x, y) for x, y in zip(a, b)]
        if False in res:
            return False
        return True if all(r is True for r in res) else None
    sa, sb = _scalar_text(a), _scalar_text(b)
    if sa is None or sb is None:
        return None
    if sa == sb:
        return True
    if _partial(sa) or _partial(sb):
        return None
    return False


def _partial(v: Any) -> bool:
    if isinstance(v, str):
        return UNK_OPEN in v or OPAQUE_OPEN in v or THIS_ACCOUNT in v
    if isinstance(v, list):
        return any(_partial(x) or isinstance(x, Unknown) for x in v)
    return True


# --- resolution ---------------------------------------------------------------------


def resolve(raw: Any, tpl: Template, depth: int = 0) -> Any:
    """The model value of a raw template value."""
    if depth > MAX_DEPTH:
        return Unknown(source_repr(raw), "nested too deeply")
    if isinstance(raw, str):
        if "{{resolve:" in raw:
            return _dynamic(raw)
        return raw
    if isinstance(raw, dict):
        if len(raw) == 1:
            (k, v), = raw.items()
            if isinstance(k, str) and (k == "Ref" or k.startswith("Fn::")):
                return _intrinsic(k, v, raw, tpl, depth)
        out = LDict(loc=getattr(raw, "loc", None))
        kl = getattr(raw, "key_locs", None)
        for k, v in raw.items():
            r = resolve(v, tpl, depth + 1)
            if r is REMOVE:
                continue
            out[k] = r
            if kl and k in kl:
                out.key_locs[k] = kl[k]
        return out
    if isinstance(raw, list):
        items = [resolve(v, tpl, depth + 1) for v in raw]
        return LList([i for i in items if i is not REMOVE], loc=getattr(raw, "loc", None))
    return raw


def _dynamic(s: str) -> str:
    """``{{resolve:ssm:...}}`` dynamic references are only known at deployment:
    one unresolved piece each (whatever unresolved pieces a ``!Sub`` put
    inside it become part of its text), never a literal value."""
    return _DYNAMIC_RE.sub(lambda m: unknown_piece(display(m.group(0))), s)


def literal(v: Any) -> Any:
    """A value written in the template outside any intrinsic (a parameter's
    Default, a mapping entry): its dynamic references are unknown too."""
    if isinstance(v, str):
        return _dynamic(v) if "{{resolve:" in v else v
    if isinstance(v, LList):
        return LList([literal(x) for x in v], loc=v.loc)
    if isinstance(v, list):
        return [literal(x) for x in v]
    return v


def _intrinsic(fn: str, arg: Any, raw: Any, tpl: Template, depth: int) -> Any:
    loc = getattr(raw, "loc", None)
    if fn == "Ref":
        return ref(tpl, resolve(arg, tpl, depth + 1) if not isinstance(arg, str) else arg, depth)
    if fn == "Fn::If":
        return _if(arg, raw, tpl, depth, loc)
    handler = _HANDLERS.get(fn)
    if handler is None:
        if fn not in INTRINSICS and not fn.startswith(("Fn::Rain::", "Fn::ForEach::")):
            return Unknown(source_repr(raw), f"{fn} is not a CloudFormation intrinsic function")
        return Unknown(source_repr(raw), f"{fn} is only known at deployment")
    out = handler(arg, raw, tpl, depth, loc)
    if isinstance(out, Unknown) and fn in _BUILDERS and out.expr == source_repr(raw):
        # a message names what the value depends on, not a cut dump of the intrinsic
        inputs = _inputs(raw, tpl)
        if inputs:
            return Unknown(f"!{fn[4:]} of {inputs}", out.reason)
    return out


#: intrinsics that build a value from others
_BUILDERS = frozenset({"Fn::Split", "Fn::Join", "Fn::Select", "Fn::Sub", "Fn::FindInMap", "Fn::Base64", "Fn::Cidr", "Fn::Length"})


def _inputs(raw: Any, tpl: Template) -> str:
    """The parameters, resources and dynamic references a raw value depends on
    that are not known before deployment (`parameters Admins, Env`)."""
    names: list[str] = []

    def add(n: str) -> None:
        if n and n not in names:
            names.append(n)

    def walk(v: Any, depth: int) -> None:
        if depth > 50:
            return
        if isinstance(v, dict):
            if len(v) == 1:
                (k, a), = v.items()
                if k == "Ref" and isinstance(a, str):
                    add(a)
                    return
                if k == "Fn::GetAtt":
                    add(a if isinstance(a, str) else ".".join(x for x in a if isinstance(x, str)) if isinstance(a, list) else "")
                    return
                if k == "Fn::Sub":
                    text = a if isinstance(a, str) else a[0] if isinstance(a, list) and a and isinstance(a[0], str) else ""
                    bound = a[1] if isinstance(a, list) and len(a) == 2 and isinstance(a[1], dict) else {}
                    for m in _SUB_RE.finditer(text):
                        n = m.group(1).strip()
                        if not n.startswith("!") and n not in bound:
                            add(n)
                    for d in _DYNAMIC_RE.findall(text):
                        add(d)
                    walk(bound, depth + 1)
                    return
            for x in v.values():
                walk(x, depth + 1)
        elif isinstance(v, list):
            for x in v:
                walk(x, depth + 1)
        elif isinstance(v, str):
            for d in _DYNAMIC_RE.findall(v):
                add(d)

    walk(raw, 0)
    params: list[str] = []
    others: list[str] = []
    for n in names:
        if n.startswith("{{resolve:"):
            others.append(n)
            continue
        if n.startswith("AWS::") and n != "AWS::NoValue":
            if n not in ("AWS::AccountId", "AWS::Partition"):
                others.append(n)
            continue
        if n in tpl.params:
            if not _known(param_value(tpl, n)):
                params.append(n)
        elif "." in n or n in tpl.resources:
            others.append(n)
    parts = []
    if params:
        parts.append(("parameter " if len(params) == 1 else "parameters ") + ", ".join(params))
    parts += others
    return ", ".join(parts)


def _known(v: Any) -> bool:
    if isinstance(v, (Unknown, Choice)):
        return False
    if isinstance(v, str):
        return UNK_OPEN not in v
    if isinstance(v, list):
        return all(_known(x) for x in v)
    return True


def ref(tpl: Template, name: Any, depth: int = 0) -> Any:
    """``Ref`` of a pseudo parameter, parameter or resource."""
    if isinstance(name, Choice):
        return remap(name, [ref(tpl, n, depth) for n in name.options], f"!Ref {source_repr(name)}", name.loc)
    if not isinstance(name, str):
        return Unknown(source_repr({"Ref": name}), "Ref of a non-string")
    if name.startswith("AWS::"):
        if name == "AWS::AccountId":
            return THIS_ACCOUNT
        if name == "AWS::Partition":
            return PARTITION
        if name == "AWS::NoValue":
            return REMOVE
        if name in _OPAQUE_PSEUDO:
            return opaque(name)
        return Unknown(name, f"{name} is only known at deployment")
    if name in tpl.params:
        return param_value(tpl, name)
    rtype = tpl.resource_type(name)
    if rtype is None and tpl.sam_role_owner(name) is not None:
        return Unknown(name, f"the name of the role SAM creates for {tpl.sam_role_owner(name)}")
    if rtype is None:
        if name in tpl.resources:
            return Unknown(name, f"the ID of resource {name}", ref=name, attr="Ref")
        return Unknown(name, f"{name} is not defined in the template")
    if rtype in ("AWS::IAM::Role", "AWS::IAM::User"):
        prop = "RoleName" if rtype == "AWS::IAM::Role" else "UserName"
        n = _resource_prop(tpl, name, prop, depth)
        if isinstance(n, str):
            return n
        return Unknown(name, f"the name of {rtype} {name}")
    return Unknown(name, f"the ID of {rtype} {name}, known after deployment", ref=name, attr="Ref")


def param_value(tpl: Template, name: str) -> Any:
    p = tpl.params.get(name)
    if not isinstance(p, dict):
        return Unknown(name, f"parameter {name}")
    ptype = p.get("Type")
    ptype = ptype if isinstance(ptype, str) else ""
    if ptype.startswith("AWS::SSM::Parameter::Value"):
        return Unknown(name, f"parameter {name} is read from SSM at deployment")
    is_list = ptype.startswith(_LIST_TYPES)
    if "Default" in p:
        d = p["Default"]
        if isinstance(d, str) and "{{resolve:" in d:
            return Unknown(name, f"parameter {name} defaults to a dynamic reference, resolved at deployment")
        if is_list and isinstance(d, str):
            return LList([s.strip() for s in d.split(",")], loc=getattr(p, "loc", None))
        if isinstance(d, (dict, list)) and not (is_list and isinstance(d, list)):
            return Unknown(name, f"parameter {name} has a Default that is not a value")
        return literal(d)
    allowed = p.get("AllowedValues")
    if not is_list and isinstance(allowed, list) and 0 < len(allowed) <= MAX_OPTIONS and all(
        isinstance(a, (str, int, float, bool)) for a in allowed
    ):
        return choice_of([literal(a) for a in allowed], name, getattr(p, "loc", None))
    return Unknown(name, f"parameter {name} has no Default")


def _resource_prop(tpl: Template, res: str, prop: str, depth: int) -> Any:
    """The resolved value of a resource property (REMOVE/None when absent)."""
    r = tpl.resources.get(res)
    props = r.get("Properties") if isinstance(r, dict) else None
    if not isinstance(props, dict) or prop not in props:
        return None
    key = (res, prop)
    if key in tpl._busy:
        return Unknown(f"{res}.{prop}", "refers to itself")
    tpl._busy.add(key)
    try:
        v = resolve(props[prop], tpl, depth + 1)
    finally:
        tpl._busy.discard(key)
    return None if v is REMOVE else v


def iam_arn(tpl: Template, res: str, depth: int = 0) -> str | None:
    """The ARN of an ``AWS::IAM::Role``/``AWS::IAM::User`` in the template,
    partly unknown when its name or path is not static."""
    rtype = tpl.resource_type(res)
    owner = tpl.sam_role_owner(res)
    if owner is not None:
        return _sam_role_arn(tpl, res, owner, depth)
    if rtype == "AWS::IAM::Role":
        kind, name_prop = "role", "RoleName"
    elif rtype == "AWS::IAM::User":
        kind, name_prop = "user", "UserName"
    else:
        return None
    name = _resource_prop(tpl, res, name_prop, depth)
    if not isinstance(name, str):
        name = unknown_piece(f"{res}.{name_prop}")
    path = _resource_prop(tpl, res, "Path", depth)
    if path is None:
        path = "/"
    elif not isinstance(path, str):
        path = unknown_piece(f"{res}.Path")
    return f"arn:{PARTITION}:iam::{THIS_ACCOUNT}:{kind}{path}{name}"


def _sam_role_arn(tpl: Template, res: str, owner: str, depth: int) -> str:
    """The ARN of the role SAM creates for ``owner``: CloudFormation names it
    (``<stack>-<res>-<suffix>``), under the function's ``RolePath`` (or the
    one in ``Globals``), ``/`` by default."""
    path: Any = _resource_prop(tpl, owner, "RolePath", depth)
    if path is None:
        g = tpl.globals.get("Function") if tpl.resource_type(owner) == "AWS::Serverless::Function" else None
        path = resolve(g["RolePath"], tpl, depth + 1) if isinstance(g, dict) and "RolePath" in g else "/"
    if path is REMOVE or path is None:
        path = "/"
    if not isinstance(path, str):
        path = unknown_piece(f"{owner}.RolePath")
    if not path.endswith("/"):
        path += "/"
    if not path.startswith("/"):
        path = "/" + path
    return f"arn:{PARTITION}:iam::{THIS_ACCOUNT}:role{path}{unknown_piece(f'{res}.RoleName')}"


def get_att(tpl: Template, res: Any, attr: Any, depth: int = 0) -> Any:
    if not isinstance(res, str) or not isinstance(attr, str):
        return Unknown(f"{_text(res)}.{_text(attr)}", "GetAtt of a computed name")
    if attr == "Arn":
        arn = iam_arn(tpl, res, depth)
        if arn is not None:
            return arn
    if res not in tpl.resources:
        return Unknown(f"{res}.{attr}", f"{res} is not defined in the template")
    return Unknown(f"{res}.{attr}", f"{attr} of {res} is known after deployment", ref=res, attr=attr)


def _text(v: Any) -> str:
    return v if isinstance(v, str) else source_repr(v)


def _if(arg: Any, raw: Any, tpl: Template, depth: int, loc: Location | None) -> Any:
    if not (isinstance(arg, list) and len(arg) == 3):
        return Unknown(source_repr(raw), "malformed Fn::If")
    cond = arg[0]
    c = condition(tpl, cond)
    if c is True:
        return resolve(arg[1], tpl, depth + 1)
    if c is False:
        return resolve(arg[2], tpl, depth + 1)
    a = resolve(arg[1], tpl, depth + 1)
    b = resolve(arg[2], tpl, depth + 1)
    expr = f"Fn::If [{_text(cond)}, ...]"
    if not isinstance(cond, str):
        return Choice((a, b), expr, loc)
    # every Fn::If on this condition is one decision: its branches are chosen together
    return choice_of([a, b], expr, loc, Switch(CONDITION, cond), ("true", "false"))


def _two(arg: Any, raw: Any, tpl: Template, depth: int, fn: str) -> list | Unknown:
    """The two arguments of ``fn``, resolved; Unknown when it has not two."""
    if not (isinstance(arg, list) and len(arg) == 2):
        return Unknown(source_repr(raw), f"malformed {fn}")
    return [resolve(arg[0], tpl, depth + 1), resolve(arg[1], tpl, depth + 1)]


def _getatt(arg: Any, raw: Any, tpl: Template, depth: int, loc: Location | None) -> Any:
    if isinstance(arg, str):
        parts = arg.split(".", 1)
        if len(parts) != 2:
            return Unknown(arg, "malformed Fn::GetAtt")
        return get_att(tpl, parts[0], parts[1], depth)
    args = _two(arg, raw, tpl, depth, "Fn::GetAtt")
    if isinstance(args, Unknown):
        return args
    return lift(args, lambda a: get_att(tpl, a[0], a[1], depth), source_repr(raw), loc)


def _piece(v: Any, expr: str) -> str:
    """A resolved value as a piece of a string."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, Unknown):
        return unknown_piece(v.expr or expr)
    return unknown_piece(expr)


def _sub(arg: Any, raw: Any, tpl: Template, depth: int, loc: Location | None) -> Any:
    if isinstance(arg, str):
        text, var_raw = arg, {}
    elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str) and isinstance(arg[1], dict):
        text, var_raw = arg[0], arg[1]
    else:
        return Unknown(source_repr(raw), "malformed Fn::Sub")
    names = {m.group(1) for m in _SUB_RE.finditer(text) if not m.group(1).startswith("!")}
    values: dict[str, Any] = {}
    for n in names:
        key = n.strip()
        if key in var_raw:
            values[n] = resolve(var_raw[key], tpl, depth + 1)
        elif "." in key and not key.startswith("AWS::"):
            r, a = key.split(".", 1)
            values[n] = get_att(tpl, r, a, depth)
        else:
            values[n] = ref(tpl, key, depth)

    def render(vals: dict) -> str:
        def one(m: re.Match) -> str:
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            v = vals.get(name, REMOVE)
            if isinstance(v, LList):
                return unknown_piece(name.strip())
            return _piece(v, name.strip())

        s = _SUB_RE.sub(one, text)
        return _dynamic(s) if "{{resolve:" in s else s

    return lift(values, render, source_repr(raw), loc)


def _join(arg: Any, raw: Any, tpl: Template, depth: int, loc: Location | None) -> Any:
    args = _two(arg, raw, tpl, depth, "Fn::Join")
    if isinstance(args, Unknown):
        return args
    expr = source_repr(raw)

    def join(a: list) -> Any:
        delim, items = a
        if not isinstance(delim, str) or not isinstance(items, list):
            return Unknown(expr, "Fn::Join of a value known at deployment")
        parts = []
        for i in items:
            if isinstance(i, (dict, list)):
                return Unknown(expr, "Fn::Join of a non-string")
            parts.append(_piece(i, source_repr(i)))
        return delim.join(parts)

    return lift(args, join, expr, loc)


def _select(arg: Any, raw: Any, tpl: Template, depth: int, loc: Location | None) -> Any:
    args = _two(arg, raw, tpl, depth, "Fn::Select")
    if isinstance(args, Unknown):
        return args
    expr = source_repr(raw)

    def select(a: list) -> Any:
        idx, items = a
        if isinstance(idx, str) and idx.strip().isdigit():
            idx = int(idx)
        if isinstance(idx, bool) or not isinstance(idx, int) or not isinstance(items, list):
            return Unknown(expr, "Fn::Select of a value known at deployment")
        if not 0 <= idx < len(items):
            return Unknown(expr, "Fn::Select index out of range")
        return items[idx]

    return lift(args, select, expr, loc)


def _split(arg: Any, raw: Any, tpl: Template, depth: int, loc: Location | None) -> Any:
    args = _two(arg, raw, tpl, depth, "Fn::Split")
    if isinstance(args, Unknown):
        return args
    expr = source_repr(raw)

    def split(a: list) -> Any:
        delim, s = a
        if not isinstance(delim, str) or not delim or not isinstance(s, str):
            return Unknown(expr, "Fn::Split of a value known at deployment")
        if UNK_OPEN in s or OPAQUE_OPEN in s:
            return Unknown(expr, "Fn::Split of a partly unknown string")
        return LList(s.split(delim), loc=loc)

    return lift(args, split, expr, loc)


def _find_in_map(arg: Any, raw: Any, tpl: Template, depth: int, loc: Location | None) -> Any:
    if not (isinstance(arg, list) and len(arg) in (3, 4)):
        return Unknown(source_repr(raw), "malformed Fn::FindInMap")
    expr = source_repr(raw)
    args = [resolve(a, tpl, depth + 1) for a in arg[:3]]
    default = _MISSING
    if len(arg) == 4 and isinstance(arg[3], dict) and "DefaultValue" in arg[3]:
        default = resolve(arg[3]["DefaultValue"], tpl, depth + 1)

    def find(a: list) -> Any:
        mname, k1, k2 = a
        m = tpl.mappings.get(mname) if isinstance(mname, str) else None
        if not isinstance(m, dict):
            return Unknown(expr, "Fn::FindInMap of an unknown mapping")
        found: list = []
        missing = False
        for top in _map_lookup(m, k1):
            if top is _MISSING:
                missing = True
                continue
            if not isinstance(top, dict):
                continue
            for v in _map_lookup(top, k2):
                if v is _MISSING:
                    missing = True
                else:
                    found.append(v)
        if missing and default is not _MISSING:
            found.append(default)
        if not found:
            return Unknown(expr, "no such key in the mapping")
        vals = _dedupe([literal(v) for v in found])
        if len(vals) > MAX_OPTIONS:
            return Unknown(expr, "the mapping key is known at deployment")
        return choice_of(vals, expr, loc)

    return lift(args, find, expr, loc)


_MISSING = object()


def _map_lookup(m: dict, key: Any) -> list:
    """The entry for ``key``; every entry when the key is not known."""
    text = _scalar_text(key)
    if text is None or _partial(text):
        return list(m.values())
    if key in m and not isinstance(key, bool):
        return [m[key]]
    for k, v in m.items():
        if _scalar_text(k) == text:
            return [v]
    return [_MISSING]


def _to_json(arg: Any, raw: Any, tpl: Template, depth: int, loc: Location | None) -> Any:
    # Fn::ToJsonString (AWS::LanguageExtensions): the document itself; key
    # policies accept both and the structure keeps its lines
    return resolve(arg, tpl, depth + 1)


def _length(arg: Any, raw: Any, tpl: Template, depth: int, loc: Location | None) -> Any:
    v = resolve(arg, tpl, depth + 1)
    return lift(v, lambda x: len(x) if isinstance(x, list) else Unknown(source_repr(raw)), source_repr(raw), loc)


_HANDLERS: dict[str, Callable[..., Any]] = {
    "Fn::GetAtt": _getatt,
    "Fn::Sub": _sub,
    "Fn::Join": _join,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::FindInMap": _find_in_map,
    "Fn::ToJsonString": _to_json,
    "Fn::Length": _length,
}


__all__ = [
    "Template",
    "branch_template",
    "condition",
    "condition_parameters",
    "expand",
    "false_by_defaults",
    "get_att",
    "iam_arn",
    "opaque",
    "param_value",
    "ref",
    "resolve",
    "source_repr",
]
