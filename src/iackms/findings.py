"""Findings: what the engine reports and every reporter formats."""

from __future__ import annotations

from dataclasses import dataclass, field

from .vocab import SEVERITY_RANK


@dataclass(frozen=True)
class Finding:
    rule_id: str
    title: str
    severity: str
    file: str
    line: int
    end_line: int
    column: int
    resource: str
    resource_type: str
    message: str
    #: stable identity within the resource (statement Sid or content hash)
    ident: str = ""
    #: for IKMS002: the rule that could not decide
    about: str = ""
    #: the file declaring the resource (``file`` is where the finding is: a
    #: statement may be written in a policy document elsewhere)
    resource_file: str = ""
    suppressed: bool = False
    suppression_reason: str = ""

    def sort_key(self) -> tuple:
        return (self.file, self.line, self.rule_id, self.resource, self.column, self.message)

    @property
    def rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 0)


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    #: suppressed findings (reported only with --show-suppressed)
    suppressed: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files_scanned: int = 0
    keys_checked: int = 0
    #: rule IDs that were on for this scan
    rules: tuple[str, ...] = ()
    #: the resources the rules judged, as (address, file declaring it)
    resources: frozenset[tuple[str, str]] = frozenset()
    profile: str = "default"

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in ("critical", "high", "medium", "low", "info")}
        for f in self.findings:
            out[f.severity] = out.get(f.severity, 0) + 1
        return out
