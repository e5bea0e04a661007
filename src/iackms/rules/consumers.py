"""What the consumer rules (IKMS301-IKMS306) share: the table rows behind a
consumer or a delivery path, the call a service makes, and how keys and
values read in messages."""

from __future__ import annotations

from typing import Any

from .. import semantics as sem
from ..consumer_table import ConsumerSpec, PathSpec, ServiceSpec, table
from ..model import THIS_ACCOUNT, Consumer, Delivery, Key, KeyRef, is_known
from .sources import Source

CONSUMERS_DOC = Source("iackms: the consumer table (what each resource, service and delivery path needs, with its evidence)",
                       "https://github.com/iackms/iackms/blob/main/docs/consumers.md")


def spec_of(c: Consumer) -> ConsumerSpec | None:
    return table().consumers.get(c.table_id)


def path_of(d: Delivery) -> PathSpec | None:
    return table().paths.get(d.path_id)


def key_name(c: Consumer) -> str:
    """The key attribute as written, with its element (``block_device_mappings[1].ebs.kms_key_id``)."""
    return f"{c.key_name} of {c.element}" if c.element else c.key_name


def written_key(c: Consumer, ref: KeyRef) -> str:
    """The key value as the user wrote it (``aws_kms_key.k.id``, ``!Ref Key``)
    when the attribute has one value, else the resolved value."""
    expr = " ".join((c.key_attr.expr or "").split())
    if len(c.refs) == 1 and expr and c.key_attr.origin is None:
        return expr if len(expr) <= 120 else expr[:119] + "…"
    shown = ref.shown
    if shown.startswith("${") and shown.endswith("}") and shown.count("${") == 1:
        shown = shown[2:-1]  # the value a module argument or variable passes (aws_kms_key.k.id)
    return shown


def key_label(ref: KeyRef) -> str:
    """How the key reads in a message."""
    if ref.key is not None:
        return ref.key.address
    if ref.alias:
        return ref.alias
    return ref.shown or "the key"


def related_key(ref: KeyRef) -> tuple:
    """The key policy (else the key) as a related location."""
    k = ref.key
    if k is None:
        return ()
    if k.policy.present and k.policy.loc is not None:
        return ((k.policy.loc, f"key policy of {k.address}"),)
    return ((k.loc, f"{k.address} (no key policy: the default one)"),)


def failure_text(failure: str, silent_documented: bool = True) -> str:
    if failure == "silent":
        return "delivery fails silently at runtime (nothing fails in the pipeline)" if silent_documented else "delivery fails at runtime"
    if failure == "launch":
        return "instances fail to launch (Client.InternalError) when the group scales out"
    return "it fails at deploy"


def principal_label(svc: ServiceSpec, call: sem.ServiceCall) -> str:
    if call.kind == "service":
        p = call.principal
        if "{region}" in p:
            p = p.replace("{region}", call.region or "<key Region>")
        return p
    return "the service-linked role " + call.principal.rsplit("/", 1)[-1]


def region_of(key: Key) -> str | None:
    r = key.attr("region").value
    return r if isinstance(r, str) and is_known(r) and "\ue003" not in r else None


def _fill(template: str, values: dict[str, Any]) -> tuple:
    """A condition value the service sends, as ARN parts (None: unknown;
    ``(prefix, None)``: known prefix, unknown rest; ``(prefix, None, suffix)``:
    an unknown piece between a known prefix and suffix, the Region of
    ``ec2.{region}.amazonaws.com``)."""
    if template.startswith("arn:"):
        parts = template.split(":", 5)
    else:
        parts = [template]
    out: list[Any] = []
    for p in parts:
        filled = p
        unknown = False
        for name, v in values.items():
            ph = "{" + name + "}"
            if ph in filled:
                if v is None:
                    unknown = True
                    head, rest = filled.split(ph, 1)
                    if rest and "{" not in rest and "*" not in rest and "*" not in head:
                        # a known prefix and suffix around an unknown piece (ec2.{region}.amazonaws.com)
                        out.append((head, None, rest))
                        filled = None
                        break
                    filled = head + "\0"
                    break
                filled = filled.replace(ph, v)
        if filled is None:
            continue
        if "*" in filled and not unknown:
            unknown = True
            filled = filled.split("*", 1)[0] + "\0"
        if unknown:
            prefix = filled.split("\0", 1)[0]
            out.append((prefix, None) if prefix else None)
        else:
            out.append(filled)
    return tuple(out)


def call_for(svc: ServiceSpec, key: Key | None, name: str | None = None, role: str | None = None) -> sem.ServiceCall:
    """The call a service of the table makes, with what is known filled in."""
    region = region_of(key) if key is not None else None
    values = {"partition": "aws", "account": THIS_ACCOUNT, "region": region, "name": name, "zone_id": None,
              "detector_id": None, "config_role_arn": None}
    supported = tuple((c.key, c.operators, _fill(c.value, values)) for c in svc.supported)
    if svc.principal_kind == "service":
        principal = svc.principal
    else:
        principal = role or svc.principal.split(":role/", 1)[-1]
    return sem.ServiceCall("service" if svc.principal_kind == "service" else "role", principal, svc.actions, region,
                           supported, svc.unsupported)


def known_name(c: Consumer) -> str | None:
    a = c.facts.get("name")
    v = a.value if a is not None else None
    return v if isinstance(v, str) and is_known(v) else None




def arn_fix(ref: KeyRef, source: str) -> str:
    """How to name the same key by its ARN."""
    k = ref.key
    if k is None:
        return "the key's ARN"
    if source == "cloudformation":
        return f"!GetAtt {k.address}.Arn"
    return f"{k.address}.arn"


def statement_sid(svc: ServiceSpec) -> str:
    """``AllowCloudwatchToSns`` for service ``cloudwatch-to-sns``."""
    return "Allow" + "".join(w.capitalize() for w in svc.id.replace("-", " ").split()[:4])









