"""Findings: what the engine reports and every reporter formats."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

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
    #: for IKMS002: the rule(s) that could not decide, comma-separated
    about: str = ""
    #: for IKMS002: the unresolved value said without the rule (notes with the
    #: same value, line and resource are merged into one)
    subject: str = ""
    #: the file declaring the resource (``file`` is where the finding is: a
    #: statement may be written in a policy document elsewhere)
    resource_file: str = ""
    suppressed: bool = False
    suppression_reason: str = ""
    #: with ``resource``, the resource's identity: the Terraform root module's
    #: directory, or the template or plan file ("" for file-level findings)
    root: str = ""
    #: other places that belong to the finding: ((file, line, what), ...), e.g.
    #: the attribute that uses a value written at (file, line), the module
    #: block that calls the resource's module
    related: tuple[tuple[str, int, str], ...] = ()
    #: the rule's declared fix (:class:`iackms.rules.base.Fix`), None when it
    #: has none; with ``model``, what ``iackms fix`` works from. Neither
    #: takes part in equality, hashing or any output format.
    fix: Any = field(default=None, compare=False, repr=False)
    #: the model resource the finding is about (None for file-level findings)
    model: Any = field(default=None, compare=False, repr=False)
    #: the instances or branches the finding holds for when it does not hold
    #: for every one (``for aws_kms_key.this["jwt"]``, ``when IsProd is true``):
    #: a fix of the block would reach the others too, so ``iackms fix`` leaves it
    only: str = field(default="", compare=False, repr=False)

    def sort_key(self) -> tuple:
        return (self.file, self.line, self.rule_id, self.resource, self.column, self.message, self.root, self.related)

    @property
    def rank(self) -> int:
        return SEVERITY_RANK.get(self.severity, 0)


@dataclass(frozen=True)
class Scope:
    """What a scan covered, paths relative to the current directory: a file
    is covered when it is one of ``files`` (the files given, and the files
    read whose findings would be reported: a module reached from a directory
    given) or under one of ``dirs`` (the directories given, and paths given
    that do not exist: a deleted file's findings are gone)."""

    dirs: tuple[str, ...] = ()
    files: frozenset[str] = frozenset()

    def covers(self, path: str) -> bool:
        return path in self.files or any(_under(path, d) for d in self.dirs)

    def covers_root(self, root: str) -> bool:
        """The root module directory (or template) ``root`` was scanned as a root."""
        r = root.rstrip("/") or "."
        return self.covers(root) or any((os.path.dirname(f) or ".") == r for f in self.files)

    def rebased(self, boundary: Sequence[str]) -> "Scope":
        """The same paths relative to the boundary, as baseline entries are."""
        return Scope(tuple(rebase(d, boundary) for d in self.dirs), frozenset(rebase(f, boundary) for f in self.files))


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
    #: modules the scan cannot read (registry, Git), by source: the calls of each
    remote_modules: list["RemoteModules"] = field(default_factory=list)
    #: the baseline file the findings were compared with ("" when none)
    baseline: str = ""
    #: findings recorded in the baseline (not in ``findings``: they are not new)
    baselined: list[Finding] = field(default_factory=list)
    #: findings recorded in the baseline that are gone (fixed, or their resource removed) from the files scanned
    baseline_absent: int = 0
    #: findings recorded in the baseline, not found, of files this scan did not cover (neither shown nor gone)
    baseline_not_scanned: int = 0
    #: what the scan covered (None: everything, e.g. a report built by hand): a baseline entry is judged
    #: (found, or gone) only when its file is in it
    scope: "Scope | None" = None

    def remote_summary(self) -> str:
        """`3 remote modules not scanned: a (2 calls), b, c`, or `""`."""
        if not self.remote_modules:
            return ""
        n = len(self.remote_modules)
        shown = self.remote_modules[:10]
        names = ", ".join(r.source + (f" ({len(r.calls)} calls)" if len(r.calls) > 1 else "") for r in shown)
        if n > len(shown):
            names += f" and {n - len(shown)} more (all in --format json)"
        return f"{n} remote module{'s' if n != 1 else ''} not scanned: {names}"
    #: the directories nothing outside of which was read (relative paths)
    boundary: list[str] = field(default_factory=list)
    #: in-code suppressions that matched no finding: (file, line, rule, resource)
    stale_suppressions: list[tuple[str, int, str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in ("critical", "high", "medium", "low", "info")}
        for f in self.findings:
            out[f.severity] = out.get(f.severity, 0) + 1
        return out


@dataclass(frozen=True)
class ModuleCall:
    file: str
    line: int
    module: str  # the module block's name


@dataclass
class RemoteModules:
    """One remote module source (registry, Git...) and the module blocks that
    call it. Whatever keys it creates are not scanned (scan the plan JSON)."""

    source: str
    calls: list[ModuleCall] = field(default_factory=list)


# --- fingerprints -------------------------------------------------------------------

#: the name of the fingerprint scheme (SARIF ``partialFingerprints`` key, baselines)
FINGERPRINT_KEY = "iackms/v1"


def fingerprint(f: Finding, boundary: Sequence[str] = ()) -> str:
    """A finding's identity that survives lines moving: the rule, the file,
    the resource and the statement identity (or the message without its
    numbers). SARIF ``partialFingerprints`` and baselines both use it.

    ``boundary`` holds the directories the scan read within (relative to the
    current directory, as every path is): the file is taken relative to the
    one that holds it, so that the fingerprint is the same from any
    subdirectory and after the repository moves. Without a boundary, the
    path as reported (relative to the current directory)."""
    what = f.ident or re.sub(r"\d+", "", f.message)
    # an IKMS002 note names the rule that could not decide: notes of two rules on one statement differ;
    # a note merged from several rules' notes keeps the fingerprint of its first rule's
    about = f.about.split(",", 1)[0]
    file = rebase(f.file, boundary)
    parts = [f.rule_id, about, file, f.resource, what]
    # the file outside the resource's root module (a module shared by several roots): the root too, so that
    # the same address in two roots is two findings
    if f.root:
        root = rebase(f.root, boundary)
        if not _under(file, root):
            parts.append(root)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _under(file: str, root: str) -> bool:
    """``file`` is ``root`` or inside it (paths relative to one directory)."""
    if root in (".", ""):
        return not file.startswith("../")
    return file == root or file.startswith(root.rstrip("/") + "/")


def rebase(path: str, boundary: Sequence[str]) -> str:
    """``path`` (relative to the current directory) relative to the
    innermost directory of ``boundary`` (also relative to the current
    directory) that holds it, with forward slashes; unchanged when none
    does."""
    if not boundary or not path:
        return path
    full = os.path.abspath(path)
    best: str | None = None
    for b in boundary:
        base = os.path.abspath(b or ".")
        if full == base or full.startswith(base.rstrip(os.sep) + os.sep):
            if best is None or len(base) > len(best):
                best = base
    if best is None:
        return path
    return os.path.relpath(full, best).replace(os.sep, "/")
