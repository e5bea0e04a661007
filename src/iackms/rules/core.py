"""Rules the engine itself emits: parse errors and unresolved values."""

from .base import RuleMeta, Source, register_meta

ALL_PROFILES = ("default", "cis", "cmmc-l2", "cmmc-l3")

IKMS001 = RuleMeta(
    id="IKMS001",
    name="parse-error",
    title="A Terraform, CloudFormation or plan file cannot be parsed",
    severity="high",
    profiles=ALL_PROFILES,
    scope="file",
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

IKMS002 = RuleMeta(
    id="IKMS002",
    name="unresolved-value",
    title="A value a rule needs cannot be known before deployment",
    severity="info",
    profiles=ALL_PROFILES,
    scope="file",
    what=(
        "Reports a value that a rule needs but that cannot be resolved statically: a variable without a "
        "default, a reference to another resource's attribute, an SSM parameter, `Fn::ImportValue`, a "
        "remote module. The message names the rule that could not decide and the expression. iackms never "
        "passes or fails a rule on a value it does not know. Informational: it never fails a run."
    ),
    why=(
        "Other scanners silently pass what they cannot read, which hides real problems. Listing what was "
        "not checked tells you where a manual review or a plan scan (`terraform show -json`) is needed."
    ),
    sources=(Source("terraform show -json", "https://developer.hashicorp.com/terraform/internals/json-format"),),
    fix_tf="Give the variable a default or a tfvars value, or scan the plan JSON (`terraform show -json plan.out > plan.json`).",
    fix_cfn="Give the parameter a `Default`, or accept the note after reviewing the value by hand.",
)

register_meta(IKMS001)
register_meta(IKMS002)
