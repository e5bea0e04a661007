"""The inventory as one self-contained HTML file: a sortable, filterable
table of every key, a chart of the findings by severity and rule (inline
SVG), the controls, and a panel per key with its settings, its access
matrix (principals × administer / use / create grants), its grants, the
resources that use it and its findings, with links to the source lines.

Nothing is loaded from anywhere: the CSS and the script are inline, there
are no fonts, images or frames, and a Content-Security-Policy (`default-src
'none'`, the script and the style allowed by their SHA-256 only) makes the
browser refuse any load the page might attempt. The only external URLs are
links (`<a href>`) to the rule documentation, which the reader may follow;
the page opens from a file, without a server, and works without the script
(every row shown, unsorted).

Source links are relative to the directory the file is written to (or to
``link_base``, e.g. `https://github.com/org/repo/blob/<sha>`), with `#L<line>`.
"""

from __future__ import annotations

import base64
import hashlib
import os
from html import escape
from urllib.parse import quote

from ..docgen import rule_url
from ..inventory import actions_text, deny_text, setting_text
from ..semantics import ADMIN_ACTIONS as ADMIN, USAGE_ACTIONS as USE
from ..vocab import SEVERITIES, SEVERITY_RANK
from .inventory_csv import policy_text, tags_text

STYLE = """
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--alt:#f6f8fa;--accent:#0b5cad}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header,main,footer{max-width:1400px;margin:0 auto;padding:0 16px}
h1{font-size:24px;margin:16px 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:16px;margin:0 0 6px}
.meta,.where,footer{color:var(--muted)}
a{color:var(--accent)}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:6px 0 12px}
th,td{border:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
thead th{background:var(--alt)}
tbody tr:nth-child(even){background:#fbfcfd}
caption{text-align:left;font-weight:600;padding:4px 0}
th button{all:unset;cursor:pointer;font-weight:600}
th button::after{content:" \\2195";color:var(--muted)}
th[aria-sort=ascending] button::after{content:" \\2191"}
th[aria-sort=descending] button::after{content:" \\2193"}
th button:focus-visible{outline:2px solid var(--accent)}
[hidden]{display:none!important}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:120px}
.card b{display:block;font-size:20px}
.scroll{overflow-x:auto}
#keys{font-size:13px}
#keys td:nth-child(2){min-width:17em}#keys td:nth-child(4){min-width:15em}#keys td:nth-child(12){min-width:10em}
.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:center;margin:8px 0}
.filters input{min-width:260px;padding:4px}
.sev{display:inline-block;border-radius:10px;padding:0 7px;font-size:12px;color:#fff;white-space:nowrap}
.sev-critical{background:#8e1b1b}.sev-high{background:#c2410c}.sev-medium{background:#a16207}.sev-low{background:#1d4ed8}.sev-info{background:#64748b}
.none{color:var(--muted)}
rect.sev-critical{fill:#8e1b1b}rect.sev-high{fill:#c2410c}rect.sev-medium{fill:#a16207}rect.sev-low{fill:#1d4ed8}rect.sev-info{fill:#64748b}
svg text{font:12px system-ui,sans-serif;fill:var(--fg)}
.flag{font-weight:600;color:#8e1b1b}
.st-unknown,.st-varies{background:#fff8c5}.st-default,.st-not-applicable,.st-not-set,.st-outside-scan{color:var(--muted)}
article.key{border:1px solid var(--line);border-radius:6px;padding:10px 14px;margin:14px 0}
article.key:target{outline:3px solid var(--accent)}
.grid{display:grid;grid-template-columns:minmax(280px,2fr) 3fr;gap:16px}
.grid>*{min-width:0}.grid td,.grid tbody th{overflow-wrap:anywhere}
@media (max-width:900px){.grid{grid-template-columns:1fr}}
td.yes{background:#e6f4ea}td.full{background:#fde2e1;font-weight:600}td.limited{background:#eef6ff}
ul{margin:4px 0 10px;padding-left:20px}
@media print{.filters,th button::after{display:none}article.key{break-inside:avoid}}
"""

SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("keys");
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var heads = table.tHead.rows[0].cells;
  var filter = document.getElementById("filter");
  var source = document.getElementById("source");
  var severity = document.getElementById("severity");
  var count = document.getElementById("count");
  function value(row, i, num) {
    var c = row.cells[i];
    var v = c.getAttribute("data-sort");
    if (v === null) { v = c.textContent; }
    return num ? parseFloat(v) : v.toLowerCase();
  }
  Array.prototype.forEach.call(heads, function (th, i) {
    var b = th.querySelector("button");
    if (!b) { return; }
    b.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (o) { o.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var num = th.getAttribute("data-type") === "num";
      rows.slice().sort(function (a, b) {
        var x = value(a, i, num), y = value(b, i, num);
        var r = num ? x - y : (x < y ? -1 : (x > y ? 1 : 0));
        if (r === 0) { return value(a, 0, true) - value(b, 0, true); }
        return asc ? r : -r;
      }).forEach(function (r) { tbody.appendChild(r); });
    });
  });
  function apply() {
    var q = filter.value.trim().toLowerCase();
    var s = source.value;
    var sev = severity.value;
    var shown = 0;
    rows.forEach(function (r) {
      var worst = parseInt(r.getAttribute("data-worst"), 10);
      var ok = (!q || r.getAttribute("data-search").indexOf(q) >= 0) &&
        (!s || r.getAttribute("data-source") === s) &&
        (sev === "" || (sev === "none" ? worst < 0 : worst >= parseInt(sev, 10)));
      r.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " keys shown";
  }
  filter.addEventListener("input", apply);
  source.addEventListener("change", apply);
  severity.addEventListener("change", apply);
  apply();
}());
"""


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


#: what the page may load: nothing but its own inline style and script
CSP = f"default-src 'none'; script-src {_sha(SCRIPT)}; style-src {_sha(STYLE)}; img-src 'none'; base-uri 'none'; form-action 'none'"


def e(text: object) -> str:
    return escape(str(text), quote=True)


class _Links:
    def __init__(self, out_dir: str | None, link_base: str | None):
        self.out_dir = out_dir
        self.base = link_base.rstrip("/") if link_base else None

    def href(self, file: str, line: int | None) -> str:
        frag = f"#L{line}" if line else ""
        if self.base:
            return f"{self.base}/{quote(file)}{frag}"
        rel = file
        if self.out_dir:
            rel = os.path.relpath(file, self.out_dir).replace(os.sep, "/")
        return quote(rel) + frag

    def a(self, file: str | None, line: int | None, near: str | None = None) -> str:
        """A link to a source line; ``line N`` when the file is ``near`` (the key's own file)."""
        if not file:
            return '<span class="none">—</span>'
        if near is not None and file == near and line:
            return f'<a href="{e(self.href(file, line))}" title="{e(file)}:{line}">line {line}</a>'
        text = f"{file}:{line}" if line else file
        return f'<a href="{e(self.href(file, line))}"><code>{e(text)}</code></a>'


def _sev_badge(sev: str | None, text: str) -> str:
    if not sev:
        return f'<span class="none">{e(text)}</span>'
    return f'<span class="sev sev-{e(sev)}">{e(text)}</span>'


def _findings_text(f: dict) -> str:
    return ", ".join(f"{n} {s}" for s, n in f["by_severity"].items() if n) or "none"


def _cell_setting(s: dict) -> str:
    return f'<td class="st-{e(s["status"])}">{e(setting_text(s))}</td>'


def _chart(inv: dict) -> str:
    fs = inv["summary"]["findings"]
    by_sev = fs["by_severity"]
    if not fs["total"]:
        return "<p>No findings.</p>"
    # per rule, per severity: from the key findings and the findings on no key
    per_rule: dict[str, dict[str, int]] = {}
    for k in inv["keys"]:
        for x in k["findings"]["items"]:
            per_rule.setdefault(x["rule_id"], {}).setdefault(x["severity"], 0)
            per_rule[x["rule_id"]][x["severity"]] += 1
    for x in inv["other_findings"]:
        per_rule.setdefault(x["rule_id"], {}).setdefault(x["severity"], 0)
        per_rule[x["rule_id"]][x["severity"]] += 1
    width, label, gap, bar = 720, 90, 6, 18
    top = max([*by_sev.values(), *(sum(v.values()) for v in per_rule.values()), 1])
    scale = (width - label - 60) / top
    rows = [(s, {s: by_sev[s]}) for s in SEVERITIES] + [("", {})] + \
        sorted(per_rule.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    height = len(rows) * (bar + gap) + 30
    out = [f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-labelledby="chart-title"><title id="chart-title">Findings by severity ({e(_findings_text(fs))}) and by rule</title>']
    y = 4
    for name, counts in rows:
        if not name:
            out.append(f'<text x="0" y="{y + 13}" font-weight="600">By rule</text>')
            y += bar + gap
            continue
        out.append(f'<text x="0" y="{y + 13}">{e(name)}</text>')
        x = float(label)
        total = 0
        for s in SEVERITIES:
            n = counts.get(s, 0)
            if not n:
                continue
            w = max(1.0, n * scale)
            out.append(f'<rect class="sev-{s}" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}"><title>{e(name)}: {n} {s}</title></rect>')
            x += w
            total += n
        out.append(f'<text x="{x + 4:.1f}" y="{y + 13}">{total}</text>')
        y += bar + gap
    out.append("</svg>")
    return "".join(out)


def _search_text(k: dict) -> str:
    parts = [k["address"], k["file"], k["resource_type"], k["source_name"], k["kind"]]
    parts += [setting_text(a["name"]) for a in k["aliases"]]
    parts += [p["shown_as"] + " " + p["principal"] for p in k["access"]["principals"]]
    parts += [tags_text(k["tags"])]
    parts += [f"{x['rule_id']} {x['severity']}" for x in k["findings"]["items"]]
    return " ".join(parts).lower()


def _table(inv: dict, links: _Links) -> str:
    cols = (("#", "num"), ("Key", "text"), ("Source", "text"), ("Location", "text"), ("Key spec", "text"), ("Usage", "text"),
            ("Origin", "text"), ("Rotation", "text"), ("Deletion window", "num"), ("Enabled", "text"), ("Multi-Region", "text"),
            ("Aliases", "text"), ("Administer", "num"), ("Use", "num"), ("Flags", "text"), ("Findings", "num"))
    head = "".join(f'<th scope="col" data-type="{t}"><button type="button">{e(n)}</button></th>' for n, t in cols)
    rows = []
    for i, k in enumerate(inv["keys"], 1):
        s = k["settings"]
        f = k["findings"]
        a = k["access"]
        worst = SEVERITY_RANK.get(f["worst"] or "", -1)
        flags = []
        if a["public"]:
            flags.append("public")
        if a["outside_home"]:
            flags.append("outside home accounts")
        if k.get("exists_when"):
            flags.append("off by default")
        if a["status"] == "unknown":
            flags.append("policy unknown")
        elif a["unresolved"]:
            flags.append("unresolved principals")
        dw = s["deletion_window_days"]
        dw_sort = dw["value"] if isinstance(dw.get("value"), int) else -1
        mr = "replica" if k["kind"] in ("replica", "replica_external") else setting_text(s["multi_region"])
        admin_n = len(a["administer"])
        use_n = len(a["use"])
        adm = "unknown" if a["status"] == "unknown" else str(admin_n)
        use = "unknown" if a["status"] == "unknown" else str(use_n)
        rows.append(
            f'<tr data-source="{e(k["source"])}" data-worst="{worst}" data-search="{e(_search_text(k))}">'
            f'<td data-sort="{i}">{i}</td>'
            f'<td><a href="#key-{i}"><code>{e(k["address"])}</code></a></td>'
            f'<td>{e(k["source_name"])}</td>'
            f'<td data-sort="{e(k["file"])}:{k["line"]:08d}">{links.a(k["file"], k["line"])}</td>'
            f'{_cell_setting(s["key_spec"])}{_cell_setting(s["key_usage"])}{_cell_setting(s["origin"])}'
            f'{_cell_setting(s["rotation"])}'
            f'<td class="st-{e(dw["status"])}" data-sort="{dw_sort}">{e(setting_text(dw))}</td>'
            f'{_cell_setting(s["enabled"])}<td>{e(mr)}</td>'
            f'<td>{e("; ".join(setting_text(al["name"]) for al in k["aliases"])) or "—"}</td>'
            f'<td data-sort="{admin_n if a["status"] != "unknown" else -1}" title="{e("; ".join(a["administer"]))}">{adm}</td>'
            f'<td data-sort="{use_n if a["status"] != "unknown" else -1}" title="{e("; ".join(a["use"]))}">{use}</td>'
            f'<td class="{"flag" if flags else "none"}">{e(", ".join(flags)) or "—"}</td>'
            f'<td data-sort="{(worst + 1) * 100000 + f["total"]}">{_sev_badge(f["worst"], _findings_text(f))}</td>'
            "</tr>")
    sources = sorted({k["source"]: k["source_name"] for k in inv["keys"]}.items())
    opts = "".join(f'<option value="{e(v)}">{e(n)}</option>' for v, n in sources)
    sev_opts = "".join(f'<option value="{SEVERITY_RANK[s]}">{e(s)} or worse</option>' for s in SEVERITIES)
    n = len(inv["keys"])
    return (
        '<div class="filters">'
        '<label>Filter <input id="filter" type="search" placeholder="address, file, alias, principal, rule…" autocomplete="off"></label>'
        f'<label>Source <select id="source"><option value="">all</option>{opts}</select></label>'
        f'<label>Findings <select id="severity"><option value="">any</option>{sev_opts}<option value="none">none</option></select></label>'
        f'<span id="count" aria-live="polite">{n} of {n} keys shown</span></div>'
        f'<div class="scroll"><table id="keys"><caption>Every key of the scan (select a column to sort)</caption><thead><tr>{head}</tr></thead>'
        f'<tbody>{"".join(rows)}</tbody></table></div>')


def _controls(inv: dict) -> str:
    if not inv["controls"]:
        return ""
    rows = []
    for c in inv["controls"]:
        ver = f" ({c['versions']})" if c.get("versions") else ""
        rules = ", ".join(f'<a href="{e(rule_url(r))}">{e(r)}</a>' + ("" if r in c["rules_run"] else " (not run)") for r in c["rules"])
        rows.append(f"<tr><td>{e(c['framework'])}</td><td><code>{e(c['id'])}</code>{e(ver)}</td><td>{e(c['title'])}</td>"
                    f"<td>{rules}</td><td>{c['findings']}</td></tr>")
    return ("<h2 id=\"controls\">Controls</h2><p>The controls the rules support, as their sources cite them; a rule "
            "not run in this profile gives no evidence either way.</p><table><thead><tr><th>Framework</th><th>Control</th>"
            "<th>Title</th><th>Rules</th><th>Findings</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _mark(p: dict, what: str) -> str:
    if what == "administer":
        acts = p["administer"]
        if p["full_control"]:
            return f'<td class="full" title="{e(", ".join(acts))}">✔ full control</td>'
        return f'<td class="yes">✔ {e(actions_text(acts, ADMIN))}</td>' if acts else '<td class="none">—</td>'
    if what == "use":
        acts = p["use"]
        return f'<td class="yes" title="{e(", ".join(acts))}">✔ {e(actions_text(acts, USE))}</td>' if acts else '<td class="none">—</td>'
    g = p["create_grants"]
    if g == "any":
        return '<td class="yes">✔ any grant</td>'
    if g == "aws-resources":
        return '<td class="limited">only for AWS resources</td>'
    return '<td class="none">—</td>'


def _notes(p: dict, links: _Links, near: str) -> str:
    notes = []
    if p["category"] == "account":
        notes.append("delegation to the account's IAM policies, not a person")
    if p["public"] is True:
        notes.append('<span class="flag">public: anyone</span>')
    if p["outside_home"] is True:
        notes.append('<span class="flag">outside the home accounts</span>')
    elif p["outside_home"] is None and p["accounts"] and p["category"] not in ("service", "service-linked-role"):
        notes.append("account cannot be compared with the home accounts")
    if p["unknown_actions"]:
        notes.append("unresolved actions: " + e(", ".join(p["unknown_actions"])))
    if p["category"] in ("unknown", "wildcard"):
        notes.append("cannot be resolved")
    if p["only_in_some_branches"]:
        notes.append("in some branches of a condition only")
    conds = sorted({c for st in p["statements"] for c in st["conditions"]})
    if conds and p["category"] != "narrowed":
        notes.append("when " + e("; ".join(conds)))
    where = ", ".join(links.a(st["file"], st["line"], near) for st in p["statements"] if st.get("file"))
    if where:
        notes.append(where)
    return "<br>".join(notes)


def _panel(i: int, k: dict, links: _Links) -> str:
    s = k["settings"]
    f = k["findings"]
    a = k["access"]
    out = [f'<article class="key" id="key-{i}"><h3>{i}. <code>{e(k["address"])}</code> {_sev_badge(f["worst"], _findings_text(f))}</h3>',
           f'<p class="where">{e(k["source_name"])} <code>{e(k["resource_type"])}</code> at {links.a(k["file"], k["line"])}']
    if k.get("module_call"):
        out.append(f', from the module call at {links.a(k["module_call"]["file"], k["module_call"]["line"])}')
    if k.get("exists_when"):
        out.append(f'. It exists only when {e(" and ".join(k["exists_when"]))} (off by default); it is listed as it would be deployed then')
    out.append("</p><div class=\"grid\"><table><caption>Configuration</caption><tbody>")
    labels = (("description", "Description"), ("key_spec", "Key spec"), ("key_usage", "Key usage"), ("origin", "Origin"),
              ("custom_key_store", "Custom key store"), ("multi_region", "Multi-Region"), ("primary_key", "Primary key"),
              ("rotation", "Automatic rotation"), ("rotation_period_days", "Rotation period (days)"),
              ("deletion_window_days", "Deletion window (days)"), ("enabled", "Enabled"),
              ("deletion_protection", "Deletion protection"), ("bypass_policy_lockout_safety_check", "Bypass policy lockout check"))
    for key, label in labels:
        if key == "primary_key" and k["kind"] not in ("replica", "replica_external"):
            continue
        st = s[key]
        where = ""
        if st.get("file") and st["status"] in ("set", "unknown", "varies"):
            origin = f'; value at {links.a(st["origin"]["file"], st["origin"]["line"], k["file"])}' if st.get("origin") else ""
            where = f' <span class="none">({links.a(st["file"], st["line"], k["file"])}{origin})</span>'
        out.append(f'<tr><th scope="row">{e(label)}</th><td class="st-{e(st["status"])}">{e(setting_text(st))}{where}</td></tr>')
    aliases = "; ".join(setting_text(al["name"]) for al in k["aliases"]) or "—"
    out.append(f'<tr><th scope="row">Aliases</th><td>{e(aliases)}</td></tr>')
    out.append(f'<tr><th scope="row">Tags</th><td class="st-{e(k["tags"]["status"])}">{e(tags_text(k["tags"]))}</td></tr>')
    out.append(f'<tr><th scope="row">Key policy</th><td class="st-{e(k["policy"]["status"])}">{e(policy_text(k["policy"]))}</td></tr>')
    out.append("</tbody></table><div>")
    if a["status"] == "unknown":
        out.append("<p><strong>Access:</strong> the key policy cannot be known before deployment"
                   + (f" (<code>{e(k['policy']['expr'])}</code>)" if k["policy"].get("expr") else "")
                   + "; who may administer and use the key is unknown.</p>")
    elif a["principals"]:
        cap = "Access matrix: AWS's default key policy (none is written)" if a["status"] == "default" else "Access matrix: from the key policy"
        out.append(f'<table class="matrix"><caption>{e(cap)}</caption><thead><tr><th scope="col">Principal</th>'
                   '<th scope="col">Administer</th><th scope="col">Use</th><th scope="col">Create grants</th><th scope="col">Notes</th></tr></thead><tbody>')
        for p in a["principals"]:
            out.append(f'<tr><th scope="row">{e(p["shown_as"])}</th>{_mark(p, "administer")}{_mark(p, "use")}{_mark(p, "grant")}'
                       f"<td>{_notes(p, links, k['file'])}</td></tr>")
        for g in k["grants"]:
            flag = ' <span class="flag">outside the home accounts</span>' if g.get("grantee_outside_home") else ""
            out.append(f'<tr><th scope="row">{e(setting_text(g["grantee"]))} (grant)</th><td colspan="3">operations: '
                       f'{e(setting_text(g["operations"]))}</td><td>{links.a(g["file"], g["line"], k["file"])} <code>{e(g["address"])}</code>{flag}</td></tr>')
        out.append("</tbody></table>")
    else:
        out.append("<p><strong>Access:</strong> no statement of the key policy allows anything.</p>")
    if a["denies"]:
        out.append("<p><strong>Deny statements</strong></p><ul>")
        for d in a["denies"]:
            acts, conds = deny_text(d)
            out.append(f"<li>{e(d['label'])} ({links.a(d['file'], d['line'], k['file'])}): denies {e(d['principals'])} {e(acts)}{e(conds)}</li>")
        out.append("</ul>")
    if k["grants"]:
        out.append("<p><strong>Grants in the scan</strong></p><ul>")
        for g in k["grants"]:
            cons = "with" if g["constraints"] else "no"
            out.append(f"<li><code>{e(g['address'])}</code> ({links.a(g['file'], g['line'], k['file'])}): to {e(setting_text(g['grantee']))}; "
                       f"operations {e(setting_text(g['operations']))}; {cons} encryption-context constraints</li>")
        out.append("</ul>")
    if k["consumers"] is None:
        out.append("<p><strong>Used by:</strong> not linked by this version of iackms.</p>")
    elif k["consumers"]:
        items = []
        for c in k["consumers"]:
            how = f" <code>{e(c['attribute'])}</code>" if c.get("attribute") else ""
            via = " through " + ", ".join(f"<code>{e(v)}</code>" for v in c["via"]) if c.get("via") else ""
            some = " (in some branches)" if c.get("in_some_branches") else ""
            sent = "; receives data from " + ", ".join(f"<code>{e(x['address'])}</code>" for x in c["delivered_by"]) if c.get("delivered_by") else ""
            nf = f'; <span class="flag">{len(c["findings"])} finding(s)</span>' if c.get("findings") else ""
            items.append(f"<li><code>{e(c['address'])}</code> ({e(c['resource_type'])}{how}{via}) {links.a(c['file'], c['line'], k['file'])}{some}{sent}{nf}</li>")
        out.append("<p><strong>Used by</strong></p><ul>" + "".join(items) + "</ul>")
    else:
        out.append("<p><strong>Used by:</strong> no resource in the scan.</p>")
    out.append("</div></div>")
    if f["items"]:
        out.append('<table><caption>Findings</caption><thead><tr><th scope="col">Severity</th><th scope="col">Rule</th>'
                   '<th scope="col">Location</th><th scope="col">Message</th></tr></thead><tbody>')
        for x in f["items"]:
            out.append(f'<tr><td>{_sev_badge(x["severity"], x["severity"])}</td><td><a href="{e(rule_url(x["rule_id"]))}">{e(x["rule_id"])}</a></td>'
                       f'<td>{links.a(x["file"], x["line"], k["file"])}{_related(x, links, k["file"])}</td><td>{e(x["message"])}</td></tr>')
        out.append("</tbody></table>")
    else:
        out.append("<p><strong>Findings:</strong> none.</p>")
    if f["suppressed"]:
        out.append("<p>Suppressed: " + e("; ".join(f"{x['rule_id']} ({x.get('suppression_reason', '')})" for x in f["suppressed"])) + "</p>")
    out.append('<p><a href="#keys-section">Back to the table</a></p></article>')
    return "".join(out)


def _related(x: dict, links: _Links, near: str) -> str:
    rel = x.get("related") or []
    return "".join(f'<br><span class="none">{e(r["what"])}: </span>{links.a(r["file"], r["line"], near)}' for r in rel)


def _other(inv: dict, links: _Links) -> str:
    out = []
    if inv["other_findings"]:
        out.append("<h2>Findings on no key of the scan</h2><p>A file that cannot be read or a module that is not there may leave keys out "
                   "of the inventory; a resource may use a key outside the scan.</p><ul>")
        for x in inv["other_findings"]:
            out.append(f'<li>{_sev_badge(x["severity"], x["severity"])} <a href="{e(rule_url(x["rule_id"]))}">{e(x["rule_id"])}</a> '
                       f'{links.a(x["file"], x["line"])}: {e(x["message"])}</li>')
        out.append("</ul>")
    if inv["remote_modules"]:
        out.append("<h2>Remote modules not scanned</h2><p>Whatever keys they create are not in this inventory (scan the plan JSON to include them).</p><ul>")
        for r in inv["remote_modules"]:
            calls = ", ".join(f"module {e(c['module'])} at {links.a(c['file'], c['line'])}" for c in r["calls"])
            out.append(f"<li><code>{e(r['source'])}</code>: {calls}</li>")
        out.append("</ul>")
    if inv["warnings"]:
        out.append("<h2>Warnings</h2><ul>" + "".join(f"<li>{e(w)}</li>" for w in inv["warnings"]) + "</ul>")
    return "".join(out)


def render(inv: dict, out_dir: str | None = None, link_base: str | None = None, **_: object) -> str:
    """The HTML page; ``out_dir`` is the directory (relative to the current
    one, or absolute) the page is written to, so that source links resolve."""
    links = _Links(out_dir, link_base)
    s = inv["summary"]
    fs = s["findings"]
    cards = [("Keys", s["keys"]), ("Findings", fs["total"]), *((sev.capitalize(), fs["by_severity"][sev]) for sev in SEVERITIES),
             ("Public keys", s["public"]), ("Outside home accounts", s["outside_home"]), ("Policy unknown", s["unknown_policy"])]
    src = ", ".join(f"{n} {name}" for name, n in (("Terraform", s["by_source"]["terraform"]), ("CloudFormation", s["by_source"]["cloudformation"]),
                                                  ("plan", s["by_source"]["plan"])) if n)
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="iackms {e(inv["version"])}">',
        "<title>KMS key inventory</title>",
        f"<style>{STYLE}</style></head><body>",
        "<header><h1>KMS key inventory</h1>",
        f'<p class="meta">{s["keys"]} key{"s" if s["keys"] != 1 else ""}{" (" + e(src) + ")" if src else ""} in {s["files_scanned"]} file(s) scanned · '
        f'profile <code>{e(inv["profile"])}</code> · iackms {e(inv["version"])} · inventory format {inv["format_version"]}</p></header><main>',
        '<div class="cards">' + "".join(f'<div class="card">{e(n)}<b>{v}</b></div>' for n, v in cards) + "</div>",
        '<h2 id="chart">Findings by severity and rule</h2>', _chart(inv),
        '<h2 id="keys-section">Keys</h2>', _table(inv, links) if inv["keys"] else "<p>No KMS keys in the scan.</p>",
        _controls(inv),
        '<h2 id="details">Keys in detail</h2>' if inv["keys"] else "",
        *(_panel(i, k, links) for i, k in enumerate(inv["keys"], 1)),
        _other(inv, links),
        "</main><footer><p>Generated by iackms from the code under review, before deployment. Unknown values are shown as "
        "unknown with the expression they come from; unwritten settings show AWS's default. This file loads nothing "
        "from the network.</p></footer>",
        f"<script>{SCRIPT}</script></body></html>\n",
    ]
    return "".join(parts)
