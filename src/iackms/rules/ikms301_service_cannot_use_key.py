"""IKMS301 service-cannot-use-key: an AWS service must use a customer managed key that its key policy does not let it use."""

from __future__ import annotations

from typing import Iterator

import orjson

from .. import semantics as sem
from ..consumer_table import ServiceSpec, table, trusted
from ..model import Consumer, Delivery, KeyRef, Location
from ..vocab import DEFAULT_ON, OPTIONS
from .base import Fail, Result, RuleMeta, Source, Unresolved, add_statement, rule
from .consumers import (
    CONSUMERS_DOC,
    call_for,
    failure_text,
    key_label,
    key_name,
    known_name,
    path_of,
    principal_label,
    related_key,
    spec_of,
    statement_sid,
)
from .sources import DEFAULT_POLICY

#: rows of the table this rule does not decide on, and why (docs/consumers.md, "Still unverified")
NOT_DECIDED = {
    "composite-alarm-to-sns": "the principal composite alarms publish as is not documented separately",
    "eventbridge-dlq-to-sqs": "no EventBridge text on KMS for dead-letter queues was read",
    "cloudtrail-to-s3": "the key statement for a log bucket's default key (without an S3 Bucket Key) is not described",
    "config-delivery-to-s3": "AWS Config needs the service principal only when it records with its service-linked role",
    "config-delivery-to-sns": "AWS Config publishes with an IAM role, which the account-root statement can authorize",
    "config-to-s3": "AWS Config needs the service principal only when it records with its service-linked role",
}
#: paths where the service is documented but the silent failure is not
_SILENCE_UNDOCUMENTED = {"rds-event-subscription-to-sns"}


