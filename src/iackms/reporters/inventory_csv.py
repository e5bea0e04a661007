"""The inventory as CSV: one row per key (per instance), the columns of the
Markdown table and more, multi-valued cells joined with "; ". A cell that
a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab or carriage
return first) starts with an apostrophe: the values come from the code
under review."""

from __future__ import annotations

import csv
import io

from ..inventory import setting_text

COLUMNS = (
    "id", "address", "resource_type", "kind", "source", "file", "line", "module_call", "exists_when",
    "description", "key_spec", "key_usage", "origin", "custom_key_store", "multi_region", "primary_key",
    "rotation", "rotation_period_days", "deletion_window_days", "enabled", "deletion_protection",
    "bypass_policy_lockout_safety_check", "aliases", "tags", "policy",
    "administer", "use", "create_grants", "outside_home", "public", "narrowed", "unresolved_access",
    "grants", "consumers",
    "findings", "critical", "high", "medium", "low", "info", "rules", "suppressed",
)
_SETTINGS = ("description", "key_spec", "key_usage", "origin", "custom_key_store", "multi_region", "primary_key",
             "rotation", "rotation_period_days", "deletion_window_days", "enabled", "deletion_protection",
             "bypass_policy_lockout_safety_check")


def safe(text: str) -> str:
    """A cell no spreadsheet runs as a formula (OWASP CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def tags_text(t: dict) -> str:
    if t["status"] in ("not-set", "outside-scan"):
        return "(not set)" if t["status"] == "not-set" else "not in the scan"
    if t["status"] != "set":
        return setting_text(t)
    parts = [f"{k}={v}" for k, v in t["value"].items()] + [f"{k}=unknown: {v}" for k, v in t["unknown"].items()]
    return "; ".join(parts) or "(none)"


def policy_text(p: dict) -> str:
    st = p["status"]
    if st == "default":
        return "AWS default key policy (not written)"
    if st == "unknown":
        return f"unknown: {p['expr']}" if p.get("expr") else "unknown (not in the scan)"
    where = f" at {p['file']}:{p['line']}" if p.get("file") else ""
    extra = f", {p['variants']} variants" if p.get("variants", 1) > 1 else ""
    return f"{st} ({p['source']}{extra}){where}"


def grants_text(gs: list[dict]) -> list[str]:
    out = []
    for g in gs:
        who = setting_text(g["grantee"])
        ops = setting_text(g["operations"])
        flag = " (outside the home accounts)" if g.get("grantee_outside_home") else ""
        out.append(f"{g['address']}: {who}{flag}: {ops}")
    return out


def consumers_text(cs: list[dict] | None) -> str:
    if cs is None:
        return "(not linked by this version)"
    return "; ".join(f"{c['address']} ({c['resource_type']})" for c in cs)


def row(e: dict) -> dict[str, str]:
    s = e["settings"]
    f = e["findings"]
    a = e["access"]
    mc = e.get("module_call")
    d = {
        "id": e["id"], "address": e["address"], "resource_type": e["resource_type"], "kind": e["kind"],
        "source": e["source_name"], "file": e["file"], "line": str(e["line"]),
        "module_call": f"{mc['file']}:{mc['line']}" if mc else "",
        "exists_when": " and ".join(e.get("exists_when") or ()),
        **{k: setting_text(s[k]) for k in _SETTINGS},
        "aliases": "; ".join(setting_text(al["name"]) for al in e["aliases"]),
        "tags": tags_text(e["tags"]),
        "policy": policy_text(e["policy"]),
        "administer": "; ".join(a["administer"]), "use": "; ".join(a["use"]),
        "create_grants": "; ".join(a["create_grants"]), "outside_home": "; ".join(a["outside_home"]),
        "public": "; ".join(a["public"]), "narrowed": "; ".join(a["narrowed"]),
        "unresolved_access": "; ".join(a["unresolved"]) or ("the key policy is unknown" if a["status"] == "unknown" else ""),
        "grants": "; ".join(grants_text(e["grants"])), "consumers": consumers_text(e["consumers"]),
        "findings": str(f["total"]), **{sev: str(n) for sev, n in f["by_severity"].items()},
        "rules": "; ".join(f"{r} ({n})" for r, n in f["by_rule"].items()),
        "suppressed": "; ".join(f"{x['rule_id']}: {x.get('suppression_reason', '')}" for x in f["suppressed"]),
    }
    return {k: safe(" ".join(v.split()) if "\n" in v or "\r" in v else v) for k, v in d.items()}


def render(inv: dict, **_: object) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\r\n")
    w.writeheader()
    for e in inv["keys"]:
        w.writerow(row(e))
    return buf.getvalue()
