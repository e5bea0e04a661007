"""The rule registry: each rule is its metadata and one pure function of the
model. The metadata is the single source for the CLI (`iackms rules`,
`iackms explain`), the generated docs, SARIF `help` and the Checkov checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, NamedTuple

from ..model import INSTANCES, Attr, Choice, Key, Location, Unknown, display, is_known, variants
from ..vocab import OPTIONS, SEVERITIES, TARGET_FILE, TARGETS, WRITTEN, Option


class Source(NamedTuple):
    label: str
    url: str


class Control(NamedTuple):
    """A control of a compliance framework a rule supports: a finding of the
    rule is evidence against it, and a clean run evidence for it (within what
    a static check can see). ``framework`` is ``CIS AWS Foundations``,
    ``NIST SP 800-171`` or ``CMMC``; ``versions`` says which versions of the
    framework number the control so (CIS renumbers between versions)."""

    framework: str
    id: str
    title: str = ""
    versions: str = ""

    def __str__(self) -> str:
        return f"{self.framework} {self.id}" + (f" ({self.versions})" if self.versions else "")

    @property
    def short(self) -> str:
        """`CIS 3.6`, `NIST 3.13.10`, `CMMC SC.L2-3.13.10`: for narrow columns."""
        return f"{self.framework.split()[0]} {self.id}"


@dataclass(frozen=True)
class RuleMeta:
    """Everything about a rule except its logic: the engine dispatches on it,
    and the CLI (`iackms rules`, `iackms explain`), the generated docs, SARIF
    `help` and the Checkov checks are written from it."""

    id: str
    name: str  # kebab-case, e.g. rotation-disabled
    title: str  # one line
    severity: str
    #: profiles the rule is on in (besides strict, which holds every rule)
    profiles: tuple[str, ...]
    what: str  # What it does
    why: str  # Why it matters
    #: what the rule judges (:data:`iackms.vocab.TARGETS`): the engine calls the
    #: rule for each resource of these kinds, and never otherwise
    targets: tuple[str, ...] = ("key",)
    #: the verdict depends on the key policy (a front end that cannot see the
    #: policy, such as a Checkov resource check, must not pass or fail it)
    needs_policy: bool = False
    sources: tuple[Source, ...] = ()
    #: the compliance controls the rule supports (CIS AWS Foundations, NIST SP
    #: 800-171, CMMC), as its sources cite them: `iackms rules`, the rule docs,
    #: SARIF tags and the inventory show them
    controls: tuple[Control, ...] = ()
    fix_tf: str = ""  # Terraform remediation (prose or a snippet)
    fix_cfn: str = ""  # CloudFormation remediation
    #: what ``iackms fix`` repairs of the rule's findings (empty: nothing); the
    #: rule's Fail carries the Fix itself
    autofix: str = ""
    #: configuration options the rule reads (:data:`iackms.vocab.OPTIONS`)
    options: tuple[Option, ...] = ()
    #: the rule judges data stores that mention no KMS at all (a table without a
    #: key): when it is on, the Terraform prescan keeps the directories holding one
    all_stores: bool = False
    #: IDs of other tools whose suppressions count for this rule
    checkov_ids: tuple[str, ...] = ()
    cfn_nag_ids: tuple[str, ...] = ()
    #: the rule applies to one resource and can run as a Checkov check
    checkov: bool = False
    cfn_applicable: bool = True
    cfn_note: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.id}: unknown severity {self.severity!r}")
        bad = [t for t in self.targets if t not in TARGETS]
        if bad:
            raise ValueError(f"{self.id}: unknown targets {bad}")
        for o in self.options:
            if OPTIONS.get(o.name) is not o:
                raise ValueError(f"{self.id}: option {o.name!r} is not declared in iackms.vocab.OPTIONS")

    @property
    def scope(self) -> str:
        """``file`` for the rules the engine emits itself, else ``resource``."""
        return TARGET_FILE if TARGET_FILE in self.targets else "resource"


class Fix(NamedTuple):
    """What resolves a :class:`Fail`, declared by the rule that reports it and
    applied by ``iackms fix`` (rules never edit files). ``kind``:

    - ``set``: give the attribute ``attr`` (a model name: ``rotation``,
      ``deletion_window``…) the value ``value``, adding it when it is unset;
    - ``remove``: remove the attribute ``attr``;
    - ``replace_reference``: in the attribute ``attr``, name the key
      ``value[0]`` (its address, or CloudFormation logical ID) by its
      attribute ``value[1]`` instead of its ID (``aws_kms_key.k.id`` ->
      ``aws_kms_key.k.arn``, ``!Ref Key`` -> ``!GetAtt Key.Arn``);
    - ``add_statement``: add the statement ``value`` (IAM JSON structure) to
      the key policy ``attr`` (``policy``), where it is a structure written
      in the scanned files (``jsonencode``, an ``aws_iam_policy_document``,
      a YAML or JSON ``KeyPolicy``).

    ``attr`` names an entry of the resource's ``attrs`` or an :class:`Attr`
    field of the resource (``policy``). ``on`` is the resource the fix edits
    when it is not the one the finding is about (a consumer's finding that
    is fixed in its key).

    The fixer edits only a literal written at the resource (or in its policy
    resource); a value that comes from a variable, a tfvars file, a module
    argument or a parameter is left alone, and the fixer says where it is
    set."""

    kind: str
    attr: str
    value: Any = None
    on: Any = None


#: the kinds of :class:`Fix` the fixer knows
FIX_KINDS = ("set", "remove", "replace_reference", "add_statement")


def set_attr(attr: str, value: Any) -> Fix:
    """Fix: the attribute set to ``value`` (added when unset)."""
    return Fix("set", attr, value)


def remove_attr(attr: str) -> Fix:
    """Fix: the attribute removed."""
    return Fix("remove", attr)


def add_statement(statement: dict, key: Any = None) -> Fix:
    """Fix: ``statement`` added to the key policy of ``key`` (the finding's
    own resource when None)."""
    return Fix("add_statement", "policy", statement, key)


def replace_reference(attr: str, key: str, to: str = "arn") -> Fix:
    """Fix: in ``attr``, the key ``key`` named by its ``to`` attribute (its
    ARN) instead of its ID."""
    return Fix("replace_reference", attr, (key, to))


class Fail(NamedTuple):
    """A rule's verdict that something is wrong, and what fixes it when the
    fix is unambiguous and local (``iackms fix``)."""

    message: str
    loc: Location | None = None
    #: stable identity for fingerprints (e.g. the statement's Sid or content)
    ident: str = ""
    #: this finding's severity when it differs from the rule's (e.g. another
    #: account given full control of a key); a severity set for the rule in the
    #: configuration still wins
    severity: str | None = None
    #: other places that belong to the finding, ``((location, what), ...)``:
    #: the key or key policy a consumer uses, the destination a delivery reaches
    related: tuple = ()
    #: the finding's fix, when it is unambiguous and local (``iackms fix``)
    fix: Fix | None = None


class Unresolved(NamedTuple):
    """The rule needed a value that is not known statically (IKMS002)."""

    message: str
    loc: Location | None = None
    ident: str = ""
    #: the unresolved value, said without the rule (`principal ${var.admins} of
    #: statement 'Admins'`): the engine merges the notes of every rule blocked by
    #: the same value on the same line of the same resource into one note
    value: str = ""


Result = Fail | Unresolved
Check = Callable[[Any, Any], Iterable[Result]]


@dataclass
class Rule:
    meta: RuleMeta
    check: Check | None = None
    #: the file that defines the rule (for the docs)
    path: Path | None = None

    @property
    def id(self) -> str:
        return self.meta.id


REGISTRY: dict[str, Rule] = {}


def _module_path(module: str) -> Path | None:
    import sys

    mod = sys.modules.get(module)
    f = getattr(mod, "__file__", None)
    return Path(f) if f else None


def rule(meta: RuleMeta) -> Callable[[Check], Check]:
    def deco(fn: Check) -> Check:
        if meta.id in REGISTRY:
            raise ValueError(f"duplicate rule {meta.id}")
        REGISTRY[meta.id] = Rule(meta, fn, _module_path(fn.__module__))
        return fn

    return deco


def register_meta(meta: RuleMeta, module: str) -> None:
    """A rule the engine emits itself (IKMS001, IKMS002)."""
    if meta.id in REGISTRY:
        raise ValueError(f"duplicate rule {meta.id}")
    REGISTRY[meta.id] = Rule(meta, None, _module_path(module))


# --- helpers shared by rules -------------------------------------------------


def as_bool(v: Any) -> bool | None:
    """True/False for booleans and the strings "true"/"false" (any case);
    None for anything else."""
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        s = v.strip().lower()
        if s == "true":
            return True
        if s == "false":
            return False
    return None


def as_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            return None
    return None


def as_str(v: Any) -> str | None:
    if isinstance(v, str) and is_known(v):
        return v
    return None


def options(attr: Attr) -> list[Any]:
    """The possible values of an attribute: one, or each branch of a condition."""
    if not attr.present:
        return [None]
    return variants(attr.value)


def is_unknown(v: Any) -> bool:
    return isinstance(v, (Unknown, Choice)) or (isinstance(v, str) and not is_known(v))


def where(attr: Attr, key: Key) -> Location:
    return attr.loc or key.loc


def shown(attr: Attr, limit: int = 160) -> str:
    """How an attribute's value is shown in a message: the source expression
    when it is not a plain literal, on one line and cut to ``limit``."""
    if isinstance(attr.value, Unknown):
        text = display(attr.value)
        why = attr.value.reason or ("error" if attr.value.error else "")
        if why:
            short = " ".join(text.split())
            short = short if len(short) <= 80 else short[:79] + "…"
            return f"{short}: {why}"
    elif attr.expr and not is_known(attr.value):
        text = attr.expr
    else:
        text = display(attr.value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def written(key: Key, name: str) -> str:
    """The attribute's name as the user wrote it in this source."""
    tf, cfn = WRITTEN.get(name, (name, name))
    if name == "enabled" and key.kind != "key" and key.source != "cloudformation":
        return "enabled"
    return cfn if key.source == "cloudformation" else tf