@rule(RuleMeta(
    id="IKMS301",
    name="service-cannot-use-key",
    title="An AWS service must use a customer managed key whose key policy does not let it",
    severity="high",
    profiles=DEFAULT_ON,
    targets=("consumer", "delivery"),
    needs_policy=True,
    what=(
        "Follows each resource that makes an AWS service use a customer managed key to that key's policy: a "
        "log group (`logs.<region>.amazonaws.com`), a CloudTrail trail or event data store (`cloudtrail.amazonaws.com`), "
        "a Route 53 key-signing key (`dnssec-route53.amazonaws.com`), and the delivery paths that write into an "
        "encrypted resource: CloudWatch alarm actions to an SNS topic (`cloudwatch.amazonaws.com`), EventBridge "
        "targets (`events.amazonaws.com`), S3 event notifications (`s3.amazonaws.com`), SNS subscriptions and "
        "dead-letter queues to SQS (`sns.amazonaws.com`), RDS event subscriptions (`events.rds.amazonaws.com`), VPC "
        "flow logs and NLB access logs to an SSE-KMS bucket (`delivery.logs.amazonaws.com`), and an Auto Scaling "
        "group whose launch template encrypts EBS volumes with the key (the `AWSServiceRoleForAutoScaling` "
        "service-linked role, which also needs `kms:CreateGrant`). The key policy must allow that principal "
        "every action the service documents, under the conditions the service sends, and no Deny may refuse it. A "
        "key missing from the service's requests is evaluated as IAM does: a service principal's requests carry no "
        "`aws:PrincipalOrgID`, `aws:PrincipalAccount`, `aws:PrincipalArn` or `aws:PrincipalTag/*`, so an Allow "
        "limited to an organization never reaches it, and a data-perimeter Deny (`StringNotEquals "
        "aws:PrincipalOrgID`) refuses it unless it exempts AWS services (`BoolIfExists aws:PrincipalIsAWSService "
        "false`). A condition the table does not know is reported as unknown. The "
        "account-root statement does not count: root delegation reaches IAM identities, not service principals "
        "or service-linked roles. A key without a key policy gets AWS's default one, which allows only the root."
    ),
    why=(
        "The failure shows up far from the cause. A CloudWatch alarm publishing to a topic its key policy does "
        "not open to `cloudwatch.amazonaws.com` goes to ALARM and notifies nobody; EventBridge targets and SNS "
        "to SQS subscriptions drop messages silently; flow logs stay ACTIVE and write nothing. Log groups, trails, "
        "S3 notifications and DNSSEC signing fail at deploy, often after part of the stack was created; Auto "
        "Scaling instances terminate right after launch. About 60 public issues report these (research scenarios "
        "A, C-H, J, K), e.g. aws/aws-cdk#11121 (alarms), hashicorp/terraform-provider-aws#29282 (log groups), "
        "aws/aws-cdk#3822 (CloudTrail), aws/aws-cdk#2504 (SNS to SQS), aws/aws-cdk#34491 (Auto Scaling), "
        "awslabs/landing-zone-accelerator-on-aws#1205 (flow logs), hashicorp/terraform-provider-aws#21040 (DNSSEC); "
        "no other static checker compares a resource with its key's policy."
    ),
    sources=(
        Source("CloudWatch Logs: encrypt log data with AWS KMS", "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html"),
        Source("CloudTrail: KMS key policy for CloudTrail", "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html"),
        Source("Amazon SNS: key management (event sources and encrypted topics)", "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"),
        Source("Amazon SNS: encrypted SQS subscriptions", "https://docs.aws.amazon.com/sns/latest/dg/sns-enable-encryption-for-topic-sqs-queue-subscriptions.html"),
        Source("Amazon S3: notification destinations encrypted with KMS", "https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html"),
        Source("EventBridge: troubleshooting encrypted targets", "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-troubleshooting.html"),
        Source("EC2 Auto Scaling: key policy for encrypted EBS volumes", "https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html"),
        Source("VPC flow logs to S3 with SSE-KMS", "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3.html"),
        Source("Route 53: customer managed key for DNSSEC", "https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/access-control-managing-permissions.html#KMS-key-policy-for-DNSSEC"),
        DEFAULT_POLICY,
        CONSUMERS_DOC,
    ),
    fix_tf=(
        "Add the statement the message prints to the key's policy (in `jsonencode`, a heredoc or an "
        "`aws_iam_policy_document` `statement` block), e.g. for alarms "
        '`{"Sid": "AllowCloudWatchAlarms", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"}, '
        '"Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"}`.'
    ),
    fix_cfn=(
        "Add the statement the message prints to the key's `KeyPolicy.Statement`, e.g. "
        "`- Sid: AllowCloudWatchAlarms, Effect: Allow, Principal: {Service: cloudwatch.amazonaws.com}, "
        "Action: [kms:GenerateDataKey*, kms:Decrypt], Resource: '*'`."
    ),
    autofix="`iackms fix` adds the missing statement, with the conditions the service documents, where the key policy is a structure written in the scanned files (`jsonencode`, an `aws_iam_policy_document`, an inline YAML or JSON `KeyPolicy`); a key without a policy, or a policy from a variable, a file or a module argument, is left to you with the statement to add.",
    options=(OPTIONS["trusted_accounts"],),
))
def service_cannot_use_key(res: Consumer | Delivery, cfg) -> Iterator[Result]:
    if isinstance(res, Consumer):
        yield from _consumer(res, cfg)
    else:
        yield from _delivery(res, cfg)


def _consumer(c: Consumer, cfg) -> Iterator[Result]:
    spec = spec_of(c)
    if spec is None or not spec.service_needs or not trusted(spec.verified) or c.superseded:
        return
    for sid in spec.service_needs:
        svc = table().services.get(sid)
        if svc is None or not trusted(svc.verified) or svc.root_delegation_suffices or sid in NOT_DECIDED:
            continue
        where = c.key_attr.loc or c.loc
        for ref in c.refs:
            what = f"{c.address} ({key_name(c)})"
            yield from _judge(ref, svc, c.source, cfg, where, what, "it fails at deploy", known_name(c), None, c)


def _delivery(d: Delivery, cfg) -> Iterator[Result]:
    p = path_of(d)
    if p is None or p.service is None or not trusted(p.verified) or d.path_id in NOT_DECIDED:
        return
    svc = table().services.get(p.service)
    if svc is None or not trusted(svc.verified) or svc.root_delegation_suffices:
        return
    if not d.targets:
        return
    where = d.dest.loc or d.loc
    role = None
    if svc.principal_kind == "service_linked_role":
        ra = d.facts.get("role")
        if ra is not None:
            rv = ra.value
            if isinstance(rv, str) and ":role/" in rv and "\ue000" not in rv.split(":role/", 1)[1]:
                role = rv.split(":role/", 1)[1]
            else:
                yield Unresolved(f"cannot tell which service-linked role {d.address} uses ({ra.expr or rv}), so whether the key policy lets it use the key",
                                 ra.loc or where, d.path_id)
                return
    fails = failure_text(p.failure, d.path_id not in _SILENCE_UNDOCUMENTED)
    if d.holds is None:
        encrypted = [t for t in d.targets if any(r.kind == "key" for r in t.refs)]
        if encrypted:
            yield Unresolved(f"{p.title}: {d.why or 'cannot tell whether the path applies'}", where, d.path_id)
        return
    for t in d.targets:
        for ref in t.refs:
            what = f"{d.address} ({d.dest_name}) sends into {t.address}, whose key"
            yield from _judge(ref, svc, d.source, cfg, where, what, fails, None, role, t, p.title)


