"""IKMS001 parse-error: a Terraform, CloudFormation or plan file cannot be parsed. The engine
emits it itself; no function of the catalog produces it."""

from ..vocab import ALL_PROFILES
from .base import RuleMeta, Source, register_meta

IKMS001 = RuleMeta(
    id="IKMS001",
    name="parse-error",
    title="A Terraform, CloudFormation or plan file cannot be parsed",
    severity="high",
    profiles=ALL_PROFILES,
    targets=("file",),
    what=(
        "Reports a file that looks like Terraform, CloudFormation or a Terraform plan but cannot be read: "
        "a syntax error, text that is not UTF-8, a document over a documented limit (nesting depth, YAML "
        "alias expansion, `--max-file-size`). The finding carries the file and the line of the error. "
        "Every other file is still scanned."
    ),
    why=(
        "A file that cannot be parsed cannot be checked. Silently skipping it would let a broken, "
        "unchecked key definition through; reporting it keeps the scan honest."
    ),
    sources=(Source("Terraform configuration syntax", "https://developer.hashicorp.com/terraform/language/syntax/configuration"),
             Source("CloudFormation template anatomy", "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-anatomy.html")),
    fix_tf="Fix the syntax error at the reported line (`terraform validate` gives details).",
    fix_cfn="Fix the syntax error at the reported line (`cfn-lint` gives details).",
)

register_meta(IKMS001, __name__)
