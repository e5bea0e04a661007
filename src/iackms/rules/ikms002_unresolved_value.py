"""IKMS002 unresolved-value: a value a rule needs cannot be known before deployment. The engine
emits it itself; no function of the catalog produces it."""

from ..vocab import ALL_PROFILES
from .base import RuleMeta, Source, register_meta

IKMS002 = RuleMeta(
    id="IKMS002",
    name="unresolved-value",
    title="A value a rule needs cannot be known before deployment",
    severity="info",
    profiles=ALL_PROFILES,
    targets=("file",),
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

register_meta(IKMS002, __name__)
