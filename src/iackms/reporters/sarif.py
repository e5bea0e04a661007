"""SARIF 2.1.0 for GitHub code scanning (and any other SARIF consumer).

One run. `tool.driver.rules` lists every rule iackms knows, in ID order, so
the rule table is the same from run to run. Results point at a path relative
to `%SRCROOT%` (the current directory), never at line 0, and carry a
`partialFingerprints["iackms/v1"]` built from the rule, file, resource and
statement identity (not the line) so that alerts survive lines moving.
Suppressed findings are left out (GitHub would show them as open alerts)
unless `show_suppressed`. GitHub accepts at most 25,000 results per run: past
that, the most severe are kept and a notice says so.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

import orjson

from .. import __version__, docgen
from ..findings import FINGERPRINT_KEY, Finding, Report
from ..findings import fingerprint as finding_fingerprint
from ..rules import REGISTRY
from ..vocab import SEVERITY_RANK
from ..rules.base import RuleMeta

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
MAX_RESULTS = 25_000
MAX_DESCRIPTION = 1024

LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "warning", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}

#: (text found in a source label, tag): the standards a rule maps to
STANDARD_TAGS = (
    ("CIS ", "CIS"),
    ("NIST SP 800-171", "NIST-800-171"),
    ("CMMC", "CMMC"),
    ("NIST SP 800-57", "NIST-800-57"),
    ("AWS Security Hub", "AWS-Security-Hub"),
    ("AWS Control Tower", "AWS-Control-Tower"),
)


def level(severity: str) -> str:
    return LEVEL.get(severity, "warning")


def tags(meta: RuleMeta) -> list[str]:
    out = ["security", "kms", "terraform"]
    if meta.cfn_applicable:
        out.append("cloudformation")
    for source in meta.sources:
        for needle, tag in STANDARD_TAGS:
            if needle in source.label and tag not in out:
                out.append(tag)
    return out


def artifact_uri(file: str) -> str:
    """A URI reference for a path relative to the current directory: forward
    slashes, and every character that is not unreserved percent-encoded
    (spaces, `#`, `%`, and `:` which would otherwise read as a scheme)."""
    return quote(file.replace("\\", "/").removeprefix("./"), safe="/")


def fingerprint(f: Finding, boundary: Sequence[str] = ()) -> str:
    """The finding's identity (:func:`iackms.findings.fingerprint`, shared with baselines)."""
    return finding_fingerprint(f, boundary)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 1] + "…"


def _effective_severity(rule_id: str, default: str, findings: list[Finding]) -> str:
    """The rule's severity after configuration overrides, as the findings carry it."""
    seen = [f.severity for f in findings if f.rule_id == rule_id and f.severity in SEVERITY_RANK]
    return max(seen, key=SEVERITY_RANK.__getitem__) if seen else default


def rule_descriptor(meta: RuleMeta, severity: str) -> dict:
    return {
        "id": meta.id,
        "name": meta.name,
        "shortDescription": {"text": _clip(meta.title)},
        "fullDescription": {"text": _clip(meta.what or meta.title)},
        "help": {"text": docgen.help_text(meta), "markdown": docgen.help_markdown(meta)},
        "helpUri": docgen.rule_url(meta.id),
        "defaultConfiguration": {"level": level(severity)},
        "properties": {"tags": tags(meta), "precision": "high", "security-severity": SECURITY_SEVERITY.get(severity, "5.5"),
                       **({"controls": [str(c) for c in meta.controls]} if meta.controls else {})},
    }


def _unknown_rule(rule_id: str, severity: str) -> dict:
    """A finding whose rule is not in the registry (should not happen)."""
    return {
        "id": rule_id,
        "shortDescription": {"text": rule_id},
        "fullDescription": {"text": rule_id},
        "help": {"text": rule_id},
        "defaultConfiguration": {"level": level(severity)},
        "properties": {"tags": ["security", "kms"], "security-severity": SECURITY_SEVERITY.get(severity, "5.5")},
    }


