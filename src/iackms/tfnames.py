"""Terraform argument names of the KMS key resources and the normalised
attribute names of the model, shared by the Terraform parser, the plan
parser and the Checkov adapter."""

#: Terraform argument -> normalised attribute name, for every key kind. The
#: key's enabled flag is `is_enabled` on aws_kms_key and `enabled` on replica
#: and external keys: see :data:`ENABLED`.
KEY_ATTRS = {
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


def enabled_argument(resource_type: str) -> str:
    """`is_enabled` on aws_kms_key, `enabled` on the replica and external keys."""
    return "is_enabled" if resource_type == "aws_kms_key" else "enabled"
