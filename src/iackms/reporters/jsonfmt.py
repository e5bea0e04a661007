"""The JSON contract (documented in docs/output.md):

    {"version": "...", "profile": "...",
     "findings": [{"rule_id", "title", "severity", "file", "line", "end_line",
                   "column", "resource", "resource_type", "message", "root",
                   "related": [{"file", "line", "what"}],
                   "baseline_state" (with a baseline: "new")}],
     "summary": {"total", "by_severity": {...}, "by_rule": {...},
                 "files_scanned", "keys_checked", "suppressed",
                 "remote_modules": [{"source", "calls": [{"file", "line", "module"}]}],
                 "boundary": [...], "stale_suppressions": [{"file", "line", "rule_id", "resource"}],
                 "baseline" (with a baseline): {"file", "unchanged", "absent", "not_scanned"}},
     "warnings": [...]}
"""

from __future__ import annotations

import orjson

from .. import __version__
from ..findings import Finding, Report


def finding_dict(f: Finding, baseline_state: str = "") -> dict:
    d = {
        "rule_id": f.rule_id,
        "title": f.title,
        "severity": f.severity,
        "file": f.file,
        "line": f.line,
        "end_line": f.end_line,
        "column": f.column,
        "resource": f.resource or "",
        "resource_type": f.resource_type or "",
        "message": f.message,
        "root": f.root,
        "related": [{"file": file, "line": line, "what": what} for file, line, what in f.related],
    }
    if baseline_state:
        d["baseline_state"] = baseline_state
    if f.suppressed:
        d["suppressed"] = True
        d["suppression_reason"] = f.suppression_reason
    return d


def remote_modules(report: Report) -> list[dict]:
    """The modules not scanned because they are remote, with their calls."""
    return [{"source": r.source, "calls": [{"file": c.file, "line": c.line, "module": c.module} for c in r.calls]}
            for r in report.remote_modules]


def render(report: Report, show_suppressed: bool = False, **_: object) -> str:
    by_rule: dict[str, int] = {}
    for f in report.findings:
        by_rule[f.rule_id] = by_rule.get(f.rule_id, 0) + 1
    findings = [finding_dict(f, "new" if report.baseline else "") for f in report.findings]
    if show_suppressed:
        findings += [finding_dict(f) for f in report.suppressed]
        findings.sort(key=lambda d: (d["file"], d["line"], d["rule_id"], d["resource"], d["column"], d["message"], d["root"]))
    doc = {
        "version": __version__,
        "profile": report.profile,
        "findings": findings,
        "summary": {
            "total": len(report.findings),
            "by_severity": report.counts(),
            "by_rule": dict(sorted(by_rule.items())),
            "files_scanned": report.files_scanned,
            "keys_checked": report.keys_checked,
            "suppressed": len(report.suppressed),
            "remote_modules": remote_modules(report),
            "boundary": report.boundary,
            "stale_suppressions": [{"file": file, "line": line, "rule_id": rid, "resource": res}
                                   for file, line, rid, res in report.stale_suppressions],
        },
        "warnings": report.warnings,
    }
    if report.baseline:
        doc["summary"]["baseline"] = {"file": report.baseline, "unchanged": len(report.baselined), "absent": report.baseline_absent,
                                      "not_scanned": report.baseline_not_scanned}
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"
