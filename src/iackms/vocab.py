"""The vocabulary every other module shares: severities, profiles, the
resource types of each source and the model's attribute names, and the
configuration options with their types and defaults.

This is the bottom floor: it imports nothing of the project, and nothing
here is restated elsewhere."""

from __future__ import annotations

from typing import Any, NamedTuple

# --- severities and profiles ------------------------------------------------------

SEVERITIES = ("critical", "high", "medium", "low", "info")
#: info 0 .. critical 4
SEVERITY_RANK = {s: i for i, s in enumerate(reversed(SEVERITIES))}
#: what `--fail-on` and `fail_on` accept (`info`: any finding but an IKMS002 note)
FAIL_ON = SEVERITIES

PROFILES = ("default", "cis", "cmmc-l2", "cmmc-l3", "strict")
#: profile groups a rule declares itself on in (`strict` holds every rule)
ALL_PROFILES = ("default", "cis", "cmmc-l2", "cmmc-l3")
DEFAULT_ON = ("default", "cmmc-l2", "cmmc-l3")
CIS_AND_DEFAULT = ("default", "cis", "cmmc-l2", "cmmc-l3")
CMMC = ("cmmc-l2", "cmmc-l3")
CMMC_L3 = ("cmmc-l3",)
STRICT_ONLY: tuple[str, ...] = ()

# --- the rules the engine emits itself ----------------------------------------------

#: a file that cannot be read or parsed
PARSE_ERROR = "IKMS001"
#: a value a rule needs is unknown before deployment (informational, never fails a run)
UNRESOLVED = "IKMS002"

#: the Checkov check of rule IKMS<nnn> is CKV_IACKMS_<nnn>
CHECKOV_PREFIX = "CKV_IACKMS_"


def checkov_id(rule_id: str) -> str:
    """The Checkov check ID of a rule (``IKMS101`` -> ``CKV_IACKMS_101``)."""
    return CHECKOV_PREFIX + rule_id[len("IKMS"):]


# --- what a rule judges ---------------------------------------------------------

#: a KMS key (`aws_kms_key`, `AWS::KMS::Key`, replicas, external keys)
TARGET_KEY = "key"
#: the policy of a key outside the scan (an `aws_kms_key_policy` whose key is not defined here)
TARGET_POLICY_ONLY = "policy_only"
TARGET_GRANT = "grant"
TARGET_STORE = "store"
#: a resource attribute that takes a KMS key (a log group's `kms_key_id`): a row of the consumer table
TARGET_CONSUMER = "consumer"
#: a resource attribute that makes a service send data into another resource (an alarm action)
TARGET_DELIVERY = "delivery"
#: a file (parse errors, notes): reported by the engine itself
TARGET_FILE = "file"
TARGETS = (TARGET_KEY, TARGET_POLICY_ONLY, TARGET_GRANT, TARGET_STORE, TARGET_CONSUMER, TARGET_DELIVERY, TARGET_FILE)

# --- files -----------------------------------------------------------------------------

#: Terraform and OpenTofu configuration files (longest suffix first)
TF_CONFIG_SUFFIXES = (".tf.json", ".tofu.json", ".tf", ".tofu")
#: OpenTofu reads ``x.tofu`` instead of ``x.tf`` in one directory (``x.tofu.json`` instead of ``x.tf.json``)
TOFU_REPLACES = {".tofu": ".tf", ".tofu.json": ".tf.json"}


def replaced_by_tofu(name: str, exists: Any) -> bool:
    """``x.tf`` (``x.tf.json``) when ``x.tofu`` (``x.tofu.json``) is in the
    same directory (``exists(name)`` tells, or ``name in exists`` for a set)."""
    for tofu, tf in TOFU_REPLACES.items():
        if name.endswith(tf):
            other = name[: -len(tf)] + tofu
            return other in exists if isinstance(exists, (set, frozenset, dict)) else bool(exists(other))
    return False


# --- resource types per source ------------------------------------------------------

