"""The rule catalog: one module per rule, ``ikms<nnn>_<name>.py``, each its
:class:`~iackms.rules.base.RuleMeta` and one function. Importing this package
registers every rule (adding a rule is adding its file)."""

from __future__ import annotations

import importlib
import pkgutil

from ..vocab import SEVERITIES, SEVERITY_RANK
from .base import REGISTRY, Fail, Rule, RuleMeta, Unresolved

for _m in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("ikms")):
    importlib.import_module(f"{__name__}.{_m}")

__all__ = ["REGISTRY", "SEVERITIES", "SEVERITY_RANK", "Fail", "Rule", "RuleMeta", "Unresolved", "profile_rules", "by_name", "resolve_rule"]


def profile_rules(profile: str) -> set[str]:
    """The rule IDs on in a profile (strict: every rule)."""
    if profile == "strict":
        return set(REGISTRY)
    return {rid for rid, r in REGISTRY.items() if profile in r.meta.profiles}


def resolve_rule(text: str) -> str | None:
    """A rule ID for an ID (any case) or a rule name (`public-principal`)."""
    rid = text.strip().upper()
    if rid in REGISTRY:
        return rid
    name = text.strip().lower()
    for k, r in REGISTRY.items():
        if r.meta.name == name:
            return k
    return None


def rules_for(target: str, enabled: set[str]) -> list[Rule]:
    """The enabled rules that judge resources of this kind, in ID order."""
    return [r for rid, r in sorted(REGISTRY.items()) if rid in enabled and r.check is not None and target in r.meta.targets]
