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
        "default, a reference to another resource's attribute, an SSM parameter or dynamic reference, "
        "`Fn::ImportValue`, a Rain module that cannot be read. The message names the rule(s) that could not "
        "decide and the expression: one note per unresolved value, line and resource, naming every rule it "
        "blocks (`IKMS203, IKMS204, IKMS207 could not decide: ...`). No note is made where the verdict does "
        "not depend on the value (a wildcard pinned by `StringEquals aws:PrincipalOrgID` to an unresolved "
        "organization is not public, whatever the ID). Remote Terraform modules are listed in the summary "
        "(`N remote modules not scanned: ...`), not noted per call. A suppression of IKMS002 hides the note; "
        "a suppression of one of the rules it names takes that rule out of it (the note stays for the "
        "others). iackms never passes or fails a rule on a value it does not know. Informational: it never "
        "fails a run."
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
