"""One line per finding, `path:line: SEVERITY RULE resource: message`, then
a summary. Colour only on a terminal, and never with NO_COLOR set."""

from __future__ import annotations

from ..findings import Finding, Report

_COLOURS = {"critical": "\033[1;31m", "high": "\033[31m", "medium": "\033[33m", "low": "\033[36m", "info": "\033[2m"}
_RESET = "\033[0m"


def line(f: Finding, colour: bool = False) -> str:
    sev = f.severity.upper()
    if colour:
        sev = f"{_COLOURS.get(f.severity, '')}{sev}{_RESET}"
    res = f" {f.resource}:" if f.resource else ""
    sup = f" [suppressed: {f.suppression_reason}]" if f.suppressed else ""
    return f"{f.file}:{f.line}: {sev} {f.rule_id}{res} {f.message}{via(f)}{sup}"


def via(f: Finding) -> str:
    """`` (via path:line, path:line)``: the finding's related locations."""
    if not f.related:
        return ""
    return " (via " + ", ".join(f"{file}:{line}" for file, line, _ in f.related) + ")"


NOTHING_FOUND = "no Terraform, CloudFormation or plan file found"


def summary(report: Report) -> str:
    """The one-line summary: findings by severity, files, keys, suppressed."""
    counts = report.counts()
    total = len(report.findings)
    parts = [f"{n} {s}" for s, n in counts.items() if n]
    text = f"{total} finding{'s' if total != 1 else ''}"
    if parts:
        text += " (" + ", ".join(parts) + ")"
    if report.files_scanned == 0:
        return text + f": {NOTHING_FOUND}"
    text += f" in {report.files_scanned} file{'s' if report.files_scanned != 1 else ''}, {report.keys_checked} key{'s' if report.keys_checked != 1 else ''} checked"
    if report.suppressed:
        text += f", {len(report.suppressed)} suppressed"
    return text + baseline_summary(report)


def baseline_summary(report: Report) -> str:
    """", 4 in the baseline (not shown), 1 baselined finding gone": what the
    summary adds when the findings were compared with a baseline."""
    if not report.baseline:
        return ""
    old, gone, unseen = len(report.baselined), report.baseline_absent, getattr(report, "baseline_not_scanned", 0)
    return (f", {old} in the baseline (not shown), {gone} baselined finding{'s' if gone != 1 else ''} gone"
            + (f", {unseen} of files not scanned" if unseen else "")
            + (" (update the baseline with `iackms baseline`)" if gone else ""))


def render(report: Report, colour: bool = False, show_suppressed: bool = False, **_: object) -> str:
    shown = list(report.findings)
    if show_suppressed:
        shown = sorted(shown + list(report.suppressed), key=lambda f: f.sort_key())
    out = [line(f, colour) for f in shown]
    if out:
        out.append("")
    out.append(summary(report))
    remote = report.remote_summary()
    if remote:
        out.append(remote)
    return "\n".join(out) + "\n"
