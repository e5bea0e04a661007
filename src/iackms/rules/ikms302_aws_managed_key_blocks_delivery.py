"""IKMS302 aws-managed-key-blocks-delivery: a service must write into a resource encrypted with an AWS managed key, whose policy cannot let it."""

from __future__ import annotations

from typing import Iterator

from ..consumer_table import managed_alias, table, trusted
from ..model import Delivery
from ..vocab import DEFAULT_ON
from .base import Fail, Result, RuleMeta, Source, Unresolved, rule
from .consumers import CONSUMERS_DOC, failure_text, path_of, written_key

#: paths this rule does not decide on (docs/consumers.md, "Still unverified"); S3 server access
#: logs are IKMS304's (an unsupported destination whatever the key). Composite alarms are decided:
#: which service principal they publish as is not documented separately (IKMS301 leaves them), but
#: an AWS managed key's policy admits no service principal at all, so the name does not matter here
NOT_DECIDED = {
    "eventbridge-dlq-to-sqs": "no EventBridge text on KMS for dead-letter queues was read",
    "s3-server-access-logs": "reported by IKMS304",
    "s3-inline-server-access-logs": "reported by IKMS304",
}
_SILENCE_UNDOCUMENTED = {"rds-event-subscription-to-sns"}

_CMK = "a customer managed key whose policy allows the service"
#: what to use instead, per consumer and source
_FIX = {
    ("sqs-queue", "terraform"): f"{_CMK}, or SSE-SQS (`sqs_managed_sse_enabled = true`, no key)",
    ("sqs-queue", "cloudformation"): f"{_CMK}, or SSE-SQS (`SqsManagedSseEnabled: true`, no key)",
}


@rule(RuleMeta(
    id="IKMS302",
    name="aws-managed-key-blocks-delivery",
    title="A service must deliver into a resource encrypted with an AWS managed key, whose policy cannot let it",
    severity="high",
    profiles=DEFAULT_ON,
    targets=("delivery",),
    what=(
        "Flags a delivery path whose destination is encrypted with its AWS managed key: a CloudWatch alarm, an "
        "EventBridge rule, an S3 event notification or an RDS event subscription publishing to an SNS topic with "
        "`alias/aws/sns`; EventBridge, S3 notifications or an SNS subscription (or its dead-letter queue) sending "
        "to an SQS queue with `alias/aws/sqs`; VPC flow logs or NLB access logs written to a bucket whose default "
        "encryption uses `aws/s3` (written out, or `aws:kms` without a key). The key may be named by alias, alias "
        "ARN, or a `data.aws_kms_alias`/`data.aws_kms_key` lookup of such an alias."
    ),
    why=(
        "The service has to be allowed in the destination key's policy, and the policy of an AWS managed key can "
        "never be changed. So the delivery always fails: alarms go to ALARM and notify nobody, EventBridge counts "
        "FailedInvocations, SNS drops messages to the queue (`KMS.AccessDeniedException`), flow logs stay ACTIVE and "
        "write nothing, S3 rejects the notification configuration. Other scanners pass these resources — "
        "Checkov CKV_AWS_26, cfn_nag W47 and the Guard rule SNS_ENCRYPTED_KMS all accept `alias/aws/sns` — and "
        "users have switched to it to satisfy them (research scenarios D-G, K: about 40 public issues, e.g. "
        "ministryofjustice/opg-lpa#713, awslabs/landing-zone-accelerator-on-aws#407, aws/aws-cdk#19796, "
        "hashicorp/terraform-provider-aws#11219)."
    ),
    sources=(
        Source("Amazon SNS: key management (AWS managed keys and event sources)", "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"),
        Source("Amazon SQS: key management (compatibility with AWS services)", "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html"),
        Source("Amazon S3: notification destinations encrypted with KMS", "https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html"),
        Source("CloudWatch Logs: logs sent to S3 with SSE-KMS need a customer managed key", "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html"),
        Source("AWS re:Post: CloudWatch alarm does not notify an encrypted SNS topic", "https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger"),
        CONSUMERS_DOC,
    ),
    fix_tf=(
        "Encrypt the topic or queue with a customer managed key (`kms_master_key_id = aws_kms_key.x.arn`) whose policy "
        "allows the service (IKMS301 prints the statement); for a queue, `sqs_managed_sse_enabled = true` without a key "
        "also works. For a log bucket, name a customer managed key in `kms_master_key_id`."
    ),
    fix_cfn=(
        "Set `KmsMasterKeyId: !GetAtt Key.Arn` on the topic or queue with a key whose policy allows the service "
        "(for a queue, `SqsManagedSseEnabled: true` without a key also works). For a log bucket, name a customer "
        "managed key in `KMSMasterKeyID`."
    ),
))
def aws_managed_key_blocks_delivery(d: Delivery, cfg) -> Iterator[Result]:
    p = path_of(d)
    if p is None or not p.aws_managed_key_blocks or not trusted(p.verified) or d.path_id in NOT_DECIDED or d.holds is False:
        return
    svc = table().services.get(p.service or "")
    who = svc.principal if svc is not None and svc.principal_kind == "service" else "the service"
    where = d.dest.loc or d.loc
    fails = failure_text(p.failure, d.path_id not in _SILENCE_UNDOCUMENTED)
    for t in d.targets:
        for ref in t.refs:
            alias = None
            if ref.kind == "aws_managed":
                alias = ref.alias or "an AWS managed key"
                how = f"{t.key_name} = {written_key(t, ref)}"
            elif ref.kind == "omitted" and managed_alias(ref.result):
                alias = managed_alias(ref.result)
                how = f"{t.enable_name or 'encryption'} without a key"
            if alias is None:
                continue
            if d.holds is None:
                yield Unresolved(f"{p.title}: {t.address} is encrypted with {alias}; {d.why or 'cannot tell whether the path applies'}", where, d.path_id)
                continue
            fix = _FIX.get((t.table_id, "cloudformation" if t.source == "cloudformation" else "terraform"), _CMK)  # a plan is Terraform
            rel = ((t.key_attr.loc or t.enable.loc or t.loc, f"{t.address} {how}"),)
            if t.key_attr.origin is not None and t.key_attr.origin != t.key_attr.loc:
                rel += ((t.key_attr.origin, f"the value of {t.address} {t.key_name}"),)  # a tfvars line, a default
            yield Fail(
                f"{p.title}: {d.address} ({d.dest_name}) sends into {t.address}, which is encrypted with the AWS managed key "
                f"{alias} ({how}); {who} needs a statement in the key policy, and an AWS managed key's policy cannot be "
                f"changed, so {fails}. Use {fix}.",
                where, f"{d.path_id}:{t.address}", related=rel)
