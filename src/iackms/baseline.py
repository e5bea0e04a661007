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
     "findings": [{"rule_id", "file", "resource", "message", "fingerprint"}, ...]}

Matching counts: a fingerprint recorded twice absorbs two findings.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

import orjson

from .findings import FINGERPRINT_KEY, Finding, Report, fingerprint, rebase

VERSION = 1
DEFAULT_FILE = ".iackms-baseline.json"


class BaselineError(Exception):
    pass


def _boundary(report: Report) -> Sequence[str]:
    return getattr(report, "boundary", None) or ()


def entries(report: Report) -> list[dict]:
    """The baseline entries of a report's findings, sorted."""
    boundary = _boundary(report)
    out = [
        {"rule_id": f.rule_id, "file": rebase(f.file, boundary), "resource": f.resource, "message": f.message,
         "fingerprint": fingerprint(f, boundary)}
        for f in report.findings
    ]
    out.sort(key=lambda e: (e["file"], e["resource"], e["rule_id"], e["message"], e["fingerprint"]))
    return out


def dumps(report: Report) -> str:
    doc = {"version": VERSION, "fingerprint": FINGERPRINT_KEY, "findings": entries(report)}
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n"


def write(report: Report, path: Path) -> int:
    """Write the baseline of ``report``; returns how many findings it holds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(report), encoding="utf-8")
    return len(report.findings)


def load(path: Path) -> Counter[str]:
    """The fingerprints a baseline file records (with their counts)."""
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
    out: Counter[str] = Counter()
    for i, e in enumerate(data["findings"]):
        fp = e.get("fingerprint") if isinstance(e, dict) else None
        if not isinstance(fp, str) or not fp:
            raise BaselineError(f"baseline {path}: entry {i + 1} has no fingerprint")
        out[fp] += 1
    return out


def apply(report: Report, baseline: Counter[str], name: str) -> None:
    """Keep in ``report.findings`` only the findings not in ``baseline``; the
    others go to ``report.baselined``, and ``report.baseline_absent`` counts
    the baseline's findings that are gone."""
    boundary = _boundary(report)
    left = Counter(baseline)
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
    report.baseline_absent = sum(left.values())
    report.baseline = name
