"""IKMS305 key-unfit-for-consumer: a resource uses a key of the wrong kind, or a disabled key."""

from __future__ import annotations

from typing import Any, Iterator

from ..consumer_table import trusted
from ..model import Consumer, Key
from ..vocab import DEFAULT_ON
from .base import Fail, Result, RuleMeta, Source, Unresolved, as_bool, describe, options, rule
from .consumers import CONSUMERS_DOC, key_name, region_of, spec_of
from .sources import SPEC_DOC


@rule(RuleMeta(
    id="IKMS305",
    name="key-unfit-for-consumer",
    title="A resource uses a key of the wrong kind, or a disabled key",
    severity="high",
    profiles=DEFAULT_ON,
    targets=("consumer",),
    what=(
        "Compares each resource's key (when the key is in the scan) with what the resource needs. A resource that "
        "encrypts data needs an enabled symmetric encryption key (`SYMMETRIC_DEFAULT`, `ENCRYPT_DECRYPT`): an "
        "asymmetric (RSA, ECC, SM2), HMAC or SIGN_VERIFY key is reported, and so is a key with `is_enabled = false` "
        "/ `Enabled: false`. A Route 53 key-signing key needs an enabled customer managed `ECC_NIST_P256` key with "
        "`key_usage = SIGN_VERIFY` in us-east-1: another spec or usage, an AWS managed key, or a Region the "
        "provider shows to be another is reported."
    ),
    why=(
        "AWS rejects these at deploy (EBS: 'does not support asymmetric KMS keys'; Route 53: 'InvalidKMSArn'), or, "
        "for a disabled key, the resource is created and every read and write then fails. The key's spec is "
        "fixed at creation, so the fix is a new key — better found before the first apply "
        "(hashicorp/terraform-provider-aws#21040 and #29778: the provider's own DNSSEC example was wrong)."
    ),
    sources=(
        SPEC_DOC,
        Source("Route 53: customer managed key requirements for DNSSEC", "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-configuring-dnssec-cmk-requirements.html"),
        Source("EC2 CreateVolume: 'Amazon EBS does not support asymmetric KMS keys'", "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVolume.html"),
        CONSUMERS_DOC,
    ),
    fix_tf=("Point the resource at a symmetric encryption key (leave `customer_master_key_spec` and `key_usage` at their "
            "defaults) that is enabled; for DNSSEC, a key with `customer_master_key_spec = \"ECC_NIST_P256\"` and "
            "`key_usage = \"SIGN_VERIFY\"` created by a provider for us-east-1."),
    fix_cfn=("Point the resource at an enabled `AWS::KMS::Key` with the default `KeySpec`/`KeyUsage`; for DNSSEC, "
             "`KeySpec: ECC_NIST_P256`, `KeyUsage: SIGN_VERIFY`, in a stack deployed to us-east-1."),
))
def key_unfit_for_consumer(c: Consumer, cfg) -> Iterator[Result]:
    spec = spec_of(c)
    if spec is None or not trusted(spec.verified) or c.superseded or not c.key_attr.present:
        return
    req = spec.key_requirements or {}
    where = c.key_attr.loc or c.loc
    for ref in c.refs:
        if ref.kind == "aws_managed" and req.get("customer_managed"):
            yield Fail(f"{c.address}: {key_name(c)} is the AWS managed key {ref.alias}; {spec.title} needs a customer managed key",
                       where, "customer_managed")
            continue
        if ref.kind != "key" or ref.key is None:
            continue
        key = ref.key
        rel = ((key.loc, key.address),)
        yield from _enabled(c, key, where, rel)
        if req.get("key_spec") or req.get("key_usage"):
            yield from _signing(c, key, req, where, rel)
        elif spec.encrypts_data and spec.needs_symmetric:
            yield from _symmetric(c, key, where, rel)


def _values(key: Key, name: str, default: Any) -> list[Any]:
    a = key.attr(name)
    if not a.present:
        return [default]
    return options(a)


def _enabled(c: Consumer, key: Key, where, rel) -> Iterator[Result]:
    a = key.attr("enabled")
    if not a.present:
        return
    vals = options(a)
    if any(as_bool(v) is False for v in vals):
        branch = "" if len(vals) == 1 else " in one branch"
        yield Fail(f"{c.address} uses {key.address}, which is disabled{branch} ({describe(key, 'enabled', False)}); every use of the key fails",
                   where, "enabled", related=rel)


def _symmetric(c: Consumer, key: Key, where, rel) -> Iterator[Result]:
    if key.is_replica:
        return  # its spec is the primary's
    for attr, want, needs, takes in _ENCRYPTING:
        for v in _values(key, attr, want):
            if not isinstance(v, str):
                yield Unresolved(f"cannot tell the {attr.replace('_', ' ')} of {key.address}, which {c.address} needs to be {needs}", where, attr)
                return
            if v != want:
                yield Fail(f"{c.address} ({key_name(c)}) uses {key.address}, whose {attr.replace('_', ' ')} is {v}; it encrypts data and "
                           f"{takes}", where, attr, related=rel)
                return


#: what a key that encrypts data must have: (attribute, value, said as needed, said as taken)
_ENCRYPTING = (
    ("key_spec", "SYMMETRIC_DEFAULT", "a symmetric encryption key", "takes only a symmetric encryption key (SYMMETRIC_DEFAULT)"),
    ("key_usage", "ENCRYPT_DECRYPT", "ENCRYPT_DECRYPT", "needs ENCRYPT_DECRYPT"),
)


def _signing(c: Consumer, key: Key, req: dict, where, rel) -> Iterator[Result]:
    specs = req.get("key_spec") or []
    usage_req = req.get("key_usage")
    bad: list[str] = []
    unknown = False
    if not key.is_replica:
        for v in _values(key, "key_spec", "SYMMETRIC_DEFAULT"):
            if not isinstance(v, str):
                unknown = True
            elif specs and v not in specs:
                bad.append(f"key spec {v} (needs {', '.join(specs)})")
                break
        for v in _values(key, "key_usage", "ENCRYPT_DECRYPT"):
            if not isinstance(v, str):
                unknown = True
            elif usage_req and v != usage_req:
                bad.append(f"key usage {v} (needs {usage_req})")
                break
    region = region_of(key)
    if req.get("region") == "us-east-1" and region is not None and region != "us-east-1":
        bad.append(f"Region {region} (needs us-east-1)")
    if bad:
        yield Fail(f"{c.address} ({key_name(c)}) uses {key.address}, which has {', and '.join(bad)}; a Route 53 key-signing "
                   f"key needs an ECC_NIST_P256 SIGN_VERIFY customer managed key in us-east-1", where, "ksk", related=rel)
    elif unknown:
        yield Unresolved(f"cannot tell the key spec or usage of {key.address}, which {c.address} needs to be ECC_NIST_P256 / SIGN_VERIFY", where, "ksk")
