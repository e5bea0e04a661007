"""The rule catalog. Importing this package registers every rule."""

from . import core, grants, key_config, key_policy  # noqa: F401  (registration)
from .base import REGISTRY, SEVERITIES, SEVERITY_RANK, Fail, Rule, RuleMeta, Unresolved

__all__ = ["REGISTRY", "SEVERITIES", "SEVERITY_RANK", "Fail", "Rule", "RuleMeta", "Unresolved", "profile_rules"]


def profile_rules(profile: str) -> set[str]:
    """The rule IDs on in a profile (strict: every rule)."""
    if profile == "strict":
        return set(REGISTRY)
    return {rid for rid, r in REGISTRY.items() if profile in r.meta.profiles}
