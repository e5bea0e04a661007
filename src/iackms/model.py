"""The common KMS model every parser produces and every rule reads.

Parsers (Terraform, CloudFormation, plan JSON) turn files into :class:`Key`,
:class:`Alias`, :class:`Grant` and :class:`CustomKeyStore` objects. Values are
plain Python values when they are known statically, :class:`Unknown` when they
are not, and :class:`Choice` when they depend on a condition that cannot be
decided statically (both branches are kept; rules judge the worse one).

Strings may be *partly* known: an unresolved piece inside a string is written
``UNK_OPEN + expression + UNK_CLOSE`` and "this account" (``AWS::AccountId``,
``data.aws_caller_identity.x.account_id``) is the single character
``THIS_ACCOUNT``. :func:`display` renders such strings for people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, NamedTuple

# --- partially known strings -------------------------------------------------

UNK_OPEN = "\ue000"
UNK_CLOSE = "\ue001"
THIS_ACCOUNT = "\ue002"
#: a known string of unknown value, e.g. AWS::Region; it is not "this account"
OPAQUE_OPEN = "\ue003"
OPAQUE_CLOSE = "\ue004"


def unknown_piece(expr: str) -> str:
    """The marker for an unresolved piece of a string."""
    return f"{UNK_OPEN}{expr}{UNK_CLOSE}"


def has_unknown(s: str) -> bool:
    return UNK_OPEN in s


_PIECE_RE = None


def split_arn(s: str, maxsplit: int = 5) -> list[str]:
    """``s.split(":", maxsplit)`` that keeps unresolved and opaque pieces
    whole (``${AWS::Region}`` holds colons of its own)."""
    import re

    global _PIECE_RE
    if _PIECE_RE is None:
        _PIECE_RE = re.compile(f"[{UNK_OPEN}{OPAQUE_OPEN}][^{UNK_CLOSE}{OPAQUE_CLOSE}]*[{UNK_CLOSE}{OPAQUE_CLOSE}]")
    if UNK_OPEN not in s and OPAQUE_OPEN not in s:
        return s.split(":", maxsplit)
    pieces: list[str] = []

    def mask(m: Any) -> str:
        pieces.append(m.group(0))
        return f"\0{len(pieces) - 1}\0"

    masked = _PIECE_RE.sub(mask, s)
    return [re.sub("\0(\\d+)\0", lambda m: pieces[int(m.group(1))], p) for p in masked.split(":", maxsplit)]


def display(value: Any) -> str:
    """Render a model value for a message, showing unresolved parts as ${...}."""
    if isinstance(value, Unknown):
        if value.expr.startswith("{{resolve:") and value.expr.endswith("}}"):
            return value.expr
        return "${" + value.expr + "}"
    if isinstance(value, Choice):
        return value.expr or " | ".join(display(o) for o in value.options)
    if isinstance(value, str):
        if "{{resolve:" in value:  # a CloudFormation dynamic reference reads as written
            value = value.replace(UNK_OPEN + "{{resolve:", "{{resolve:").replace("}}" + UNK_CLOSE, "}}")
        return (
            value.replace(UNK_OPEN, "${")
            .replace(UNK_CLOSE, "}")
            .replace(THIS_ACCOUNT, "<this account>")
            .replace(OPAQUE_OPEN, "${")
            .replace(OPAQUE_CLOSE, "}")
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(display(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {display(v)}" for k, v in value.items()) + "}"
    return str(value)


# --- locations ----------------------------------------------------------------


class Location(NamedTuple):
    """Where something is written. ``file`` is relative to the current
    directory with forward slashes; lines and columns are 1-based."""

    file: str
    line: int
    end_line: int
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class LDict(dict):
    """A dict that remembers where it was written (``loc``) and, for each key,
    where that key was written (``key_locs``)."""

    __slots__ = ("loc", "key_locs")

    def __init__(self, *args: Any, loc: Location | None = None, key_locs: dict | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.loc = loc
        self.key_locs = key_locs if key_locs is not None else {}


class LList(list):
    """A list that remembers where it was written."""

    __slots__ = ("loc",)

    def __init__(self, *args: Any, loc: Location | None = None):
        super().__init__(*args)
        self.loc = loc


def loc_of(value: Any, default: Location | None = None) -> Location | None:
    return getattr(value, "loc", None) or default


# --- unknown and conditional values ------------------------------------------


@dataclass(frozen=True)
class Unknown:
    """A value that cannot be known statically. ``expr`` is the source text;
    ``reason`` says why it is unknown, for people ("" when the expression says
    it all). ``ref`` is the address of the resource in the scan the value
    belongs to (``aws_kms_key.this`` for ``aws_kms_key.this.arn``), so a
    parser can link an alias, a grant or a key policy to its key. ``error``
    is true when evaluating the expression failed (Terraform would reject
    it; ``try()`` and ``can()`` skip such values)."""

    expr: str
    reason: str = ""
    ref: str | None = None
    error: bool = False
    #: with ``ref``: the attribute of that resource the value is (``arn``,
    #: ``key_id``; CloudFormation ``Ref`` or the ``Fn::GetAtt`` attribute), so
    #: the linker can tell a key ARN from a key ID
    attr: str | None = None

    def __bool__(self) -> bool:  # never silently truthy
        raise TypeError("truth value of Unknown is undefined; check isinstance first")


#: a :class:`Switch` over the instances of a static ``for_each``/``count``
INSTANCES = "instances"
#: a :class:`Switch` over a condition that cannot be decided statically
CONDITION = "condition"


@dataclass(frozen=True)
class Switch:
    """What several values can depend on together, so that they are chosen
    together: the instances of a static ``for_each``/``count`` (``kind``
    :data:`INSTANCES`; ``name`` the block's address without indexes, e.g.
    ``aws_kms_key.this`` or ``module.kms``; its keys are the index suffixes
    Terraform writes, ``["jwt"]`` or ``[0]``), or a condition that cannot
    be decided statically (``kind`` :data:`CONDITION`; ``name`` the condition
    as written, ``var.rotate`` or the CloudFormation condition ``IsProd``;
    ``scope`` the module it is written in, ``""`` for the root or a
    template; its keys are ``"true"`` and ``"false"``)."""

    kind: str
    name: str
    scope: str = ""

    def phrase(self, key: str) -> str:
        """``var.rotate is false`` (for a condition), ``aws_kms_key.this["jwt"]`` (for instances)."""
        if self.kind == INSTANCES:
            return f"{self.name}{key}"
        where = f" in {self.scope.rstrip('.')}" if self.scope else ""
        return f"{self.name} is {key}{where}"


@dataclass(frozen=True)
class Choice:
    """A value that is one of ``options`` depending on a condition that cannot
    be decided statically (Terraform ``c ? a : b``, CloudFormation ``Fn::If``)
    or on the instance of a static ``for_each``/``count``.

    ``on`` names what the choice depends on (a :class:`Switch`; None for a
    choice no other value is known to share), and ``labels`` holds, for
    each option, the keys of ``on`` that give it (``(("true",), ("false",))``
    for a condition, ``(('["a"]', '["c"]'), ('["b"]',))`` for instances).
    Two choices with the same ``on`` are one decision: a key is judged per
    combination of its switches (:func:`key_variants`), never mixing the
    options of different instances or branches. Rules that see a Choice
    check every option and report the worse."""

    options: tuple
    expr: str = ""
    loc: Location | None = None
    on: Switch | None = None
    labels: tuple = ()

    def keys(self) -> tuple:
        """Every key of ``on`` this choice covers, in order."""
        return tuple(k for ks in self.labels for k in ks)

    def pick(self, key: Any) -> Any:
        """The option for one key of ``on``."""
        for o, ks in zip(self.options, self.labels):
            if key in ks:
                return o
        raise KeyError(key)

    def label_of(self, option: Any) -> tuple:
        """The keys that give ``option`` (compared by identity, then equality)."""
        for o, ks in zip(self.options, self.labels):
            if o is option:
                return ks
        for o, ks in zip(self.options, self.labels):
            try:
                if o == option:
                    return ks
            except Exception:  # noqa: BLE001 - unusual values never compare
                continue
        return ()


def bound(options: list, keys: list, expr: str, loc: Location | None, on: Switch | None, same: Any) -> Any:
    """A Choice of ``options`` where ``options[i]`` is the value for
    ``keys[i]`` (one key, or a tuple of keys, per option) of switch ``on``;
    equal options (``same(a, b)``) are merged with their keys. The value
    itself when every option is the same."""
    uniq: list = []
    groups: list[list] = []
    for o, k in zip(options, keys):
        ks = k if isinstance(k, tuple) else (k,)
        for i, u in enumerate(uniq):
            if same(o, u):
                groups[i].extend(ks)
                break
        else:
            uniq.append(o)
            groups.append(list(ks))
    if len(uniq) == 1:
        return uniq[0]
    if on is None:
        return Choice(tuple(uniq), expr, loc)
    return Choice(tuple(uniq), expr, loc, on, tuple(tuple(g) for g in groups))


def split(c: Choice) -> list[tuple[Any, Any]]:
    """The ways to go through a Choice: ``(key or keys, option)`` pairs. For a
    choice on a switch, one pair per key (so that other choices on the same
    switch can be matched key by key); else one per option (key None)."""
    if c.on is None:
        return [(None, o) for o in c.options]
    return [(k, o) for o, ks in zip(c.options, c.labels) for k in ks]


# --- choosing one key per switch ----------------------------------------------------


def select(value: Any, sel: dict, depth: int = 0) -> Any:
    """``value`` with every Choice on a switch of ``sel`` (switch -> key)
    replaced by its option for that key, at any depth. ``REMOVE`` options are
    dropped from maps and lists. Parts that hold no such choice are returned
    as they are (not copied)."""
    if depth > 200:
        return value
    if isinstance(value, Choice):
        if value.on is not None and value.on in sel:
            try:
                return select(value.pick(sel[value.on]), sel, depth + 1)
            except KeyError:
                pass
        opts = tuple(select(o, sel, depth + 1) for o in value.options)
        if all(a is b for a, b in zip(opts, value.options)):
            return value
        return Choice(opts, value.expr, value.loc, value.on, value.labels)
    if isinstance(value, dict):
        new: dict = {}
        changed = False
        for k, v in value.items():
            nv = select(v, sel, depth + 1)
            changed = changed or nv is not v
            if nv is not REMOVE or v is REMOVE:
                new[k] = nv
        if not changed:
            return value
        d = value.__class__()
        d.update(new)
        _copy_meta(value, d, value)
        return d
    if isinstance(value, list):
        items = [select(v, sel, depth + 1) for v in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        out = value.__class__(x for x, orig in zip(items, value) if x is not REMOVE or orig is REMOVE)
        if isinstance(value, LList):
            out.loc = value.loc
        return out
    return value


def switches(values: Iterable[Any]) -> dict[Switch, list[tuple]]:
    """Every switch the values depend on (in the order first met) and, for
    each, the key groups of every choice on it."""
    out: dict[Switch, list[tuple]] = {}
    for value in values:
        for v in walk(value):
            if isinstance(v, Choice) and v.on is not None:
                out.setdefault(v.on, []).append(v.labels)
    return out


def classes(groupings: list[tuple]) -> list[tuple]:
    """The keys of one switch split into classes that every choice on it
    treats alike (the common refinement of their key groups), in order."""
    order: list = []
    sig: dict = {}
    for gi, labels in enumerate(groupings):
        for li, ks in enumerate(labels):
            for k in ks:
                if k not in sig:
                    sig[k] = {}
                    order.append(k)
                sig[k][gi] = li
    by_sig: dict = {}
    for k in order:
        s = tuple(sorted(sig[k].items()))
        by_sig.setdefault(s, []).append(k)
    return [tuple(ks) for ks in by_sig.values()]


@dataclass
class Variant:
    """One coherent way a key can be deployed: ``key`` holds plain values
    for every switch in ``chosen`` (switch -> the class of keys chosen: the
    instances that share these values, or one branch of a condition)."""

    key: "Key"
    chosen: dict


def key_variants(key: "Key", limit: int = 64) -> list[Variant] | None:
    """The key expanded into its coherent variants: one per combination of
    the switches its attributes and policy depend on (instances that agree
    on every value are one variant). ``[Variant(key, {})]`` when it depends
    on none; None when there would be more than ``limit`` variants (the
    caller then judges each attribute on its own)."""
    sw = switches([a.value for a in key.attrs.values()] + [key.policy.value])
    if not sw:
        return [Variant(key, {})]
    axes = [(s, classes(groups)) for s, groups in sw.items()]
    n = 1
    for _, cls in axes:
        n *= len(cls)
        if n > limit:
            return None
    combos: list[dict] = [{}]
    for s, cls in axes:
        combos = [{**c, s: ks} for c in combos for ks in cls]
    return [Variant(_pick_key(key, {s: ks[0] for s, ks in chosen.items()}), chosen) for chosen in combos]


def _pick_key(key: "Key", sel: dict) -> "Key":
    import copy

    vk = copy.copy(key)
    attrs: dict[str, Attr] = {}
    for name, a in key.attrs.items():
        v = select(a.value, sel)
        if v is REMOVE or (v is None and v is not a.value):
            continue  # AWS::NoValue or null in this branch: the argument is not set
        attrs[name] = a if v is a.value else Attr(v, a.loc, a.present, a.expr, a.origin)
    vk.attrs = attrs
    pv = select(key.policy.value, sel)
    if pv is REMOVE:
        vk.policy = Attr()
        vk.policies = []
    else:
        vk.policy = key.policy if pv is key.policy.value else Attr(pv, key.policy.loc, key.policy.present, key.policy.expr, key.policy.origin)
        vk.policies = [p for p in key.policies if p.holds(sel)]
    return vk


def variants(value: Any, limit: int = 16) -> list[Any]:
    """The concrete alternatives of a value: a Choice at any depth is expanded
    into its options (at most ``limit`` combinations; beyond that the
    remaining ones are left out). Choices on the same switch are expanded
    together: an option of one is never combined with another key's option
    of the other."""
    return [v for v, _ in variants_when(value, limit)]


def variants_when(value: Any, limit: int = 16) -> list[tuple[Any, dict]]:
    """:func:`variants` with, for each alternative, the keys of each switch
    it holds for (switch -> tuple of keys)."""
    out = _variants(value, limit, {})
    return out if out else [(value, {})]


def _narrow(when: dict, on: Switch | None, ks: tuple) -> dict | None:
    """``when`` further limited to keys ``ks`` of ``on``; None when nothing is left."""
    if on is None:
        return when
    have = when.get(on)
    keys = tuple(ks) if have is None else tuple(k for k in have if k in ks)
    if not keys:
        return None
    return {**when, on: keys}


def from_alternatives(pairs: list[tuple[Any, dict]], expr: str, loc: Location | None, same: Any) -> Any:
    """The value whose alternatives are ``pairs`` (value, where it holds:
    switch -> keys, as :func:`variants_when` gives them): a Choice on each
    switch, nested in the order the switches are met, down to a Choice
    of the alternatives that depend on no switch."""
    order: list[Switch] = []
    for _, w in pairs:
        for s in w:
            if s not in order:
                order.append(s)
    if not order:
        vals = [v for v, _ in pairs]
        return bound(vals, [None] * len(vals), expr, loc, None, same)
    s = order[0]
    universe: list = []
    for _, w in pairs:
        for k in w.get(s, ()):
            if k not in universe:
                universe.append(k)
    results = []
    for k in universe:
        sub = [(v, {x: ks for x, ks in w.items() if x != s}) for v, w in pairs if s not in w or k in w[s]]
        results.append(from_alternatives(sub, expr, loc, same))
    return bound(results, universe, expr, loc, s, same)


def _variants(value: Any, limit: int, when: dict) -> list[tuple[Any, dict]]:
    if isinstance(value, Choice):
        res: list[tuple[Any, dict]] = []
        labels = value.labels if value.on is not None else [()] * len(value.options)
        for opt, ks in zip(value.options, labels):
            w = _narrow(when, value.on, ks)
            if w is None:
                continue  # another choice on this switch already chose other keys
            for v in _variants(opt, limit, w):
                if len(res) >= limit:
                    return res
                res.append(v)
        return res
    if isinstance(value, dict):
        if not _contains_choice(value):
            return [(value, when)]
        combos: list[tuple[dict, dict]] = [(value.__class__(), when)]
        for k, v in value.items():
            new: list[tuple[dict, dict]] = []
            for c, cw in combos:
                for vv, vw in _variants(v, limit, cw):
                    if len(new) >= limit:
                        break
                    d = c.__class__(c)
                    _copy_meta(c, d, value)
                    if vv is not REMOVE or v is REMOVE:
                        d[k] = vv
                    new.append((d, vw))
            combos = new
        for c, _ in combos:
            _copy_meta(value, c, value)
        return combos
    if isinstance(value, list):
        if not _contains_choice(value):
            return [(value, when)]
        combos_l: list[tuple[list, dict]] = [(value.__class__(), when)]
        for item in value:
            new_l: list[tuple[list, dict]] = []
            for c, cw in combos_l:
                for vv, vw in _variants(item, limit, cw):
                    if len(new_l) >= limit:
                        break
                    d = value.__class__(c)
                    if vv is not REMOVE:
                        d.append(vv)
                    new_l.append((d, vw))
            combos_l = new_l
        for c, _ in combos_l:
            if isinstance(value, LList):
                c.loc = value.loc
        return combos_l
    return [(value, when)]


def _copy_meta(src: Any, dst: Any, orig: Any) -> None:
    if isinstance(orig, LDict):
        dst.loc = orig.loc
        dst.key_locs = orig.key_locs


def _contains_choice(value: Any, depth: int = 0) -> bool:
    if depth > 200:
        return False
    if isinstance(value, Choice):
        return True
    if isinstance(value, dict):
        return any(_contains_choice(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return any(_contains_choice(v, depth + 1) for v in value)
    return False


class _Remove:
    """``AWS::NoValue``: the property or list element is removed."""

    _inst = None

    def __new__(cls) -> "_Remove":
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return "REMOVE"


REMOVE = _Remove()


def is_known(value: Any) -> bool:
    """True when the value holds no Unknown and no Choice at any depth."""
    if isinstance(value, (Unknown, Choice)):
        return False
    if isinstance(value, str):
        return UNK_OPEN not in value
    if isinstance(value, dict):
        return all(is_known(v) for v in value.values())
    if isinstance(value, list):
        return all(is_known(v) for v in value)
    return True


# --- attributes ---------------------------------------------------------------


@dataclass
class Attr:
    """One attribute of a resource: its value, whether it was written at all,
    where it was written and the source expression (for messages).

    ``origin`` is where the value itself is written when the attribute only
    refers to it through a plain chain of references (a Terraform variable
    set by a module argument, a tfvars file or its default, a local; a
    CloudFormation ``!Ref`` to a parameter's ``Default``); None when the
    value is written at ``loc``. Findings about the attribute are reported at
    the origin, with ``loc`` as a related location."""

    value: Any = None
    loc: Location | None = None
    present: bool = False
    expr: str = ""
    origin: Location | None = None

    @property
    def known(self) -> bool:
        return is_known(self.value)


ABSENT = Attr()


# --- key policy ----------------------------------------------------------------


@dataclass
class Principal:
    """One principal of a statement, normalised.

    ``kind`` is the Principal map key (``AWS``, ``Service``, ``Federated``,
    ``CanonicalUser``) or ``*`` for the bare wildcard. ``ptype`` is one of
    ``wildcard``, ``root``, ``role``, ``user``, ``assumed-role``, ``service``,
    ``federated``, ``canonical``, ``other``, ``unknown`` or ``caller`` (the
    identity that runs Terraform, ``data.aws_caller_identity.x.arn``: a role,
    user or assumed role of this account, never its root). ``account`` is a
    12-digit ID, ``THIS_ACCOUNT`` or ``None`` when it cannot be known.
    """

    kind: str
    value: Any
    ptype: str
    account: str | None = None

    @property
    def wildcard(self) -> bool:
        return self.ptype == "wildcard"

    @property
    def is_root(self) -> bool:
        return self.ptype == "root"

    def __str__(self) -> str:
        v = self.value
        # `data.aws_caller_identity.x.arn` is kept as "an ARN of this account"; show what was written
        if isinstance(v, str) and v.startswith("arn:aws:iam::" + THIS_ACCOUNT + ":" + UNK_OPEN) and v.endswith(UNK_CLOSE) \
                and v.count(UNK_OPEN) == 1:
            written = "${" + v.split(UNK_OPEN, 1)[1][:-1] + "}"
            return f"the identity that runs Terraform ({written})" if self.ptype == "caller" else written
        return display(v)


@dataclass
class Statement:
    sid: str | None
    effect: Any  # "Allow" | "Deny" | Unknown | None when missing
    principals: list[Principal] | None  # None: no Principal element
    not_principals: list[Principal] | None
    actions: list[Any] | None  # lower-cased strings (or Unknown); None: no Action
    not_actions: list[Any] | None
    resources: list[Any] | None
    not_resources: list[Any] | None
    #: operator (lower-cased, as written e.g. "stringequals", "foranyvalue:stringlike")
    #: -> condition key (lower-cased) -> list of values
    conditions: dict[str, dict[str, list[Any]]]
    loc: Location
    index: int = 0
    raw: Any = None
    #: source expressions of parts that could not be resolved
    unknowns: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"statement '{display(self.sid)}'" if self.sid else f"statement #{self.index + 1}"


@dataclass
class Policy:
    """A key policy. ``source`` tells where it came from: ``inline``,
    ``aws_kms_key_policy``, ``policy_document``, ``file``, ``cloudformation``,
    ``plan``. ``errors`` are structural problems (IKMS210)."""

    statements: list[Statement]
    version: Any
    loc: Location
    source: str = "inline"
    errors: list[tuple[str, Location]] = field(default_factory=list)
    size: int | None = None
    raw: Any = None
    #: False when some statements could not be resolved statically
    complete: bool = True
    #: where the policy holds, when it depends on switches (instances,
    #: conditions): alternatives, each switch -> the keys it holds for;
    #: empty: everywhere
    when: list[dict] = field(default_factory=list)

    def holds(self, sel: dict) -> bool:
        """Whether this policy is the key's policy for the keys ``sel``
        (switch -> key) chooses."""
        if not self.when:
            return True
        return any(all(s not in sel or sel[s] in ks for s, ks in w.items()) for w in self.when)


# --- resources ------------------------------------------------------------------


@dataclass
class Suppression:
    rule_id: str
    reason: str
    loc: Location
    origin: str = "iackms"  # iackms | checkov | cfn_nag
    written_id: str = ""


@dataclass
class Resource:
    address: str
    resource_type: str
    loc: Location
    source: str  # terraform | cloudformation | plan
    attrs: dict[str, Attr] = field(default_factory=dict)
    suppressions: list[Suppression] = field(default_factory=list)
    #: the conditions under which the resource exists at all, when they are
    #: off with the defaults (``var.create_external is true``, ``UseHsm is
    #: true``): it is checked as it would be deployed with them on, and
    #: every finding says so
    exists_when: tuple[str, ...] = ()
    #: the branch it exists in opened some inputs (any value: a ``for_each``
    #: empty by default, a string switch): what cannot be known there comes
    #: from that opening, not from the code, and is not noted (IKMS002)
    opened: bool = False
    #: with the address, the resource's identity: the Terraform root module's
    #: directory, or the template or plan file (relative paths). Two roots
    #: calling one module give two resources of the same address.
    root: str = ""
    #: the module blocks that instantiate the resource's module, from the root
    #: down: (where the block is written, its module address)
    calls: tuple = ()

    def attr(self, name: str) -> Attr:
        return self.attrs.get(name, ABSENT)


@dataclass
class Alias(Resource):
    #: address of the key it targets, when that key is in the same scan
    target: str | None = None


@dataclass
class Grant(Resource):
    target: str | None = None
    #: the Key it targets, when that key is in the same scan (set by the engine)
    key: Any = None


@dataclass
class CustomKeyStore(Resource):
    pass


@dataclass
class Key(Resource):
    """A KMS key. ``kind`` is ``key``, ``replica``, ``external`` or
    ``replica_external``.

    Normalised attribute names (``attrs``), the same for every source:
    ``description``, ``key_spec``, ``key_usage``, ``origin``,
    ``custom_key_store_id``, ``multi_region``, ``enabled``, ``rotation``,
    ``rotation_period``, ``deletion_window``, ``bypass_lockout``, ``tags``,
    ``key_material`` (imported material written in code), ``primary_key``
    (replicas), ``deletion_protection`` (``prevent_destroy`` /
    ``DeletionPolicy: Retain``), ``valid_to``.
    """

    kind: str = "key"
    #: the key policy attribute as written (value is raw policy data, a JSON
    #: string, Unknown or Choice); ``policies`` holds its normalised variants
    policy: Attr = field(default_factory=Attr)
    policies: list[Policy] = field(default_factory=list)
    aliases: list[Alias] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    custom_key_store: CustomKeyStore | None = None
    #: ARNs/addresses of roles and users defined in the same configuration
    #: or template (they are principals of "this account")
    local_principals: set[str] = field(default_factory=set)

    @property
    def is_replica(self) -> bool:
        return self.kind in ("replica", "replica_external")

    @property
    def is_imported(self) -> bool:
        return self.kind in ("external", "replica_external")


# --- consumers: resources that use a key ----------------------------------------------


@dataclass
class KeyLookup(Resource):
    """A data source that looks a key up (``data.aws_kms_alias``,
    ``data.aws_kms_key``): ``attrs["name"]`` is what it looks up (an alias name
    or ARN, a key ID or ARN) when written. It tells a consumer whose key comes
    from it which key that is (``alias/aws/sns`` is AWS managed); no rule
    judges it."""


@dataclass
class KeyRef:
    """One possible value of a consumer's key, as the linker resolved it.

    ``kind``:

    - ``key``: a key of the scan (``key``), reached directly or through an alias (``via``);
    - ``aws_managed``: an AWS managed key (``alias`` is its ``alias/aws/...`` name);
    - ``external``: a key outside the scan (its policy is not known): a
      customer managed key when ``customer`` is True (an alias name of the
      customer's), else a literal key ID or ARN;
    - ``unknown``: the value cannot be known statically (``why``);
    - ``omitted``: no key is given while encryption is on: AWS uses the
      table's ``omitted`` result (``result``);
    - ``off``: encryption with KMS is off: the table's ``disabled`` or ``off``
      result (``result``), or unknown whether it is on (``result`` empty, ``why``).

    ``form`` is how the key is named (``arn``, ``id``, ``alias_name``,
    ``alias_arn``; None when that cannot be told); ``shown`` is the value as a
    message shows it."""

    kind: str
    form: str | None = None
    key: "Key | None" = None
    via: "Alias | None" = None
    alias: str | None = None
    customer: bool | None = None
    result: str = ""
    shown: str = ""
    why: str = ""
    #: the attribute that decided an ``off`` or ``omitted`` result (the enabling flag)
    flag: "Attr | None" = None
    #: the branch of switches off by default this value holds in (``var.x is true``), when the key
    #: attribute is followed with them turned on (``tf_module.with_branches``); empty for the default
    when: tuple[str, ...] = ()


@dataclass
class Consumer(Resource):
    """A resource attribute that takes a KMS key: one row (``table_id``) of
    the consumer table (``data/consumers.json``) on one resource, and on one
    element when the key sits in a list of blocks (``element``: ``[0]``).

    ``key_attr`` is the key as written (ABSENT when omitted), ``key_name`` its
    name as the source spells it; ``enable`` and ``off`` are the flags that
    switch KMS encryption on or off (ABSENT when not written); ``applies`` is
    False/None when the row applies only under a condition that does not hold
    or cannot be told (an SSM parameter's ``type``). ``facts`` are the other
    attributes the linker and the rules read: ``name`` (the resource's own
    name: a bucket, topic or log group name), ``bucket`` (the bucket an S3
    encryption configuration belongs to).

    Set by the linker: ``refs`` (what the key resolves to, one per variant),
    ``incoming`` (the delivery paths that send data into this resource) and
    ``superseded`` (an S3 bucket whose encryption a separate configuration
    resource decides)."""

    table_id: str = ""
    key_attr: Attr = field(default_factory=Attr)
    key_name: str = ""
    enable: Attr = field(default_factory=Attr)
    enable_name: str = ""
    off: Attr = field(default_factory=Attr)
    off_name: str = ""
    applies: bool | None = True
    element: str = ""
    #: a block on the way to the key is not written at all (CloudFormation's
    #: ``DeliveryStreamEncryptionConfigurationInput``): not even encryption is asked for
    container_absent: bool = False
    facts: dict[str, Attr] = field(default_factory=dict)
    refs: list[KeyRef] = field(default_factory=list)
    incoming: list["Delivery"] = field(default_factory=list)
    superseded: bool = False

    @property
    def key_loc(self) -> Location:
        """Where a finding about the key is reported: the key attribute, else
        the enabling flag, else the resource."""
        return self.key_attr.loc or self.enable.loc or self.loc


@dataclass
class Delivery(Resource):
    """A resource attribute that makes an AWS service send data into another
    resource (an alarm action, an EventBridge target, a log destination): one
    path (``path_id``) of the consumer table, for one reference (``dest``,
    written as ``dest_name``).

    ``holds`` says whether the path's conditions on the resource itself hold
    (True) or cannot be told (None); a path whose conditions are false is not
    created. ``facts`` holds other attributes rules read (the service-linked
    role of an Auto Scaling group). Set by the linker: ``targets``, the
    consumers the reference reaches (the encryption of the destination)."""

    path_id: str = ""
    dest: Attr = field(default_factory=Attr)
    dest_name: str = ""
    holds: bool | None = True
    why: str = ""
    facts: dict[str, Attr] = field(default_factory=dict)
    targets: list[Consumer] = field(default_factory=list)


@dataclass
class Note:
    """Something the scan wants the user to know that is not a rule finding
    (a remote module not fetched, a skipped resource): reported as IKMS002 or
    IKMS001 by the engine."""

    rule_id: str
    message: str
    loc: Location
    resource: str = ""
    resource_type: str = ""
    #: the resource's :attr:`Resource.root` when the note is about a resource
    root: str = ""


@dataclass
class RemoteModule:
    """A call of a module the scan cannot read (a registry or Git source):
    whatever keys it creates are not scanned. Listed in the report's summary,
    not as a finding per call."""

    source: str
    name: str  # the module block's name
    loc: Location


@dataclass
class ScanUnit:
    """What one parser returns for the files it was given."""

    keys: list[Key] = field(default_factory=list)
    aliases: list[Alias] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    stores: list[CustomKeyStore] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    remote_modules: list[RemoteModule] = field(default_factory=list)
    #: files read as Rain modules of a template (checked through that template only)
    module_files: set[str] = field(default_factory=set)
    #: YAML/JSON files read as a CloudFormation template or a plan
    documents: int = 0
    consumers: list[Consumer] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    lookups: list[KeyLookup] = field(default_factory=list)

    def resources(self) -> list[Resource]:
        """Every resource written in the files (keys, aliases, grants, key
        stores, consumers, delivery paths)."""
        return [*self.keys, *self.grants, *self.aliases, *self.stores, *self.consumers, *self.deliveries]

    def extend(self, other: "ScanUnit") -> None:
        self.documents += other.documents
        self.keys.extend(other.keys)
        self.aliases.extend(other.aliases)
        self.grants.extend(other.grants)
        self.stores.extend(other.stores)
        self.notes.extend(other.notes)
        self.remote_modules.extend(other.remote_modules)
        self.module_files |= other.module_files
        self.consumers.extend(other.consumers)
        self.deliveries.extend(other.deliveries)
        self.lookups.extend(other.lookups)


def walk(value: Any) -> Iterator[Any]:
    """Every value nested in ``value`` (depth first)."""
    stack = [value]
    while stack:
        v = stack.pop()
        yield v
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, Choice):
            stack.extend(v.options)