def result(f: Finding, index: int, with_suppressions: bool, boundary: Sequence[str] = (), baseline_state: str = "") -> dict:
    start = max(1, f.line)
    location: dict = {
        "physicalLocation": {
            "artifactLocation": {"uri": artifact_uri(f.file), "uriBaseId": SRCROOT},
            "region": {"startLine": start, "startColumn": max(1, f.column), "endLine": max(start, f.end_line)},
        }
    }
    if f.resource:
        location["logicalLocations"] = [{"fullyQualifiedName": f.resource, "kind": "resource"}]
    out: dict = {
        "ruleId": f.rule_id,
        "ruleIndex": index,
        "level": level(f.severity),
        "message": {"text": f.message},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f, boundary)},
    }
    if f.related:
        out["relatedLocations"] = [
            {"id": i, "physicalLocation": {"artifactLocation": {"uri": artifact_uri(file), "uriBaseId": SRCROOT},
                                           "region": {"startLine": max(1, line)}},
             "message": {"text": what}}
            for i, (file, line, what) in enumerate(f.related, 1)
        ]
    if f.root:
        out["properties"] = {"root": f.root}
    if baseline_state:  # compared with a baseline: "new", or "unchanged" for a baselined finding
        out["baselineState"] = baseline_state
    if with_suppressions:  # within a run, every result has the array or none does
        out["suppressions"] = []
        if f.suppressed:
            sup: dict = {"kind": "inSource", "status": "accepted"}
            if f.suppression_reason:
                sup["justification"] = f.suppression_reason
            out["suppressions"] = [sup]
    return out


def _cap(findings: list[Finding]) -> tuple[list[Finding], int]:
    """At most MAX_RESULTS, keeping the most severe; (kept, dropped count)."""
    if len(findings) <= MAX_RESULTS:
        return findings, 0
    kept = sorted(findings, key=lambda f: (-f.rank, f.sort_key()))[:MAX_RESULTS]
    return sorted(kept, key=Finding.sort_key), len(findings) - MAX_RESULTS


def _srcroot() -> str:
    uri = Path.cwd().absolute().as_uri()
    return uri if uri.endswith("/") else uri + "/"


def render(report: Report, show_suppressed: bool = False, sarif_category: str | None = None, **_: object) -> str:
    findings = list(report.findings)
    if show_suppressed:
        findings = sorted([*findings, *report.suppressed], key=Finding.sort_key)
    # with a baseline, its findings stay in the run as "unchanged" (a code scanning alert is not closed by a baseline)
    baselined = {id(f) for f in report.baselined}
    if report.baseline:
        findings = sorted([*findings, *report.baselined], key=Finding.sort_key)
    findings, dropped = _cap(findings)
    boundary = getattr(report, "boundary", None) or ()

    every = [*report.findings, *report.suppressed, *report.baselined]
    ids = sorted(set(REGISTRY) | {f.rule_id for f in findings})
    index = {rid: i for i, rid in enumerate(ids)}
    rules = []
    for rid in ids:
        rule = REGISTRY.get(rid)
        default = rule.meta.severity if rule else "medium"
        sev = _effective_severity(rid, default, every)
        rules.append(rule_descriptor(rule.meta, sev) if rule else _unknown_rule(rid, sev))

    notices = [{"level": "warning", "message": {"text": w}} for w in report.warnings]
    if dropped:
        text = (f"{dropped} of {dropped + MAX_RESULTS} results left out: GitHub accepts at most {MAX_RESULTS} per run; "
                f"the {MAX_RESULTS} most severe are reported")
        notices.append({"level": "warning", "message": {"text": text}})
        print(f"iackms: warning: SARIF: {text}", file=sys.stderr)
    invocation: dict = {"executionSuccessful": True}
    if notices:
        invocation["toolExecutionNotifications"] = notices

    run: dict = {
        "tool": {
            "driver": {
                "name": "iackms",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": docgen.home_url(),
                "rules": rules,
            }
        },
        "originalUriBaseIds": {SRCROOT: {"uri": _srcroot()}},
        "invocations": [invocation],
        "results": [result(f, index[f.rule_id], show_suppressed, boundary,
                           ("unchanged" if id(f) in baselined else "new") if report.baseline else "")
                    for f in findings],
    }
    if report.remote_modules:
        # not results: no finding is made of a module that was not read
        from .jsonfmt import remote_modules

        run["properties"] = {"remoteModulesNotScanned": remote_modules(report)}
    if sarif_category:
        run["automationDetails"] = {"id": sarif_category.rstrip("/") + "/"}
    doc = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"