#: Terraform (and plan) key resource type -> the model's key kind
TF_KEY_TYPES = {
    "aws_kms_key": "key",
    "aws_kms_replica_key": "replica",
    "aws_kms_external_key": "external",
    "aws_kms_replica_external_key": "replica_external",
}
TF_ALIAS = "aws_kms_alias"
TF_GRANT = "aws_kms_grant"
TF_STORE = "aws_kms_custom_key_store"
TF_KEY_POLICY = "aws_kms_key_policy"
#: every Terraform KMS resource type iackms reads
TF_KMS_TYPES = frozenset({*TF_KEY_TYPES, TF_ALIAS, TF_GRANT, TF_STORE, TF_KEY_POLICY})
#: Terraform resources whose ARNs are principals of "this account"
TF_PRINCIPAL_TYPES = ("aws_iam_role", "aws_iam_user")

#: CloudFormation key resource type -> the model's key kind
CFN_KEY_TYPES = {
    "AWS::KMS::Key": "key",
    "AWS::KMS::ReplicaKey": "replica",
}
CFN_ALIAS = "AWS::KMS::Alias"
CFN_PRINCIPAL_TYPES = ("AWS::IAM::Role", "AWS::IAM::User")

#: attributes of consumers and delivery sources that the linker and the consumer
#: rules read besides the key (resource type -> fact -> attribute): a resource's
#: own name (bucket names link log destinations; a log group's or trail's name is
#: in the encryption context the service sends), the bucket an S3 encryption
#: configuration belongs to, an Auto Scaling group's service-linked role
CONSUMER_FACTS: dict[str, dict[str, str]] = {
    "aws_s3_bucket": {"name": "bucket"},
    "aws_s3_bucket_server_side_encryption_configuration": {"bucket": "bucket"},
    "aws_cloudwatch_log_group": {"name": "name"},
    "aws_cloudtrail": {"name": "name"},
    "aws_sns_topic": {"name": "name"},
    "aws_sqs_queue": {"name": "name"},
    "aws_launch_template": {"name": "name"},
    "aws_autoscaling_group": {"role": "service_linked_role_arn"},
    "aws_route53_key_signing_key": {"zone": "hosted_zone_id"},
    "AWS::S3::Bucket": {"name": "BucketName"},
    "AWS::Logs::LogGroup": {"name": "LogGroupName"},
    "AWS::CloudTrail::Trail": {"name": "TrailName"},
    "AWS::SNS::Topic": {"name": "TopicName"},
    "AWS::SQS::Queue": {"name": "QueueName"},
    "AWS::EC2::LaunchTemplate": {"name": "LaunchTemplateName"},
    "AWS::AutoScaling::AutoScalingGroup": {"role": "ServiceLinkedRoleARN"},
    "AWS::Route53::KeySigningKey": {"zone": "HostedZoneId"},
}
#: Terraform data sources that look a key up (a consumer's key may come from one)
TF_KEY_LOOKUPS = ("aws_kms_alias", "aws_kms_key")

# --- the model's key attributes ---------------------------------------------------------

#: Terraform argument -> normalised attribute name, for every key kind. The
#: key's enabled flag is `is_enabled` on aws_kms_key and `enabled` on replica
#: and external keys: see :func:`tf_enabled_argument`.
TF_KEY_ATTRS = {
    "description": "description",
    "customer_master_key_spec": "key_spec",
    "key_spec": "key_spec",
    "key_usage": "key_usage",
    "custom_key_store_id": "custom_key_store_id",
    "multi_region": "multi_region",
    "enable_key_rotation": "rotation",
    "rotation_period_in_days": "rotation_period",
    "deletion_window_in_days": "deletion_window",
    "bypass_policy_lockout_safety_check": "bypass_lockout",
    "tags": "tags",
    "key_material_base64": "key_material",
    "valid_to": "valid_to",
    "primary_key_arn": "primary_key",
    "xks_key_id": "xks_key_id",
}

