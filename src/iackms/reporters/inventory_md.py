"""The inventory as Markdown: for a pull request comment, a GitHub job
summary or an SSP appendix. One table of every key, the controls the rules
support, then one section per key: its settings, who may administer, use
and create grants (the access matrix), its grants, the resources that use
it and its findings."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..docgen import rule_url
from ..inventory import actions_text, deny_text, setting_text
from ..semantics import ADMIN_ACTIONS, USAGE_ACTIONS
from ..vocab import SEVERITIES
from .github import append_summary
from .inventory_csv import policy_text, tags_text

#: names shown in one cell of the overview table before "and N more"
MAX_NAMES = 4


def cell(text: str) -> str:
    """Text made safe for one Markdown table cell, and readable as plain text:
    HTML, pipes, emphasis, code spans and links in values taken from the code
    under review render as written."""
    text = " ".join(str(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_\[\]~|])", r"\\\1", text)


def code(text: str) -> str:
    """Inline code that survives any backticks in ``text``, safe in a table cell."""
    t = " ".join(str(text).split()).replace("|", "\\|")
    fence = "``" if "`" in t else "`"
    return f"{fence} {t} {fence}" if fence == "``" else f"`{t}`"


def _names(names: list[str]) -> str:
    if not names:
        return "—"
    shown = [cell(n) for n in names[:MAX_NAMES]]
    if len(names) > MAX_NAMES:
        shown.append(f"and {len(names) - MAX_NAMES} more")
    return "<br>".join(shown)


def _findings_cell(f: dict) -> str:
    if not f["total"]:
        return "none"
    return ", ".join(f"{n} {s}" for s, n in f["by_severity"].items() if n)


def _rotation(e: dict) -> str:
    s = e["settings"]
    rot = setting_text(s["rotation"])
    if s["rotation"]["value"] is True and s["rotation_period_days"]["status"] in ("set", "default"):
        rot += f", every {s['rotation_period_days']['value']} days"
    return rot


def header(inv: dict) -> list[str]:
    s = inv["summary"]
    src = ", ".join(f"{n} {name}" for name, n in (("Terraform", s["by_source"]["terraform"]), ("CloudFormation", s["by_source"]["cloudformation"]),
                                                  ("plan", s["by_source"]["plan"])) if n)
    fs = s["findings"]
    sev = ", ".join(f"{n} {k}" for k, n in fs["by_severity"].items() if n) or "none"
    lines = [
        "# KMS key inventory\n\n",
        f"{s['keys']} key{'s' if s['keys'] != 1 else ''}" + (f" ({src})" if src else "")
        + f" in {s['files_scanned']} file(s) scanned · profile `{inv['profile']}` · iackms {inv['version']}\n\n",
        f"Findings: {fs['total']} ({sev})" + (f", {s['suppressed']} suppressed" if s["suppressed"] else "") + ". "
        + f"Keys anyone may use: {s['public']}. Keys with principals outside their home accounts: {s['outside_home']}. "
        + f"Keys whose policy is unknown before deployment: {s['unknown_policy']}.\n\n",
    ]
    return lines


OVERVIEW_HEAD = ("| # | Key | Source | Location | Spec / usage | Rotation | Deletion window | Enabled | Multi-Region | Administer | Use | Findings |\n"
                 "| ---: | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")


def overview_rows(inv: dict) -> list[str]:
    out = []
    for i, e in enumerate(inv["keys"], 1):
        s = e["settings"]
        spec = f"{cell(setting_text(s['key_spec']))} / {cell(setting_text(s['key_usage']))}"
        mr = "replica" if e["kind"] in ("replica", "replica_external") else cell(setting_text(s["multi_region"]))
        loc = f"{e['file']}:{e['line']}"
        out.append(f"| {i} | {code(e['address'])} | {e['source_name']} | {code(loc)} | {spec} "
                   f"| {cell(_rotation(e))} | {cell(setting_text(s['deletion_window_days']))} | {cell(setting_text(s['enabled']))} | {mr} "
                   f"| {_names(e['access']['administer'])} | {_names(e['access']['use'])} | {_findings_cell(e['findings'])} |\n")
    return out


def controls(inv: dict) -> list[str]:
    rows = inv["controls"]
    if not rows:
        return []
    out = ["## Controls\n\n", "The controls the rules support, as their sources cite them, and the findings against each. "
           "A rule not run in this profile gives no evidence either way.\n\n",
           "| Framework | Control | Rules | Findings |\n| --- | --- | --- | ---: |\n"]
    for c in rows:
        ver = f" ({c['versions']})" if c.get("versions") else ""
        rules = ", ".join(r + ("" if r in c["rules_run"] else " (not run)") for r in c["rules"])
        out.append(f"| {c['framework']} | {cell(c['id'] + ver)} {cell(c['title'])} | {rules} | {c['findings']} |\n")
    out.append("\n")
    return out


def _mark(p: dict, what: str) -> str:
    if what == "administer":
        if p["full_control"]:
            return "yes (full control)"
        return ("yes: " + actions_text(p["administer"], ADMIN_ACTIONS)) if p["administer"] else "—"
    if what == "use":
        return ("yes: " + actions_text(p["use"], USAGE_ACTIONS)) if p["use"] else "—"
    g = p["create_grants"]
    return "yes" if g == "any" else ("only for AWS resources" if g == "aws-resources" else "—")


def _notes(p: dict) -> str:
    notes = []
    if p["category"] == "account":
        notes.append("delegation to IAM, not a person")
    if p["public"] is True:
        notes.append("**public**")
    if p["outside_home"] is True:
        notes.append("**outside the home accounts**")
    elif p["outside_home"] is None and p["accounts"] and p["category"] not in ("service", "service-linked-role"):
        notes.append("account cannot be compared with the home accounts")
    if p["unknown_actions"]:
        notes.append("unresolved actions: " + ", ".join(p["unknown_actions"]))
    if p["category"] in ("unknown", "wildcard"):
        notes.append("cannot be resolved")
    if p["only_in_some_branches"]:
        notes.append("in some branches of a condition only")
    conds = sorted({c for st in p["statements"] for c in st["conditions"]})
    if conds and p["category"] != "narrowed":
        notes.append("when " + "; ".join(conds))
    where = ", ".join(f"{st['file']}:{st['line']}" for st in p["statements"] if st.get("file"))
    if where:
        notes.append(f"at {where}")
    return cell("; ".join(notes)) if notes else ""


def key_section(i: int, e: dict) -> str:
    s = e["settings"]
    out = [f"### {i}. {code(e['address'])}\n\n",
           f"{e['source_name']} `{e['resource_type']}` at {code(str(e['file']) + ':' + str(e['line']))}"]
    if e.get("module_call"):
        out.append(f", from the module call at {code(e['module_call']['file'] + ':' + str(e['module_call']['line']))}")
    out.append(".")
    if e.get("exists_when"):
        out.append(f" It exists only when {cell(' and '.join(e['exists_when']))} (off by default); it is listed as it would be deployed then.")
    out.append("\n\n| Setting | Value |\n| --- | --- |\n")
    labels = (("description", "Description"), ("key_spec", "Key spec"), ("key_usage", "Key usage"), ("origin", "Origin"),
              ("custom_key_store", "Custom key store"), ("multi_region", "Multi-Region"), ("primary_key", "Primary key"),
              ("rotation", "Automatic rotation"), ("rotation_period_days", "Rotation period (days)"),
              ("deletion_window_days", "Deletion window (days)"), ("enabled", "Enabled"),
              ("deletion_protection", "Deletion protection"), ("bypass_policy_lockout_safety_check", "Bypass policy lockout check"))
    for k, label in labels:
        if k == "primary_key" and e["kind"] not in ("replica", "replica_external"):
            continue
        out.append(f"| {label} | {cell(setting_text(s[k]))} |\n")
    out.append(f"| Aliases | {cell('; '.join(setting_text(a['name']) for a in e['aliases'])) or '—'} |\n")
    out.append(f"| Tags | {cell(tags_text(e['tags']))} |\n")
    out.append(f"| Key policy | {cell(policy_text(e['policy']))} |\n\n")
    a = e["access"]
    if a["status"] == "unknown":
        expr = e["policy"].get("expr")
        out.append(f"**Access:** the key policy cannot be known before deployment{' (' + code(expr) + ')' if expr else ''}; "
                   "who may administer and use the key is unknown.\n\n")
    elif a["principals"]:
        intro = "AWS's default key policy applies (no policy is written)" if a["status"] == "default" else "From the key policy"
        out.append(f"**Access.** {intro}:\n\n| Principal | Administer | Use | Create grants | Notes |\n| --- | --- | --- | --- | --- |\n")
        for p in a["principals"]:
            out.append(f"| {cell(p['shown_as'])} | {cell(_mark(p, 'administer'))} | {cell(_mark(p, 'use'))} | {cell(_mark(p, 'grant'))} | {_notes(p)} |\n")
        out.append("\n")
    else:
        out.append("**Access:** no statement of the key policy allows anything.\n\n")
    if a["denies"]:
        out.append("Deny statements:\n\n")
        for d in a["denies"]:
            acts, conds = deny_text(d)
            out.append(f"- {cell(d['label'])} ({d['file']}:{d['line']}): denies {cell(d['principals'])} {cell(acts)}{cell(conds)}\n")
        out.append("\n")
    if e["grants"]:
        out.append("**Grants in the scan:**\n\n")
        for g in e["grants"]:
            flag = " — **outside the home accounts**" if g.get("grantee_outside_home") else ""
            cons = "with" if g["constraints"] else "no"
            out.append(f"- {code(g['address'])} ({g['file']}:{g['line']}): to {cell(setting_text(g['grantee']))}{flag}; "
                       f"operations {cell(setting_text(g['operations']))}; {cons} encryption-context constraints\n")
        out.append("\n")
    if e["consumers"] is None:
        out.append("**Used by:** not linked by this version of iackms.\n\n")
    elif e["consumers"]:
        out.append("**Used by:**\n\n")
        for c in e["consumers"]:
            how = f" `{c['attribute']}`" if c.get("attribute") else ""
            via = f" through {', '.join(code(v) for v in c['via'])}" if c.get("via") else ""
            some = " (in some branches)" if c.get("in_some_branches") else ""
            sent = "; receives data from " + ", ".join(code(x["address"]) for x in c["delivered_by"]) if c.get("delivered_by") else ""
            nf = f"; {len(c['findings'])} finding(s)" if c.get("findings") else ""
            out.append(f"- {code(c['address'])} ({c['resource_type']}{how}{via}) at {code(c['file'] + ':' + str(c['line']))}{some}{sent}{nf}\n")
        out.append("\n")
    else:
        out.append("**Used by:** no resource in the scan.\n\n")
    f = e["findings"]
    if f["items"]:
        out.append(f"**Findings** ({_findings_cell(f)}):\n\n| Severity | Rule | Location | Message |\n| --- | --- | --- | --- |\n")
        for x in f["items"]:
            rel = "".join(f"<br>{cell(r['what'])}: {code(r['file'] + ':' + str(r['line']))}" for r in x.get("related") or [])
            out.append(f"| {x['severity']} | [{x['rule_id']}]({rule_url(x['rule_id'])}) | {code(x['file'] + ':' + str(x['line']))}{rel} | {cell(x['message'])} |\n")
        out.append("\n")
    else:
        out.append("**Findings:** none.\n\n")
    if f["suppressed"]:
        out.append("Suppressed: " + cell("; ".join(f"{x['rule_id']} ({x.get('suppression_reason', '')})" for x in f["suppressed"])) + "\n\n")
    return "".join(out)


def footer(inv: dict) -> list[str]:
    out = []
    if inv["other_findings"]:
        out.append("## Findings on no key of the scan\n\nA file that cannot be read or a module that is not there may leave keys out of "
                   "the inventory; a resource may use a key outside the scan:\n\n")
        for x in inv["other_findings"]:
            out.append(f"- {x['severity']} [{x['rule_id']}]({rule_url(x['rule_id'])}) {code(x['file'] + ':' + str(x['line']))}: {cell(x['message'])}\n")
        out.append("\n")
    if inv["remote_modules"]:
        out.append("## Remote modules not scanned\n\nWhatever keys they create are not in this inventory (scan the plan JSON to include them):\n\n")
        for r in inv["remote_modules"]:
            first = r["calls"][0]
            more = f" and {len(r['calls']) - 1} more call(s)" if len(r["calls"]) > 1 else ""
            out.append(f"- {code(r['source'])} (module {cell(first['module'])} at {code(first['file'] + ':' + str(first['line']))}{more})\n")
        out.append("\n")
    return out


def render(inv: dict, limit: int | None = None, **_: object) -> str:
    """The Markdown inventory; with ``limit`` (bytes), the key sections and
    then the rows of the overview table past it are left out, with a note
    saying how many and where to find the whole inventory."""
    intro = "".join(header(inv))
    rows = overview_rows(inv)
    ctl = "".join(controls(inv))
    tail = "".join(footer(inv))
    sections = [key_section(i, e) for i, e in enumerate(inv["keys"], 1)]
    if not inv["keys"]:
        return intro + "No KMS keys in the scan.\n\n" + ctl + tail
    if limit is None:
        return intro + OVERVIEW_HEAD + "".join(rows) + "\n" + ctl + "## Keys\n\n" + "".join(sections) + tail

    def size(t: str) -> int:
        return len(t.encode())

    whole = "run `iackms inventory --format html` or `--format json` for the whole inventory"
    fixed = size(intro) + size(OVERVIEW_HEAD) + size(ctl) + 600  # room for the notes
    if fixed + size(tail) > limit:
        tail = f"_The findings on no key and the remote modules are not shown (the summary is limited); {whole}._\n\n"
    budget = limit - fixed - size(tail)
    shown_rows: list[str] = []
    for r in rows:
        if size(r) > budget:
            break
        shown_rows.append(r)
        budget -= size(r)
    out = [intro, OVERVIEW_HEAD, *shown_rows]
    if len(shown_rows) < len(rows):
        rest = len(rows) - len(shown_rows)
        out.append(f"\n_{rest} more key{'s' if rest != 1 else ''} not shown (the summary is limited); {whole}._\n")
    out += ["\n", ctl]
    shown_sections: list[str] = []
    for sec in sections[: len(shown_rows)]:
        if size(sec) > budget:
            break
        shown_sections.append(sec)
        budget -= size(sec)
    if shown_sections:
        out += ["## Keys\n\n", *shown_sections]
    if len(shown_sections) < len(sections):
        rest = len(sections) - len(shown_sections)
        out.append(f"_{rest} more key section{'s' if rest != 1 else ''} not shown (the summary is limited); {whole}._\n\n")
    return "".join(out) + tail


def write_summary(inv: dict) -> str:
    """`--format github`: append the inventory to the job summary
    (`GITHUB_STEP_SUMMARY`) within GitHub's 1 MiB limit; without it, the
    Markdown on standard output."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return render(inv)
    append_summary(Path(path), lambda room: render(inv, max(4_000, room)))
    return ""


__all__ = ["render", "write_summary", "SEVERITIES"]
