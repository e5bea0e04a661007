"""IKMS303 key-reference-format: a key ID or alias is given where the attribute takes only a key ARN."""

from __future__ import annotations

from typing import Iterator

from ..consumer_table import FORM_LABELS, Side, trusted
from ..model import Consumer, KeyRef
from ..vocab import DEFAULT_ON
from .base import Fail, Fix, Result, RuleMeta, Source, replace_reference, rule
from .consumers import CONSUMERS_DOC, arn_fix, path_of, related_key, spec_of, written_key

#: delivery paths whose destination bucket must name its key by ARN, and what goes wrong otherwise
_ARN_FOR_DELIVERY = "log delivery needs the bucket's default-encryption key named by its key ARN: a key ID or alias gives 'LogDestination undeliverable'"


@rule(RuleMeta(
    id="IKMS303",
    name="key-reference-format",
    title="A key ID or alias is given where the attribute takes only a key ARN",
    severity="high",
    profiles=DEFAULT_ON,
    targets=("consumer",),
    what=(
        "Checks the form of each key reference against what that attribute accepts, decided per attribute from "
        "the provider's validation, the CloudFormation resource schema and the service API (docs/consumers.md), "
        "not per service. A key ID (`aws_kms_key.k.id`, `.key_id`, CloudFormation `!Ref Key`) or an alias is "
        "reported where only a key ARN works: a log group's `kms_key_id` / `KmsKeyId`, Lambda's `kms_key_arn` / "
        "`KmsKeyArn`, the Terraform `*_arn` key arguments and the others whose provider code checks ARN syntax "
        "(`aws_db_instance.kms_key_id`, `aws_dynamodb_table` `kms_key_arn`, EBS volumes, CloudTrail, EFS, MSK, "
        "Backup...), and the default-encryption key of a bucket that receives VPC flow logs. Where the same "
        "service takes an ID in one source it is not reported there: CloudFormation's DynamoDB `KMSMasterKeyId` "
        "takes an ID or alias, Terraform's `kms_key_arn` does not. Forms the documents neither list nor exclude "
        "(often an alias ARN) are never reported."
    ),
    why=(
        "The mistake survives review and fails late. Terraform cannot validate `aws_kms_key.k.id` while the key "
        "does not exist yet, so the first apply reaches AWS (CloudWatch Logs rejects it there) or succeeds and "
        "every later plan stops with 'expected kms_key_id to be a valid ARN'. CloudFormation rejects a log group "
        "with `KmsKeyId: !Ref Key` ('failed validation constraint for keyword [pattern]'). A flow-log bucket whose "
        "key is named by ID accepts the configuration and never receives a log (research scenario B: "
        "aws-cloudformation/cloudformation-resource-schema#119, ministryofjustice/modernisation-platform#2964 and #8091, "
        "govuk-one-login/life-events-platform#1761)."
    ),
    sources=(
        Source("CloudWatch Logs API: CreateLogGroup kmsKeyId (key ARN)", "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"),
        Source("AWS::Logs::LogGroup KmsKeyId", "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-logs-loggroup.html"),
        Source("aws-cloudformation/cloudformation-resource-schema#119 (log group KmsKeyId pattern)", "https://github.com/aws-cloudformation/cloudformation-resource-schema/issues/119"),
        Source("VPC flow logs to S3: a customer managed key ARN is required", "https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3.html"),
        Source("AWS::DynamoDB::Table SSESpecification KMSMasterKeyId (ID, ARN, alias)", "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-dynamodb-table-ssespecification.html"),
        CONSUMERS_DOC,
    ),
    fix_tf="Name the key by its ARN: `kms_key_id = aws_kms_key.k.arn` (not `.id` or `.key_id`), or the key ARN as a literal.",
    fix_cfn="Name the key by its ARN: `KmsKeyId: !GetAtt Key.Arn` (not `!Ref Key`, which is the key ID).",
    autofix="`iackms fix` names the key of the scan by its ARN where it is written by its ID (`aws_kms_key.k.id` or `.key_id` -> `.arn`, `!Ref Key` or `!GetAtt Key.KeyId` -> `!GetAtt Key.Arn`); an alias, a literal ID or a value from a variable is left to you.",
    checkov=True,
))
def key_reference_format(c: Consumer, cfg) -> Iterator[Result]:
    spec = spec_of(c)
    if spec is None or not trusted(spec.verified) or c.superseded:
        return
    side = spec.side(c.source)
    if side is None or not c.key_attr.present:
        return
    where = c.key_attr.loc or c.loc
    n = len(c.refs)
    for ref in c.refs:
        if ref.kind not in ("key", "aws_managed", "external", "unknown") or ref.form is None:
            continue
        branch = " (in one branch of a condition or for one instance)" if n > 1 else ""
        if ref.form not in side.key_forms and ref.form not in side.key_forms_uncertain:
            yield Fail(
                f"{c.address}: {c.key_name} takes {_accepted(side)}, and {written_key(c, ref)} is "
                f"{FORM_LABELS[ref.form]}{branch}; {_consequence(side, c.source, ref)}. Use {arn_fix(ref, c.source)}.",
                where, f"form:{c.key_name}", related=related_key(ref), fix=_by_arn(ref))
            continue
        if ref.form != "arn":
            for d in c.incoming:
                p = path_of(d)
                if p is None or not p.requires_key_arn or not trusted(p.verified) or d.holds is not True:
                    continue
                yield Fail(
                    f"{c.address}: {c.key_name} names the key by {FORM_LABELS[ref.form]} ({written_key(c, ref)}){branch}, "
                    f"but {d.address} delivers logs into this bucket ({p.title}), and {_ARN_FOR_DELIVERY}. Use {arn_fix(ref, c.source)}.",
                    where, f"form:{c.key_name}:{d.path_id}", related=(((d.dest.loc or d.loc), f"{d.address} {d.dest_name}"),) + related_key(ref),
                    fix=_by_arn(ref))
                break


def _by_arn(ref: KeyRef) -> Fix | None:
    """The fix when the key of the scan is named by its ID where it is written
    (``aws_kms_key.k.id``, ``!Ref Key``): the same key named by its ARN. An
    alias, a literal or a key reached another way is left to the user."""
    if ref.kind == "key" and ref.key is not None and ref.form == "id" and ref.via is None:
        return replace_reference("key_attr", ref.key.address, "arn")
    return None


def _accepted(side: Side) -> str:
    forms = [FORM_LABELS[f] for f in side.key_forms]
    if len(forms) == 1:
        return "only " + forms[0]
    return "only " + ", ".join(forms[:-1]) + " or " + forms[-1]


def _consequence(side: Side, source: str, ref: KeyRef) -> str:
    if source == "cloudformation":
        if side.validation.startswith("pattern:"):
            return "CloudFormation rejects it (the resource schema's pattern requires an ARN)"
        return "the service API rejects it at deploy"
    if side.validation == "arn_syntax":
        if ref.kind == "key" and ref.via is None and ref.form == "id":
            # the key's ID is unknown until the key exists: the provider cannot check it before then
            return ("the provider requires an ARN: the ID is unknown until the key exists, so the first plan passes, "
                    "then every later plan fails ('is an invalid ARN')")
        return "the provider requires an ARN, so the plan fails ('is an invalid ARN')"
    return "the provider does not check it, so the service API rejects it at apply"
