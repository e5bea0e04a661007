"""The Checkov front end: the iackms rules as Checkov external checks
``CKV_IACKMS_<nnn>``, answered by the engine.

A check never judges what Checkov shows it. It finds where the resource is
written (:mod:`iackms.parsers.checkov_resource`), has the engine scan what
``iackms scan`` would scan for the same Checkov run (Checkov's root folder, or
its ``-f`` files; once per process, with the configuration found the same way
as the CLI finds it) and answers from that resource's findings:

========  ==================================================================
FAILED    iackms reports IKMS<nnn> on the resource
SKIPPED   iackms reports it, but a suppression on the resource silences it
UNKNOWN   iackms reports IKMS002 about IKMS<nnn> on it (it cannot decide);
          the rule is off in the configuration; the resource is not in what
          iackms read; or the resource cannot be located (warned once)
PASSED    none of these
========  ==================================================================

Imported only by the loader ``iackms/checkov_checks/iackms_kms_checks.py``
(run by Checkov); iackms itself never imports Checkov."""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from .config import Config, ConfigError, for_path
from .consumer_table import table
from .engine import enabled_rules, scan
from .findings import Finding
from .parsers.checkov_resource import CLOUDFORMATION, TERRAFORM, Located, locate, runner_scope
from .rules import REGISTRY
from .vocab import (CFN_KEY_TYPES, TARGET_CONSUMER, TARGET_KEY, TARGET_POLICY_ONLY, TARGET_STORE, TF_KEY_POLICY, TF_KEY_TYPES,
                    TF_STORE, UNRESOLVED, checkov_id)


def _consumer_types(source: str) -> tuple[str, ...]:
    """Every resource type that takes a KMS key in the consumer table."""
    t = table()
    return tuple(sorted({c.sides[source].type for c in t.consumers.values() if source in c.sides}))


#: the resource types Checkov shows a check, for each kind of resource a rule judges
#: (delivery paths need two resources: no rule judging them is a Checkov check)
TYPES = {
    TERRAFORM: {TARGET_KEY: tuple(TF_KEY_TYPES), TARGET_POLICY_ONLY: (TF_KEY_POLICY,), TARGET_STORE: (TF_STORE,),
                TARGET_CONSUMER: _consumer_types(TERRAFORM)},
    CLOUDFORMATION: {TARGET_KEY: tuple(CFN_KEY_TYPES), TARGET_CONSUMER: _consumer_types(CLOUDFORMATION)},
}
FAILED, PASSED, SKIPPED, UNKNOWN = "FAILED", "PASSED", "SKIPPED", "UNKNOWN"


def supported_types(rule_id: str, framework: str) -> tuple[str, ...]:
    """The resource types the Checkov check of a rule runs on in a framework
    (none: no check there). Rules that are not Checkov checks, and rules that
    do not exist for CloudFormation, have none."""
    meta = REGISTRY[rule_id].meta
    if not meta.checkov or (framework == CLOUDFORMATION and not meta.cfn_applicable):
        return ()
    return tuple(t for target in meta.targets for t in TYPES[framework].get(target, ()))


# --- the scans ------------------------------------------------------------------------


@dataclass
class Scan:
    """One engine scan, indexed by resource."""

    #: the rules on in the configuration
    enabled: set[str] = field(default_factory=set)
    #: (name, real path of the file declaring it) of every resource judged
    resources: set[tuple[str, str]] = field(default_factory=set)
    findings: dict[tuple[str, str], list[Finding]] = field(default_factory=dict)
    suppressed: dict[tuple[str, str], list[Finding]] = field(default_factory=dict)
    #: why nothing can be answered (a configuration error)
    error: str = ""


_scans: dict[tuple[str, ...], Scan] = {}
_lock = threading.Lock()
_told: set[str] = set()


def warn_once(message: str) -> None:
    if message not in _told:
        _told.add(message)
        print(f"iackms checks for Checkov: {message}", file=sys.stderr, flush=True)


def configuration(paths: tuple[str, ...]) -> Config:
    """The configuration `iackms scan PATHS` uses. Raises ConfigError."""
    return for_path(Path(paths[0]))


def scan_of(paths: tuple[str, ...]) -> Scan:
    """The engine's scan of ``paths``, made once per process (Checkov runs its
    runners in threads on Windows and macOS: one scan, never a half-made one)."""
    with _lock:
        if paths not in _scans:
            _scans[paths] = _scan(paths)
        return _scans[paths]


def _scan(paths: tuple[str, ...]) -> Scan:
    s = Scan()
    try:
        cfg = configuration(paths)
    except ConfigError as e:
        s.error = str(e)
        return s
    s.enabled = enabled_rules(cfg)
    # undecided rules must answer UNKNOWN, never PASSED, even where IKMS002 is not reported
    asked = replace(cfg, enable=cfg.enable | {UNRESOLVED}, disable=cfg.disable - {UNRESOLVED})
    report = scan(list(paths), asked)
    real: dict[str, str] = {}

    def where(file: str) -> str:
        if file not in real:
            real[file] = os.path.realpath(file)
        return real[file]

    s.resources = {(name, where(file)) for name, file in report.resources}
    for into, found in ((s.findings, report.findings), (s.suppressed, report.suppressed)):
        for f in found:
            into.setdefault((f.resource, where(f.resource_file)), []).append(f)
    return s