def _judge(ref: KeyRef, svc: ServiceSpec, source: str, cfg, where: Location, what: str, fails: str, name: str | None,
           role: str | None, c: Consumer, title: str = "") -> Iterator[Result]:
    title = title or svc.title
    if ref.kind == "key" and ref.key is not None:
        key = ref.key
        if key.kind == "policy_only":
            return
        call = call_for(svc, key, name, role)
        grant = svc.grant.get("action") if svc.grant else None
        acc = sem.service_access(key, call, cfg.trusted_accounts, grant)
        who = principal_label(svc, call)
        if acc.allowed is False and acc.denied_by is not None:
            # a Deny refuses what the Allow statements give: another Allow statement would not help
            branch = " (in one branch of the key policy)" if acc.branch else ""
            if call.kind == "service":
                hint = ('exempt AWS services from that Deny: add "BoolIfExists": {"aws:PrincipalIsAWSService": "false"} '
                        "to its Condition (a service principal's requests carry aws:PrincipalIsAWSService true)")
            else:
                hint = f"narrow that Deny so that it does not refuse {who}"
            yield Fail(
                f"{title}: {what} is {key.address}, and its key policy{branch} refuses {who} {', '.join(acc.missing)}: "
                f"{acc.why}, so {fails}. To fix it, {hint}.",
                where, f"{svc.id}:{key.address}", related=related_key(ref) + _consumer_related(c, where))
        elif acc.allowed is False:
            # the service's statement, and the grant statement when a grant is missing too; the fix adds the
            # first (a fixed policy is scanned again, so the second follows in the next round)
            needed = [sem.service_statement(call, list(call.actions), source, statement_sid(svc))]
            if grant and grant in acc.missing:
                gs = sem.service_statement(call, [grant], source, statement_sid(svc) + "Grants", condition=svc.grant.get("condition"))
                needed = [gs] if set(acc.missing) == {grant} else needed + [gs]
            stmt = " and ".join(orjson.dumps(b).decode() for b in needed)
            missing = ", ".join(acc.missing)
            branch = " (in one branch of the key policy)" if acc.branch else ""
            because = f"; {acc.why}" if acc.why else ""
            yield Fail(
                f"{title}: {what} is {key.address}, and its key policy{branch} does not allow {who} {missing}{because} "
                f"(the account-root statement does not reach service principals or service-linked roles), so {fails}. "
                f"Add to the key policy: {stmt}",
                where, f"{svc.id}:{key.address}", related=related_key(ref) + _consumer_related(c, where),
                fix=add_statement(needed[0], key))
        elif acc.allowed is None:
            yield Unresolved(f"cannot tell whether the key policy of {key.address} lets {who} use the key ({title}): {acc.why or 'it depends on a value not known statically'}",
                             where, f"{svc.id}:{key.address}")
    elif ref.kind in ("external", "unknown"):
        yield Unresolved(f"cannot check that the key of {c.address} lets {principal_label(svc, call_for(svc, None, name, role))} use it ({title}): "
                         f"the key {key_label(ref)} is not known statically ({ref.why})" if ref.kind == "unknown" else
                         f"cannot check that the key of {c.address} lets {principal_label(svc, call_for(svc, None, name, role))} use it ({title}): "
                         f"{key_label(ref)}: {ref.why}", where, svc.id, value=key_label(ref))
    elif ref.kind == "off" and ref.why:
        yield Unresolved(f"cannot tell whether {c.address} is encrypted with a KMS key ({title}): {ref.why}", where, svc.id)


def _consumer_related(c: Consumer, where: Location) -> tuple:
    loc = c.key_attr.loc
    if loc is None or loc == where:
        return ()
    return ((loc, f"{c.address} {c.key_name}"),)
