"""IKMS306 customer-managed-key-not-used: a data store keeps data at rest without a customer managed key."""

from __future__ import annotations

from typing import Iterator

from ..consumer_table import result_label, short_title, trusted
from ..model import Consumer, KeyRef, display
from ..vocab import CMMC
from .base import Fail, Result, RuleMeta, Source, Unresolved, rule
from .consumers import CONSUMERS_DOC, spec_of
from .sources import KEY_MANAGEMENT, NIST_SC_10

#: results that say nothing about the store's own encryption (a flag the API
#: rejects, a key the API requires: other rules and the API report those)
_SKIP = {"rejected_by_api", "required", "not_applicable"}
#: results an account-level setting decides (EBS encryption by default and the account's default EBS
#: key, which is aws/ebs unless set; a volume made from an encrypted snapshot keeps its encryption):
#: whether the store uses a customer managed key is not in the configuration
_ACCOUNT_DECIDES = {"account_default_ebs": "the account's default EBS key, which is aws/ebs unless the account sets one",
                    "unencrypted_unless_account_default": "no encryption unless the account encrypts new volumes by default (or the volume comes from an encrypted snapshot)"}
#: rows whose ``omitted`` result is not verified (docs/consumers.md, "Still unverified"): that the
#: store is not encrypted with a key of the customer's holds whatever the service does, so only the
#: message stays neutral
_UNVERIFIED_OMITTED = {"eks-cluster-secrets": "the service's own encryption"}


@rule(RuleMeta(
    id="IKMS306",
    name="customer-managed-key-not-used",
    title="A data store keeps data at rest without a customer managed key",
    severity="medium",
    profiles=CMMC,
    targets=("consumer",),
    what=(
        "Flags each data store of the consumer table (S3 buckets, EBS volumes and launch-template or instance "
        "volumes, RDS instances and clusters, DynamoDB tables, log groups, trails, SNS topics, SQS queues, "
        "secrets, SSM SecureString parameters, Lambda environment variables, EKS secrets, Kinesis and Firehose "
        "streams, EFS, Redshift, ElastiCache, Backup vaults, ECR, OpenSearch, MSK, DocumentDB, Neptune, CodeBuild, "
        "SageMaker) that is not encrypted with a customer managed key: unencrypted, encryption switched off, the "
        "AWS owned key (DynamoDB's default, SSE-SQS, EKS's default) or an AWS managed key — named (`alias/aws/...`, "
        "also through `data.aws_kms_alias`) or used because the key is omitted. A key of the scan, or an alias "
        "name of the customer's, passes; a key that cannot be told (a variable, another stack's export) is an "
        "IKMS002 note. Severity low in the cmmc-l2 profile, medium in cmmc-l3 and strict."
    ),
    why=(
        "NIST SP 800-171 3.13.10 (CMMC SC.L2-3.13.10) asks you to establish and manage the keys that protect CUI. "
        "AWS owned and AWS managed keys are FIPS-validated but not yours to manage: you cannot write their "
        "policy, rotate, disable or schedule their deletion, or restrict them beyond 'any principal of the "
        "account allowed to use the service', so they give no key-management evidence. Peer checks miss most of "
        "this: they pass an omitted key or `alias/aws/<service>` written out, and several stores have no check "
        "at all (research section 2). No primary source makes customer managed keys mandatory at level 2, hence "
        "low there; level 3 and strict require them."
    ),
    sources=(
        NIST_SC_10,
        Source("AWS KMS: AWS owned, AWS managed and customer managed keys", "https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-mgmt"),
        CONSUMERS_DOC,
    ),
    fix_tf="Create an `aws_kms_key` (with rotation and a key policy) and pass its ARN: `kms_key_id = aws_kms_key.data.arn` (turn encryption on where a flag does: `storage_encrypted = true`, `sse_algorithm = \"aws:kms\"`).",
    fix_cfn="Create an `AWS::KMS::Key` and pass `!GetAtt DataKey.Arn` to the store's key property (with `StorageEncrypted: true`, `SSEAlgorithm: aws:kms` where a flag turns encryption on).",
    controls=KEY_MANAGEMENT,
    checkov=True,
    all_stores=True,
))
def customer_managed_key_not_used(c: Consumer, cfg) -> Iterator[Result]:
    spec = spec_of(c)
    if spec is None or not spec.data_store or not trusted(spec.verified) or c.superseded:
        return
    severity = "low" if cfg.profile == "cmmc-l2" else None
    where = c.key_loc
    n = len(c.refs)
    for ref in c.refs:
        branch = " (in one branch of a condition or for one instance)" if n > 1 else ""
        if ref.kind in ("omitted", "off") and ref.result in _ACCOUNT_DECIDES:
            yield Unresolved(f"cannot tell whether {c.address} ({short_title(spec.title)}) is encrypted with a customer managed key: "
                             f"it uses {_ACCOUNT_DECIDES[ref.result]} ({_why(ref, c)}), an account setting the scan does not show "
                             f"(an aws_ebs_default_kms_key in the same configuration decides it)", where, "cmk")
            continue
        bad = _not_customer(ref, c)
        if bad is None:
            if ref.kind in ("unknown",) or (ref.kind == "off" and ref.why) or (ref.kind == "external" and ref.customer is None):
                why = ref.why or "not known statically"
                what = ref.shown or c.key_attr.expr or c.key_name
                yield Unresolved(f"cannot tell whether {c.address} ({short_title(spec.title)}) is encrypted with a customer managed key: {what}: {why}",
                                 where, "cmk")
            continue
        if not bad:
            continue
        yield Fail(f"{c.address} ({short_title(spec.title)}) keeps data at rest {bad}{branch}, not with a customer managed key; "
                   f"NIST SP 800-171 3.13.10 asks for keys you establish and manage", where, "cmk", severity=severity)


def _not_customer(ref: KeyRef, c: Consumer) -> str | None:
    """What the store uses instead of a customer managed key; "" when it uses
    one, None when that cannot be told."""
    if ref.kind == "key":
        return ""
    if ref.kind == "external":
        return "" if ref.customer else None
    if ref.kind == "aws_managed":
        return f"with the AWS managed key {ref.alias}" + (f" ({c.key_name} = {ref.shown})" if ref.shown and ref.shown != ref.alias else "")
    if ref.kind in ("omitted", "off"):
        if not ref.result:
            return None
        if ref.result in _SKIP:
            return ""
        label = _UNVERIFIED_OMITTED.get(c.table_id) if ref.kind == "omitted" else None
        return f"with {label or result_label(ref.result)} ({_why(ref, c)})"
    return None


def _why(ref: KeyRef, c: Consumer) -> str:
    """The setting that gives the result: the flag as written, else the omitted key."""
    f = ref.flag
    if f is not None:
        name = c.off_name if f is c.off else c.enable_name
        return f"{name} = {display(f.value)}"
    if ref.kind == "off" and c.enable_name and not c.enable.present:
        return f"{c.enable_name} is not set"
    return f"{c.key_name} is not set"