def answer(rule_id: str, at: Located) -> tuple[str, list[str]]:
    """Checkov's result for a rule on a located resource, and the details
    that explain it (iackms's messages)."""
    s = scan_of(at.paths)
    if s.error:
        return UNKNOWN, [s.error]
    if rule_id not in s.enabled:
        return UNKNOWN, [f"{rule_id} is off in the iackms configuration"]
    keys = [(name, at.file) for name in sorted(at.names)]
    if not any(k in s.resources for k in keys):
        return UNKNOWN, ["iackms scan does not judge this resource (see its IKMS001/IKMS002 notes)"]
    mine = [f for k in keys for f in s.findings.get(k, ())]
    failed = [f"{f.file}:{f.line}: {f.message}" for f in mine if f.rule_id == rule_id]
    if failed:
        return FAILED, failed
    silenced = [f.suppression_reason for k in keys for f in s.suppressed.get(k, ()) if rule_id in (f.rule_id, f.about)]
    if silenced:
        return SKIPPED, [f"suppressed in iackms: {r}" for r in silenced]
    undecided = [f"{f.file}:{f.line}: {f.message}" for f in mine if f.rule_id == UNRESOLVED and f.about == rule_id]
    if undecided:
        return UNKNOWN, undecided
    return PASSED, []


def verdict(check: Any, framework: str, rule_id: str, conf: dict) -> tuple[str, list[str]]:
    """The answer for the resource a Checkov check is running on (called from
    the check, with the Checkov runner on the call stack). Never raises."""
    try:
        scope = runner_scope(sys._getframe(1))
        at = scope and locate(framework, str(getattr(check, "entity_path", "")), str(getattr(check, "entity_type", "")), conf, scope)
        if not at:
            warn_once(f"cannot find where Checkov's {getattr(check, 'entity_path', '?')} is written; "
                      "the iackms checks answer UNKNOWN for resources they cannot locate")
            return UNKNOWN, []
        return answer(rule_id, at)
    except Exception as e:  # noqa: BLE001 - a check that raises stops Checkov's whole runner
        warn_once(f"internal error, the iackms checks answer UNKNOWN: {type(e).__name__}: {e} (please report it)")
        return UNKNOWN, []


def configuration_error() -> str | None:
    """The error of the iackms configuration for the Checkov runner that is
    loading the checks (None when it is valid or there is no runner)."""
    scope = runner_scope(sys._getframe(1))
    if not scope or not scope.paths:
        return None
    try:
        configuration(scope.paths)
    except ConfigError as e:
        return str(e)
    return None


# --- the checks -------------------------------------------------------------------------

_registered = False


def load(fail_run: Callable[[str], None]) -> None:
    """Register one Checkov check per rule and framework (once per process:
    Checkov runs the loader once per runner), and fail the Checkov run through
    ``fail_run`` when the iackms configuration is invalid (as `iackms scan`
    stops on it)."""
    register()
    error = configuration_error()
    if error:
        fail_run(f"invalid iackms configuration, the CKV_IACKMS checks did not run: {error}")


def register() -> None:
    global _registered
    with _lock:  # runners in threads load at once: none may go on before the checks exist
        if not _registered:
            _register()
            _registered = True


def _register() -> None:
    from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck as CfnCheck
    from checkov.common.bridgecrew.severities import BcSeverities, Severities
    from checkov.common.models.enums import CheckCategories, CheckResult
    from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck as TfCheck

    from .docgen import rule_url

    results = {r: getattr(CheckResult, r) for r in (FAILED, PASSED, SKIPPED, UNKNOWN)}
    severities = {s: Severities[getattr(BcSeverities, s.upper())] for s in ("critical", "high", "medium", "low", "info")}

    def make(base: type, rule_id: str, framework: str, types: tuple[str, ...]) -> None:
        meta = REGISTRY[rule_id].meta

        def scan_resource_conf(self: Any, conf: dict) -> Any:
            result, self.details = verdict(self, framework, rule_id, conf)
            return results[result]

        cls = type(f"Iackms{rule_id}{framework.title()}", (base,), {"scan_resource_conf": scan_resource_conf})
        category = CheckCategories.ENCRYPTION if rule_id.startswith("IKMS1") else CheckCategories.IAM
        check = cls(name=f"[iackms {meta.severity}] {meta.title} ({rule_id})", id=checkov_id(rule_id), categories=[category],
                    supported_resources=list(types), guideline=rule_url(rule_id))
        check.severity = severities[meta.severity]

    for rule_id in sorted(REGISTRY):
        for framework, base in ((TERRAFORM, TfCheck), (CLOUDFORMATION, CfnCheck)):
            types = supported_types(rule_id, framework)
            if types:
                make(base, rule_id, framework, types)
