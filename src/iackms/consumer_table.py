"""The table of KMS consumers, service principals and delivery paths
(``data/consumers.json``, documented in docs/consumers.md), read once.

Parsers ask it which resource types and attributes take a key and which
attributes send data into another resource; the linker asks it which
consumer a reference can reach; rules ask it what a service needs. Nobody
else opens the file. Rows whose ``verified`` starts with ``no`` are kept
here (the docs render them) but :func:`trusted` says a rule must not decide
on them.

Imports only the model; parsers, the linker and rules all import it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from .model import Attr, Choice, Unknown, is_known, variants

SOURCES = ("terraform", "cloudformation")

#: results that mean "encrypted with a customer managed key" never hold for
#: these; the names are the table's (docs/consumers.md, *Results*)
NOT_KMS = ("unencrypted", "sse_s3", "unencrypted_unless_account_default", "rejected_by_api")


class Enable(NamedTuple):
    """The flag that switches KMS encryption on: on when its value (or
    ``default`` when absent) is one of ``kms_values``."""

    path: str
    kms_values: tuple
    default: Any
    default_basis: str = ""


class Off(NamedTuple):
    """A flag that turns encryption off entirely (``SqsManagedSseEnabled: false``)."""

    path: str
    equals: Any
    result: str


class Side(NamedTuple):
    """One source (Terraform or CloudFormation) of a consumer row."""

    type: str
    key_path: str
    key_forms: tuple[str, ...]
    key_forms_uncertain: tuple[str, ...]
    validation: str
    enable: Enable | None
    off: Off | None
    #: the entry applies only when one of these holds (None: always): ``{path, equals}``,
    #: ``{path, present: true}``, ``{path, absent: true}``, or ``{"all": [...]}`` of them
    applies_when: tuple[dict, ...] | None
    basis: str

    @property
    def key_name(self) -> str:
        """The key attribute as people write it: the last step of the path."""
        return self.key_path.rsplit(".", 1)[-1].replace("[]", "")


class ConsumerSpec(NamedTuple):
    id: str
    service: str
    title: str
    sides: dict  # source -> Side
    omitted: str
    disabled: str | None
    encrypts_data: bool
    data_store: bool
    needs_symmetric: bool
    key_requirements: dict | None
    service_needs: tuple[str, ...]
    doc: tuple[str, ...]
    verified: str

    def side(self, source: str) -> Side | None:
        return self.sides.get("cloudformation" if source == "cloudformation" else "terraform")


class Condition(NamedTuple):
    key: str  # lower-cased
    operators: tuple[str, ...]  # lower-cased
    value: str  # a template with {partition} {region} {account} {name} ...


class ServiceSpec(NamedTuple):
    id: str
    title: str
    principal_kind: str  # service | service_linked_role | iam_role
    principal: str  # the Service name or the AWS ARN template
    principal_region: str | None
    actions: tuple[str, ...]
    supported: tuple[Condition, ...]
    unsupported: tuple[str, ...]  # lower-cased condition keys
    grant: dict | None
    aws_managed_key_works: bool | None
    root_delegation_suffices: bool
    doc: tuple[str, ...]
    verified: str


class From(NamedTuple):
    """Where a delivery path starts in one source."""

    type: str
    paths: tuple[str, ...]
    #: conditions on the same resource: ``{path, equals}`` or ``{path, in, default}``, ``same_item``
    when: tuple[dict, ...]
    #: consumer ids the reference must resolve to (``target_is``)
    target_is: tuple[str, ...]


class PathSpec(NamedTuple):
    id: str
    title: str
    sides: dict  # source -> From
    to: tuple[str, ...]
    service: str | None
    destination_kms: str
    requires_key_arn: bool
    aws_managed_key_blocks: bool | None
    failure: str
    doc: tuple[str, ...]
    verified: str

    def side(self, source: str) -> From | None:
        return self.sides.get("cloudformation" if source == "cloudformation" else "terraform")


class Table(NamedTuple):
    consumers: dict  # id -> ConsumerSpec
    services: dict  # id -> ServiceSpec
    paths: dict  # id -> PathSpec
    aws_managed_aliases: dict  # alias -> entry (dict)

    def consumers_of(self, source: str, rtype: str) -> list[ConsumerSpec]:
        """The consumer rows of a resource type in a source (plan: Terraform)."""
        return _by_type(self, _side_name(source)).get(rtype, [])

    def paths_of(self, source: str, rtype: str) -> list[PathSpec]:
        return _paths_by_type(self, _side_name(source)).get(rtype, [])

    def types(self, source: str, data_stores_only: bool = False) -> frozenset[str]:
        """Every resource type of a source the table names (consumers and the
        resources delivery paths start from)."""
        side = _side_name(source)
        out = {t for t, rows in _by_type(self, side).items() if not data_stores_only or any(r.data_store for r in rows)}
        if not data_stores_only:
            out |= set(_paths_by_type(self, side))
        return frozenset(out)


def _side_name(source: str) -> str:
    return "cloudformation" if source == "cloudformation" else "terraform"


def trusted(verified: str) -> bool:
    """A row a rule may decide on: checked against a document (``yes``,
    ``corrected``, or ``partial`` for the parts a rule uses and that the row
    says were read). Rows marked ``no`` never decide a finding."""
    return not verified.strip().lower().startswith("no")


# --- loading -----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def table() -> Table:
    raw = orjson.loads((Path(__file__).parent / "data" / "consumers.json").read_bytes())
    consumers = {c["id"]: _consumer(c) for c in raw["consumers"]}
    services = {s["id"]: _service(s) for s in raw["services"]}
    paths = {p["id"]: _path(p) for p in raw["delivery_paths"]}
    aliases = {a["alias"]: a for a in raw["aws_managed_aliases"]}
    return Table(consumers, services, paths, aliases)


def _consumer(c: dict) -> ConsumerSpec:
    sides = {s: _side(c[s]) for s in SOURCES if c.get(s)}
    return ConsumerSpec(
        id=c["id"], service=c["service"], title=c["title"], sides=sides, omitted=c["omitted"], disabled=c["disabled"],
        encrypts_data=bool(c["encrypts_data"]), data_store=bool(c["data_store"]), needs_symmetric=bool(c["needs_symmetric"]),
        key_requirements=c["key_requirements"], service_needs=tuple(c["service_principal_needs"] or ()),
        doc=tuple(c["doc"]), verified=c["verified"],
    )


def _side(s: dict) -> Side:
    en = s.get("enable")
    off = s.get("off")
    aw = s.get("applies_when")
    return Side(
        type=s["type"], key_path=s["key_path"], key_forms=tuple(s["key_forms"]),
        key_forms_uncertain=tuple(s.get("key_forms_uncertain") or ()), validation=s.get("validation") or "none",
        enable=Enable(en["path"], tuple(en["kms_values"]), en.get("default"), en.get("default_basis") or "") if en else None,
        off=Off(off["path"], off["equals"], off["result"]) if off else None,
        applies_when=_applies_when(aw),
        basis=s.get("basis") or "",
    )


def _applies_when(aw: Any) -> tuple | None:
    """``applies_when`` as a tuple of alternatives (any holds), each a
    condition or a ``{"all": [...]}`` of conditions: a list is alternatives,
    ``{"all": [...]}`` one alternative needing every condition."""
    if not aw:
        return None
    return tuple(aw) if isinstance(aw, list) else (aw,)


def _service(s: dict) -> ServiceSpec:
    (kind_key, principal), = s["principal"].items()
    cond = s.get("conditions") or {}
    return ServiceSpec(
        id=s["id"], title=s["title"], principal_kind=s["principal_kind"], principal=principal,
        principal_region=s.get("principal_region"), actions=tuple(s["actions"]),
        supported=tuple(Condition(c["key"].lower(), tuple(o.lower() for o in c["operators"]), c["value"])
                        for c in cond.get("supported") or ()),
        unsupported=tuple(k.lower() for k in cond.get("unsupported") or ()),
        grant=s.get("grant"), aws_managed_key_works=s.get("aws_managed_key_works"),
        root_delegation_suffices=bool(s.get("root_delegation_suffices")), doc=tuple(s["doc"]), verified=s["verified"],
    )


def _path(p: dict) -> PathSpec:
    sides = {}
    for src in SOURCES:
        f = (p.get("from") or {}).get(src)
        if not f:
            continue
        when = tuple(w for w in f.get("when") or () if "target_is" not in w)
        target = tuple(w["target_is"] for w in f.get("when") or () if "target_is" in w)
        sides[src] = From(f["type"], tuple(f["path"]), when, target)
    return PathSpec(
        id=p["id"], title=p["title"], sides=sides, to=tuple(p["to"]), service=p.get("service"),
        destination_kms=p["destination_kms"], requires_key_arn=bool(p.get("requires_key_arn")),
        aws_managed_key_blocks=p.get("aws_managed_key_blocks"), failure=p["failure"], doc=tuple(p["doc"]),
        verified=p["verified"],
    )


_BY_TYPE: dict[str, dict[str, list[ConsumerSpec]]] = {}
_PATHS_BY_TYPE: dict[str, dict[str, list[PathSpec]]] = {}


def _by_type(t: Table, side: str) -> dict[str, list[ConsumerSpec]]:
    if side not in _BY_TYPE:
        out: dict[str, list[ConsumerSpec]] = {}
        for c in t.consumers.values():
            s = c.sides.get(side)
            if s is not None:
                out.setdefault(s.type, []).append(c)
        _BY_TYPE[side] = out
    return _BY_TYPE[side]


def _paths_by_type(t: Table, side: str) -> dict[str, list[PathSpec]]:
    if side not in _PATHS_BY_TYPE:
        out: dict[str, list[PathSpec]] = {}
        for p in t.paths.values():
            f = p.sides.get(side)
            if f is not None:
                out.setdefault(f.type, []).append(p)
        _PATHS_BY_TYPE[side] = out
    return _PATHS_BY_TYPE[side]


# --- what the results mean ----------------------------------------------------------------


def managed_alias(result: str) -> str | None:
    """``alias/aws/s3`` for ``aws_managed:alias/aws/s3``."""
    return result.split(":", 1)[1] if result.startswith("aws_managed:") else None


def short_title(title: str) -> str:
    """A row's title without its parenthetical: ``S3 bucket default encryption``."""
    return title.split(" (", 1)[0]