def describe(key: Key, name: str, value: Any = None) -> str:
    """`enable_key_rotation = false`, or `enable_key_rotation = var.rotate (false)`
    when the value comes from an expression."""
    attr = key.attr(name)
    label = written(key, name)
    if not attr.present:
        return f"{label} is not set"
    shown_v = display(value if value is not None else attr.value)
    expr = attr.expr.strip()
    if expr and expr != shown_v and expr.strip('"') != shown_v and not isinstance(attr.value, Choice):
        return f"{label} = {expr} ({shown_v})"
    if isinstance(attr.value, Choice):
        # a key judged per variant holds plain values; a Choice is left only
        # past the variant bound or where no switch is known: say which
        # instances or branch give the value, as precisely as is known
        c = attr.value
        keys = c.label_of(value) if c.on is not None and value is not None else ()
        if keys:
            if c.on.kind == INSTANCES:
                return f"{label} = {shown_v} for {', '.join(c.on.phrase(k) for k in keys)} (`{attr.expr}`)"
            return f"{label} = {shown_v} when {' or '.join(c.on.phrase(k) for k in keys)} (`{attr.expr}`)"
        if "each." in attr.expr or "count.index" in attr.expr:
            return f"{label} = {shown_v} for some instances (`{attr.expr}`)"
        return f"{label} = {shown_v} in one branch of `{attr.expr}`"
    return f"{label} = {shown_v}"


def check_flag(key: Key, name: str, bad: bool, failure: str, question: str, fix: Fix | None = None) -> Iterator[Fail | Unresolved]:
    """The usual test of a boolean setting: Fail (with ``fix``) when any
    branch of it is ``bad``, Unresolved when it cannot be known, nothing when
    it is unset."""
    attr = key.attr(name)
    if not attr.present:
        return
    vals = options(attr)
    if any(as_bool(o) is bad for o in vals):
        yield Fail(f"{key.address} {failure} ({describe(key, name, bad)})", where(attr, key), fix=fix)
    elif any(as_bool(o) is None for o in vals):
        yield Unresolved(f"cannot tell {question}: {shown(attr)}", where(attr, key))


def known_prefix(v: Any) -> str | None:
    """The part of a string value written before anything unresolved."""
    if not isinstance(v, str):
        return None
    return v.split("\ue000", 1)[0].split("\ue003", 1)[0]