#: CloudFormation property -> normalised attribute name
CFN_KEY_PROPS = {
    "Description": "description",
    "KeySpec": "key_spec",
    "KeyUsage": "key_usage",
    "Origin": "origin",
    "MultiRegion": "multi_region",
    "Enabled": "enabled",
    "EnableKeyRotation": "rotation",
    "RotationPeriodInDays": "rotation_period",
    "PendingWindowInDays": "deletion_window",
    "BypassPolicyLockoutSafetyCheck": "bypass_lockout",
    "Tags": "tags",
    "PrimaryKeyArn": "primary_key",
}
CFN_ALIAS_PROPS = {"AliasName": "name", "TargetKeyId": "target_key"}

#: normalised attribute -> (Terraform name, CloudFormation name), as messages show them
WRITTEN = {
    "key_spec": ("customer_master_key_spec", "KeySpec"),
    "key_usage": ("key_usage", "KeyUsage"),
    "origin": ("origin", "Origin"),
    "custom_key_store_id": ("custom_key_store_id", "CustomKeyStoreId"),
    "multi_region": ("multi_region", "MultiRegion"),
    "enabled": ("is_enabled", "Enabled"),
    "rotation": ("enable_key_rotation", "EnableKeyRotation"),
    "rotation_period": ("rotation_period_in_days", "RotationPeriodInDays"),
    "deletion_window": ("deletion_window_in_days", "PendingWindowInDays"),
    "bypass_lockout": ("bypass_policy_lockout_safety_check", "BypassPolicyLockoutSafetyCheck"),
    "tags": ("tags", "Tags"),
    "deletion_protection": ("prevent_destroy", "DeletionPolicy"),
}


def tf_enabled_argument(resource_type: str) -> str:
    """`is_enabled` on aws_kms_key, `enabled` on the replica and external keys."""
    return "is_enabled" if resource_type == "aws_kms_key" else "enabled"


# --- configuration options -------------------------------------------------------------


class Option(NamedTuple):
    """One configuration key: its type (as people write it), its default
    and what it does. Rules name the options they read."""

    name: str
    type: str
    default: Any
    doc: str


CMMC_TAGS = ("DataClassification", "Environment", "Owner")
CMMC_ALIAS_PATTERN = r"^alias/cmmc-"

OPTIONS: dict[str, Option] = {o.name: o for o in (
    Option("profile", "one of " + ", ".join(PROFILES), "default", "the rule profile"),
    Option("enable", "list of rule IDs or names", [], "rules to turn on besides the profile's"),
    Option("disable", "list of rule IDs or names", [], "rules to turn off"),
    Option("severity", "map of rule ID or name to severity", {}, "severities that replace the rules' own"),
    Option("fail_on", "one of " + ", ".join(FAIL_ON), "low",
           "lowest severity that makes the exit code 1 (as `--fail-on`, which wins over it); `info` fails on any "
           "finding, but IKMS002 notes never fail a run"),
    Option("rotation_max_days", "integer, 90 to 2560", 365, "longest rotation period IKMS102 accepts"),
    Option("deletion_window_min_days", "integer, 7 to 30", 30, "shortest deletion window IKMS107 accepts"),
    Option("required_tags", "list of tag names", None,
           "tags IKMS110 requires (default: none; in cmmc and strict profiles " + ", ".join(CMMC_TAGS) + ")"),
    Option("alias_pattern", "regular expression", None,
           f"pattern IKMS111 requires alias names to match (default: none; in cmmc and strict profiles `{CMMC_ALIAS_PATTERN}`)"),
    Option("require_alias", "true or false", False, "IKMS111 also flags a key without any alias"),
    Option("trusted_accounts", "list of 12-digit account IDs", [],
           "accounts that count as home accounts besides the one the configuration shows (IKMS206, IKMS213)"),
    Option("custom_key_store_types", "list of AWS_CLOUDHSM, EXTERNAL_KEY_STORE", ["AWS_CLOUDHSM"],
           "custom key store types IKMS106 accepts"),
    Option("exclude", "list of glob patterns", [],
           "files and directories not scanned; patterns are relative to the configuration file's directory"),
    Option("baseline", "path of a baseline file", None,
           "report (and fail on) only the findings not recorded in this baseline (as `--baseline`; written by "
           "`iackms baseline`); relative to the configuration file's directory"),
)}