def is_aws_managed_alias(name: str) -> bool:
    """An alias AWS reserves for its managed keys (``alias/aws/...``): no
    customer can create one, so the key behind it is AWS managed."""
    return name.startswith("alias/aws/")


def result_label(result: str) -> str:
    """How a result reads in a message (an AWS managed key's alias only when
    the table's alias row is verified)."""
    alias = managed_alias(result)
    if alias:
        entry = table().aws_managed_aliases.get(alias)
        if entry is not None and trusted(entry.get("verified", "")):
            return f"the AWS managed key {alias}"
        return "an AWS managed key (the service's default key)"
    return {
        "unencrypted": "no encryption",
        "sse_s3": "S3 managed keys (SSE-S3)",
        "service_owned": "an AWS owned key",
        "service_default": "the service's default key (AWS owned or AWS managed)",
        "aws_managed": "an AWS managed key",
        "account_default_ebs": "the account's default EBS key",
        "unencrypted_unless_account_default": "no encryption unless the account's EBS encryption by default is on",
        "bucket_default": "the bucket's default encryption",
        "rejected_by_api": "a value the API rejects",
        "not_applicable": "no key",
        "required": "no key (the attribute is required)",
    }.get(result, result)


#: Terraform attribute of a KMS resource (or data source) -> the key form it gives
#: (an alias's ``target_key_id`` and a data source's ``key_id``/``name`` give back
#: what was written: the linker reads their form from that value)
TF_FORMS = {
    "key": {"arn": "arn", "id": "id", "key_id": "id"},
    "alias": {"arn": "alias_arn", "name": "alias_name", "id": "alias_name", "target_key_arn": "arn", "target_key_id": "id"},
    "data.aws_kms_key": {"arn": "arn", "id": "id"},
    "data.aws_kms_alias": {"arn": "alias_arn", "name": "alias_name", "target_key_arn": "arn", "target_key_id": "id"},
}
#: CloudFormation: (key or alias, Ref or GetAtt attribute) -> form
CFN_FORMS = {
    "key": {"Ref": "id", "Arn": "arn", "KeyId": "id"},
    "alias": {"Ref": "alias_name"},
}
FORM_LABELS = {"arn": "a key ARN", "id": "a key ID", "alias_name": "an alias name", "alias_arn": "an alias ARN"}




# --- comparing values with the table's ---------------------------------------------------------


def _norm(v: Any) -> Any:
    """true/"true"/"True" compare equal; other values as they are."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str) and v.strip().lower() in ("true", "false"):
        return v.strip().lower()
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)
    return v


def holds(attr: Attr | None, accepted: tuple | list, default: Any = None, has_default: bool = True) -> bool | None:
    """Whether an attribute's value (``default`` when not written) is one of
    ``accepted``: True, False, or None when it cannot be told (an unknown
    value, a condition that decides it, no default)."""
    if attr is None or not attr.present:
        if not has_default or default is None:
            return None
        return _norm(default) in [_norm(a) for a in accepted]
    verdicts = set()
    for v in variants(attr.value):
        if isinstance(v, (Unknown, Choice)) or (isinstance(v, str) and not is_known(v)):
            return None
        verdicts.add(_norm(v) in [_norm(a) for a in accepted])
    if len(verdicts) != 1:
        return None  # true in one branch of a condition, false in another
    return verdicts.pop()
