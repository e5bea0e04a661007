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
from typing import Any, Iterator, NamedTuple

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

    def __bool__(self) -> bool:  # never silently truthy
        raise TypeError("truth value of Unknown is undefined; check isinstance first")


@dataclass(frozen=True)
class Choice:
    """A value that is one of ``options`` depending on a condition that cannot
    be decided statically (Terraform ``c ? a : b``, CloudFormation ``Fn::If``).
    Rules check every option and report the worse."""

    options: tuple
    expr: str = ""
    loc: Location | None = None


def variants(value: Any, limit: int = 16) -> list[Any]:
    """The concrete alternatives of a value: a Choice at any depth is expanded
    into its options (at most ``limit`` combinations; beyond that the remaining
    choices are left as Unknown)."""
    out = _variants(value, limit)
    return out if out else [value]


def _variants(value: Any, limit: int) -> list[Any]:
    if isinstance(value, Choice):
        res: list[Any] = []
        for opt in value.options:
            for v in _variants(opt, limit):
                if len(res) >= limit:
                    return res
                res.append(v)
        return res
    if isinstance(value, dict):
        if not _contains_choice(value):
            return [value]
        combos: list[dict] = [value.__class__()]
        for k, v in value.items():
            vs = _variants(v, limit)
            new: list[dict] = []
            for c in combos:
                for vv in vs:
                    if len(new) >= limit:
                        break
                    d = c.__class__(c)
                    _copy_meta(c, d, value)
                    d[k] = vv
                    new.append(d)
            combos = new
        for c in combos:
            _copy_meta(value, c, value)
        return combos
    if isinstance(value, list):
        if not _contains_choice(value):
            return [value]
        combos_l: list[list] = [value.__class__()]
        for item in value:
            vs = _variants(item, limit)
            new_l: list[list] = []
            for c in combos_l:
                for vv in vs:
                    if len(new_l) >= limit:
                        break
                    d = value.__class__(c)
                    if vv is not REMOVE:
                        d.append(vv)
                    new_l.append(d)
            combos_l = new_l
        for c in combos_l:
            if isinstance(value, LList):
                c.loc = value.loc
        return combos_l
    return [value]


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
    where it was written and the source expression (for messages)."""

    value: Any = None
    loc: Location | None = None
    present: bool = False
    expr: str = ""

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
    #: where the finding for this key is reported when it is not in a file the
    #: user asked about (pre-commit: the module block that instantiates it)
    report_loc: Location | None = None

    @property
    def is_replica(self) -> bool:
        return self.kind in ("replica", "replica_external")

    @property
    def is_imported(self) -> bool:
        return self.kind in ("external", "replica_external")


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

    def extend(self, other: "ScanUnit") -> None:
        self.keys.extend(other.keys)
        self.aliases.extend(other.aliases)
        self.grants.extend(other.grants)
        self.stores.extend(other.stores)
        self.notes.extend(other.notes)
        self.remote_modules.extend(other.remote_modules)
        self.module_files |= other.module_files


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
