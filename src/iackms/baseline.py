"""Baselines: today's findings recorded by fingerprint, so that a repository
can adopt iackms and fail only on new findings.

The file is JSON meant to be reviewed in a pull request: one entry per
finding with its rule, file, resource and message next to the fingerprint,
sorted by file, resource, rule and message (not by line, so that lines
moving do not reorder it). The fingerprint is the one SARIF
``partialFingerprints`` carry (:func:`iackms.findings.fingerprint`): it does
not depend on the line, and paths are relative to the scan's boundary (the
repository), so it survives lines moving, scans from a subdirectory and the
repository moving.

    {"version": 1, "fingerprint": "iackms/v1",
     "findings": [{"rule_id", "file", "resource", ["resource_file",] ["root",]
                   "message", "fingerprint"}, ...]}

``resource_file`` is written when the resource is declared in another file
than the finding's (a value set in a tfvars file or a module call), ``root``
(the root module or template) then too, and when the finding's file is
outside its root (a module shared by several roots): what tells which scans
cover the entry.

Matching counts: a fingerprint recorded twice absorbs two findings.

A scan of some files only (pre-commit passes the staged files) judges only
the entries of the files it covered (:class:`iackms.findings.Scope`): the
others are neither found nor gone, and a baseline written for some files
keeps the other files' entries.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

import orjson

from .findings import FINGERPRINT_KEY, Finding, Report, Scope, _under, fingerprint, rebase

VERSION = 1
DEFAULT_FILE = ".iackms-baseline.json"


class BaselineError(Exception):
    pass


def _boundary(report: Report) -> Sequence[str]:
    return getattr(report, "boundary", None) or ()


def _entry(f: Finding, boundary: Sequence[str]) -> dict:
    file = rebase(f.file, boundary)
    e = {"rule_id": f.rule_id, "file": file, "resource": f.resource}
    resource_file = rebase(f.resource_file, boundary)
    if resource_file and resource_file != file:
        e["resource_file"] = resource_file
    root = rebase(f.root, boundary) if f.root else ""
    # outside its root (as in the fingerprint), or the resource elsewhere (a module shared by several roots)
    if root and (not _under(file, root) or "resource_file" in e):
        e["root"] = root
    e["message"] = f.message
    e["fingerprint"] = fingerprint(f, boundary)
    return e


def _order(e: dict) -> tuple:
    return tuple(str(e.get(k, "")) for k in ("file", "resource", "rule_id", "message", "fingerprint"))


def entries(report: Report, keep: Sequence[dict] = ()) -> list[dict]:
    """The baseline entries of a report's findings, with ``keep`` (entries
    of files not scanned), sorted."""
    boundary = _boundary(report)
    return sorted([*(_entry(f, boundary) for f in report.findings), *keep], key=_order)


def dumps(report: Report, keep: Sequence[dict] = ()) -> str:
    doc = {"version": VERSION, "fingerprint": FINGERPRINT_KEY, "findings": entries(report, keep)}
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"


def write(report: Report, path: Path, keep: Sequence[dict] = ()) -> int:
    """Write the baseline of ``report`` (and the entries ``keep``); returns
    how many findings of the scan it holds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(report, keep), encoding="utf-8")
    return len(report.findings)


def load(path: Path) -> list[dict]:
    """The entries of a baseline file (each with a fingerprint)."""
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise BaselineError(f"baseline {path} does not exist (create it with `iackms baseline --output {path}`)") from None
    except OSError as e:
        raise BaselineError(f"cannot read baseline {path}: {e.strerror or e}") from None
    except orjson.JSONDecodeError as e:
        raise BaselineError(f"baseline {path} is not valid JSON: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise BaselineError(f"baseline {path} is not an iackms baseline (no \"findings\" list)")
    if data.get("version") != VERSION or data.get("fingerprint") != FINGERPRINT_KEY:
        raise BaselineError(f"baseline {path} has version {data.get('version')!r} and fingerprints {data.get('fingerprint')!r}; "
                            f"this iackms reads version {VERSION} with {FINGERPRINT_KEY} (recreate it with `iackms baseline`)")
    for i, e in enumerate(data["findings"]):
        fp = e.get("fingerprint") if isinstance(e, dict) else None
        if not isinstance(fp, str) or not fp:
            raise BaselineError(f"baseline {path}: entry {i + 1} has no fingerprint")
    return data["findings"]


def _scope(report: Report) -> Scope | None:
    scope = getattr(report, "scope", None)
    return scope.rebased(_boundary(report)) if scope is not None else None


def covered(entry: dict, scope: Scope | None) -> bool:
    """The scan of ``scope`` (relative to the boundary) covered the file of
    ``entry``: the finding's file or its resource's, and, for a finding in a
    module shared by several roots, its root. Without a scope (or a file in
    the entry), every entry is covered."""
    if scope is None:
        return True
    file, resource_file, root = (entry.get(k) if isinstance(entry.get(k), str) else "" for k in ("file", "resource_file", "root"))
    if not file:
        return True
    if not (scope.covers(file) or (resource_file and scope.covers(resource_file))):
        return False
    return not root or scope.covers_root(root)


def not_scanned(report: Report, baseline: Sequence[dict]) -> list[dict]:
    """The entries of ``baseline`` whose files the report's scan did not
    cover and that none of its findings stands for: what a baseline written
    from this scan keeps."""
    scope = _scope(report)
    boundary = _boundary(report)
    found = Counter(fingerprint(f, boundary) for f in report.findings)
    out = []
    for e in baseline:
        if found[e["fingerprint"]] > 0:
            found[e["fingerprint"]] -= 1  # the scan's finding replaces it
        elif not covered(e, scope):
            out.append(e)
    return out


def apply(report: Report, baseline: Sequence[dict], name: str) -> None:
    """Keep in ``report.findings`` only the findings not in ``baseline``; the
    others go to ``report.baselined``. Of the baseline's entries left,
    ``report.baseline_absent`` counts those of files the scan covered (gone)
    and ``report.baseline_not_scanned`` the others."""
    boundary = _boundary(report)
    left = Counter(e["fingerprint"] for e in baseline)
    new: list[Finding] = []
    old: list[Finding] = []
    for f in report.findings:
        fp = fingerprint(f, boundary)
        if left[fp] > 0:
            left[fp] -= 1
            old.append(f)
        else:
            new.append(f)
    report.findings = new
    report.baselined = old
    scope = _scope(report)
    gone = unseen = 0
    for e in baseline:  # the entries of one fingerprint have one file, resource and root
        if left[e["fingerprint"]] > 0:
            left[e["fingerprint"]] -= 1
            if covered(e, scope):
                gone += 1
            else:
                unseen += 1
    report.baseline_absent = gone
    report.baseline_not_scanned = unseen
    report.baseline = name
