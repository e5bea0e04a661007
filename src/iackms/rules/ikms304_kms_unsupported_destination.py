"""IKMS304 kms-unsupported-destination: logs go to a bucket whose default encryption is SSE-KMS, which that delivery cannot write."""

from __future__ import annotations

from typing import Iterator

from .. import semantics as sem
from ..consumer_table import table, trusted
from ..model import Consumer, Delivery, KeyRef
from ..vocab import DEFAULT_ON
from .base import Fail, Result, RuleMeta, Source, Unresolved, rule
from .consumers import CONSUMERS_DOC, call_for, key_label, path_of, related_key, written_key


@rule(RuleMeta(
    id="IKMS304",
    name="kms-unsupported-destination",
    title="Logs go to a bucket whose SSE-KMS default encryption that delivery cannot write",
    severity="high",
    profiles=DEFAULT_ON,
    targets=("delivery",),
    what=(
        "Flags Application and Classic Load Balancer access logs (`aws_lb`/`aws_elb` `access_logs`, "
        "`AWS::ElasticLoadBalancingV2::LoadBalancer` `access_logs.s3.bucket`, `AccessLoggingPolicy`) sent to a "
        "bucket whose default encryption is SSE-KMS (`aws:kms` or `aws:kms:dsse`, any key): AWS supports only "
        "SSE-S3 there. Also S3 server access logs (`aws_s3_bucket_logging`, `LoggingConfiguration`) sent to an "
        "SSE-KMS target bucket when both readings of the evidence agree it fails: the key is AWS managed "
        "(`aws/s3`), or it is a customer managed key whose policy gives `logging.s3.amazonaws.com` nothing. (The "
        "S3 guide says SSE-KMS is not supported for target buckets; aws-cdk reports that a customer managed key "
        "allowing the logging service works, so that case is not reported.) Network Load Balancer logs do support "
        "a customer managed key: IKMS301 checks its policy instead."
    ),
    why=(
        "The load balancer refuses to save the configuration ('Access Denied for bucket ... Please check S3bucket "
        "permission'), usually mid-apply; server access logs are silently not delivered. Scanners that require "
        "SSE-KMS on every bucket push users into this (research scenarios I and O: "
        "terraform-aws-modules/terraform-aws-alb#61, cloudposse/terraform-aws-lb-s3-bucket#9, aws/aws-cdk#21947)."
    ),
    sources=(
        Source("ALB: access logs (only SSE-S3 is supported)", "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html"),
        Source("CLB: access logs (only SSE-S3 is supported)", "https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/enable-access-logs.html"),
        Source("S3: server access logging (SSE-KMS on the target bucket)", "https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html"),
        Source("aws/aws-cdk#25350 (server access logs to a customer managed key)", "https://github.com/aws/aws-cdk/pull/25350"),
        CONSUMERS_DOC,
    ),
    fix_tf='Give the log bucket SSE-S3: `apply_server_side_encryption_by_default { sse_algorithm = "AES256" }`, or send the logs to a bucket that has it.',
    fix_cfn="Give the log bucket SSE-S3: `ServerSideEncryptionByDefault: {SSEAlgorithm: AES256}`, or send the logs to a bucket that has it.",
))
def kms_unsupported_destination(d: Delivery, cfg) -> Iterator[Result]:
    p = path_of(d)
    if p is None or p.destination_kms not in ("unsupported", "unsupported_contested") or d.holds is False:
        return
    contested = p.destination_kms == "unsupported_contested"
    if not contested and not trusted(p.verified):
        return
    where = d.dest.loc or d.loc
    for t in d.targets:
        for ref in t.refs:
            kms, how = _sse_kms(t, ref)
            if kms is None:
                if ref.kind == "off" and ref.why:
                    yield Unresolved(f"cannot tell whether {t.address} uses SSE-KMS ({p.title}): {ref.why}", where, d.path_id)
                continue
            if not kms:
                continue
            if contested and not _fails_anyway(ref, t, cfg):
                continue
            if d.holds is None:
                yield Unresolved(f"{p.title}: {t.address} uses SSE-KMS; {d.why or 'cannot tell whether the path applies'}", where, d.path_id)
                continue
            rel = ((t.key_attr.loc or t.enable.loc or t.loc, f"{t.address} {how}"),) + related_key(ref)
            if contested:
                msg = (f"{p.title}: {d.address} ({d.dest_name}) sends server access logs to {t.address}, whose default "
                       f"encryption is SSE-KMS with {key_label(ref) if ref.kind != 'omitted' else 'aws/s3'} ({how}); "
                       f"{_contested_reason(ref)}, so the logs are not delivered. Give the target bucket SSE-S3 (AES256).")
            else:
                msg = (f"{p.title}: {d.address} ({d.dest_name}) sends access logs to {t.address}, whose default "
                       f"encryption is SSE-KMS ({how}); the load balancer supports only SSE-S3 for its log bucket, so "
                       f"{'it fails at deploy' if p.failure == 'deploy' else 'the logs are not delivered'} ('Access Denied for bucket'). "
                       f"Give the log bucket SSE-S3 (AES256).")
            yield Fail(msg, where, f"{d.path_id}:{t.address}", related=rel)


def _sse_kms(t: Consumer, ref: KeyRef) -> tuple[bool | None, str]:
    """Whether the bucket's default encryption is SSE-KMS (None: unknown)."""
    if ref.kind == "off":
        return (None, "") if ref.why else (False, "")
    alg = t.enable
    algo = f"{t.enable_name} = {alg.value}" if alg.present and isinstance(alg.value, str) else "SSE-KMS"
    if ref.kind == "omitted":
        return True, f"{algo}, no key"
    return True, f"{algo}, {t.key_name} = {written_key(t, ref)}"


def _fails_anyway(ref: KeyRef, t: Consumer, cfg) -> bool:
    """Both readings agree server access logging fails: an AWS managed key, or
    a customer managed key of the scan whose policy gives the logging service nothing."""
    if ref.kind in ("aws_managed", "omitted"):
        return True
    if ref.kind != "key" or ref.key is None:
        return False
    svc = table().services.get("s3-server-access-logging")
    if svc is None:
        return False
    call = call_for(svc, ref.key)
    if not ref.key.policy.present:
        return True
    for entry in call.actions:
        acc = sem.service_access(ref.key, sem.ServiceCall(call.kind, call.principal, (entry,), call.region), cfg.trusted_accounts)
        if acc.allowed is not False:
            return False  # the logging service is allowed something (or may be): the contested case
    return True


def _contested_reason(ref: KeyRef) -> str:
    if ref.kind in ("aws_managed", "omitted"):
        return "S3 does not support SSE-KMS on a server-access-log target, and an AWS managed key's policy cannot allow logging.s3.amazonaws.com either"
    if ref.key is not None and not ref.key.policy.present:
        return "S3 does not support SSE-KMS on a server-access-log target, and the key has no policy that could allow logging.s3.amazonaws.com"
    return "S3 does not support SSE-KMS on a server-access-log target, and the key policy gives logging.s3.amazonaws.com nothing"
