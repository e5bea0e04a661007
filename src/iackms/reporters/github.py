"""GitHub Actions output: one workflow command per finding, so each shows as
an annotation on the pull request, and, when `GITHUB_STEP_SUMMARY` is set, a
Markdown job summary with every finding (GitHub shows only 10 annotations of
each level per step).

    ::error file=main.tf,line=3,endLine=3,col=3,title=IKMS101 rotation-disabled::message
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Callable

from ..docgen import rule_url
from ..findings import Finding, Report
from ..rules import REGISTRY
from ..vocab import SEVERITIES
from .text import via

LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "warning", "info": "notice"}
#: GitHub rejects a step summary over 1 MiB; stay well clear of it
SUMMARY_LIMIT = 1_000_000


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _name(rule_id: str) -> str:
    rule = REGISTRY.get(rule_id)
    return rule.meta.name if rule else ""


def command(f: Finding) -> str:
    line = max(1, f.line)
    props = {
        "file": f.file,
        "line": str(line),
        "endLine": str(max(line, f.end_line)),
        "col": str(max(1, f.column)),
        "title": f"{f.rule_id} {_name(f.rule_id)}".strip(),
    }
    joined = ",".join(f"{k}={escape_property(v)}" for k, v in props.items())
    return f"::{LEVEL.get(f.severity, 'warning')} {joined}::{escape_data(_text(f))}"


def _text(f: Finding) -> str:
    """The message, naming the resource (two instances of a module share
    their lines), and the related locations."""
    msg = f.message if not f.resource or f.resource in f.message else f"{f.resource}: {f.message}"
    return msg + via(f)


def _ordered(findings: list[Finding]) -> list[Finding]:
    """Most severe first: GitHub keeps the first 10 of each level."""
    return sorted(findings, key=lambda f: (-f.rank, f.sort_key()))


def render(report: Report, **_: object) -> str:
    lines = [command(f) for f in _ordered(report.findings)]
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        write_summary(Path(path), report)
    return "".join(line + "\n" for line in lines)


# --- job summary ------------------------------------------------------------------


def cell(text: str) -> str:
    """Text made safe for one Markdown table cell."""
    text = (text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
            .replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|"))
    # Markdown emphasis, links and code spans in user text must render as written
    return re.sub(r"([\\`*_\[\]()#!~])", r"\\\1", text.replace("\\|", "\x00")).replace("\x00", "\\|")


def _row(f: Finding) -> str:
    rule = f"[{f.rule_id}]({rule_url(f.rule_id)}) {_name(f.rule_id)}".rstrip()
    return f"| {cell(f.file)}:{max(1, f.line)} | {rule} | {f.severity} | {cell(f.resource)} | {cell(f.message + via(f))} |\n"


def summary(report: Report, limit: int = SUMMARY_LIMIT) -> str:
    """The Markdown summary, at most ``limit`` bytes (the table is cut with a note)."""
    total = len(report.findings)
    head = [f"## iackms: {total} KMS finding{'s' if total != 1 else ''}\n\n",
            f"{report.files_scanned} file(s) scanned, {report.keys_checked} key(s) checked"
            + (f", {len(report.suppressed)} suppressed" if report.suppressed else "") + ".\n\n"]
    if report.baseline:
        head.append(f"Compared with the baseline `{cell(report.baseline)}`: only new findings are shown; {len(report.baselined)} "
                    f"baselined finding(s) remain, {report.baseline_absent} are gone"
                    + (f", {report.baseline_not_scanned} are in files not scanned" if report.baseline_not_scanned else "") + ".\n\n")
    if report.warnings:
        head.append(f"{len(report.warnings)} warning(s) while scanning: see the step's log.\n\n")
    if report.remote_modules:
        n = len(report.remote_modules)
        head.append(f"{n} remote module{'s' if n != 1 else ''} not scanned (scan the plan JSON to check the keys they create):\n\n")
        for r in report.remote_modules:
            first = r.calls[0]
            more = f" and {len(r.calls) - 1} more call{'s' if len(r.calls) > 2 else ''}" if len(r.calls) > 1 else ""
            head.append(f"- `{cell(r.source)}` (module {cell(first.module)} at {cell(first.file)}:{first.line}{more})\n")
        head.append("\n")
    if not total:
        return "".join(head)
    counts = report.counts()
    head += ["| Severity | Findings |\n| --- | ---: |\n", *(f"| {s} | {counts[s]} |\n" for s in SEVERITIES if counts.get(s)), "\n"]
    by_rule: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_rule.setdefault(f.rule_id, []).append(f)
    head += ["| Rule | Severity | Findings |\n| --- | --- | ---: |\n"]
    for rid in sorted(by_rule):
        fs = by_rule[rid]
        worst = max(fs, key=lambda f: f.rank).severity
        head.append(f"| [{rid}]({rule_url(rid)}) {_name(rid)} | {worst} | {len(fs)} |\n")
    head += ["\n### Findings\n\n", "| Location | Rule | Severity | Resource | Message |\n| --- | --- | --- | --- | --- |\n"]

    out = "".join(head)
    size = len(out.encode())
    reserve = 200  # for the truncation note
    rows = []
    ordered = _ordered(report.findings)
    for i, f in enumerate(ordered):
        row = _row(f)
        n = len(row.encode())
        if size + n + reserve > limit:
            rest = len(ordered) - i
            rows.append(f"\n_{rest} more finding{'s' if rest != 1 else ''} not shown (the summary is limited to 1 MiB); "
                        "see the annotations, the SARIF file or `iackms scan` output._\n")
            break
        rows.append(row)
        size += n
    return out + "".join(rows)


def write_summary(path: Path, report: Report) -> None:
    append_summary(path, lambda room: summary(report, max(2_000, room)))


def append_summary(path: Path, render: Callable[[int], str]) -> None:
    """Append ``render(room)`` to the job summary at ``path``, ``room`` being
    what GitHub's 1 MiB limit leaves; a summary that cannot be written is a
    warning, never a failed run."""
    try:
        used = path.stat().st_size if path.exists() else 0
        text = render(SUMMARY_LIMIT - used)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    except OSError as e:
        print(f"iackms: warning: cannot write the job summary to {path}: {e.strerror or e}", file=sys.stderr)
