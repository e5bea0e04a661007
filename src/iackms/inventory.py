"""The key inventory (issue 16): every key of a scan, how it is configured,
who may administer it, use it and create grants on it, the resources that
use it and the findings on it — from the model and the findings of one scan.

:func:`build` is a pure function of the scan's model, its findings and the
configuration; it returns plain data (dicts, lists, strings, numbers,
booleans, None), which *is* the JSON format (``docs/inventory.md``: a
stable contract, fields only ever added) and what every renderer
(``reporters/inventory_*.py``) reads. All policy meaning comes from
:mod:`iackms.semantics`; nothing here interprets a policy itself.

Values that cannot be known before deployment are shown as unknown with
the expression they come from; a setting that is not written shows AWS's
documented default and says so (``status: default``); nothing is guessed.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from . import __version__
from . import semantics as sem
from .findings import Finding, Report
from .model import (
    THIS_ACCOUNT,
    Attr,
    Choice,
    Key,
    Location,
    ScanUnit,
    Unknown,
    display,
    is_known,
)
from .policy import build_policy, parse_grantee
from .rules import REGISTRY
from .rules.keyspec import rotation_ineligibility
from .vocab import SEVERITIES, UNRESOLVED

#: bumped only for a change that is not an addition (see docs/inventory.md)
FORMAT_VERSION = 1

SOURCE_NAMES = {"terraform": "Terraform", "cloudformation": "CloudFormation", "plan": "Terraform plan"}

#: the settings of a key, in the order every format shows them: (field, model attribute)
SETTINGS = (
    ("description", "description"),
    ("key_spec", "key_spec"),
    ("key_usage", "key_usage"),
    ("origin", "origin"),
    ("custom_key_store", "custom_key_store_id"),
    ("multi_region", "multi_region"),
    ("primary_key", "primary_key"),
    ("rotation", "rotation"),
    ("rotation_period_days", "rotation_period"),
    ("deletion_window_days", "deletion_window"),
    ("enabled", "enabled"),
    ("deletion_protection", "deletion_protection"),
    ("bypass_policy_lockout_safety_check", "bypass_lockout"),
)

#: what AWS does when a setting is not written (the documented defaults of
#: CreateKey / the Terraform provider / CloudFormation); None: nothing
DEFAULTS: dict[str, Any] = {
    "key_spec": "SYMMETRIC_DEFAULT",
    "key_usage": "ENCRYPT_DECRYPT",
    "origin": "AWS_KMS",
    "custom_key_store": None,  # AWS KMS's own key store
    "multi_region": False,
    "rotation": False,
    "rotation_period_days": 365,
    "deletion_window_days": 30,
    "enabled": True,
    "deletion_protection": False,
    "bypass_policy_lockout_safety_check": False,
}

#: settings a replica key shares with its primary key
INHERITED = ("key_spec", "key_usage", "origin", "rotation", "rotation_period_days")

#: AWS's default key policy: the account's root, that is the account's IAM policies, may do everything
DEFAULT_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                   "Principal": {"AWS": f"arn:aws:iam::{THIS_ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}],
}

#: the model's markers inside strings (unresolved pieces, "this account", opaque values)
_MARKERS = re.compile("[\ue000-\ue004]")
_INDEX = re.compile(r'\[(?:"(?:[^"\\]|\\.)*"|\d+)\]')


# --- values -------------------------------------------------------------------------


def _where(loc: Location | None) -> dict:
    if loc is None:
        return {"file": None, "line": None}
    return {"file": loc.file, "line": max(1, loc.line)}


def json_value(v: Any) -> Any:
    """A known model value as plain JSON data."""
    if isinstance(v, dict):
        return {str(k): json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_value(x) for x in v]
    if isinstance(v, str):
        return display(v) if _MARKERS.search(v) else v
    if v is None or isinstance(v, (bool, int, float)):
        return v
    return display(v)


def _expr(attr: Attr) -> str | None:
    """The source expression of a value that is not written as a plain literal."""
    e = " ".join((attr.expr or "").split())
    if not e:
        return None
    shown = display(attr.value) if not isinstance(attr.value, (Unknown, Choice)) else ""
    if e == shown or e.strip('"') == shown or e.lower() == shown.lower():
        return None
    return e


def _option(v: Any) -> dict:
    if isinstance(v, Unknown) or (isinstance(v, str) and not is_known(v)) or (not isinstance(v, Choice) and not is_known(v)):
        return {"status": "unknown", "value": None, "expr": display(v),
                "reason": (v.reason or None) if isinstance(v, Unknown) else None}
    return {"status": "set", "value": json_value(v)}


def _choice_options(c: Choice) -> list[dict]:
    """The options of a value that depends on a condition or an instance,
    each with when it holds (as far as the model tells)."""
    on = getattr(c, "on", None)
    labels = getattr(c, "labels", ()) or ()
    out = []
    for i, o in enumerate(c.options):
        if isinstance(o, Choice):
            for sub in _choice_options(o):
                out.append(sub)
            continue
        d = _option(o)
        ks = labels[i] if i < len(labels) else ()
        d["when"] = " or ".join(on.phrase(k) for k in ks) if on is not None and ks else None
        out.append(d)
    return out


def setting(attr: Attr, default: Any = None, *, has_default: bool = True) -> dict:
    """One setting: ``status`` ``set`` (written, known), ``default`` (not
    written: AWS's default applies), ``unknown`` (written, not known before
    deployment: ``expr`` and ``reason``), ``varies`` (depends on a condition or
    an instance: ``options``)."""
    d: dict[str, Any] = {"status": "", "value": None, "expr": None, **_where(attr.loc)}
    origin = getattr(attr, "origin", None)
    if origin is not None and attr.present:
        d["origin"] = _where(origin)  # where the value itself is written (a variable's default, a tfvars file)
    if not attr.present:
        d["status"] = "default" if has_default else "not-set"
        d["value"] = default if has_default else None
        return d
    v = attr.value
    if isinstance(v, Choice):
        d["status"] = "varies"
        d["expr"] = " ".join((v.expr or attr.expr or "").split()) or None
        d["options"] = _choice_options(v)
        return d
    if isinstance(v, Unknown) or not is_known(v):
        d["status"] = "unknown"
        d["expr"] = display(v) if not isinstance(v, Unknown) or not attr.expr else " ".join(attr.expr.split())
        if isinstance(v, Unknown) and v.reason:
            d["reason"] = v.reason
        return d
    d["status"] = "set"
    d["value"] = json_value(v)
    d["expr"] = _expr(attr)
    return d


def setting_text(s: dict | None) -> str:
    """A setting as one line of text (Markdown, CSV, HTML)."""
    if not s:
        return ""
    st = s.get("status")
    if st == "set":
        v = _value_text(s.get("value"))
        return f"{v} ({s['expr']})" if s.get("expr") and len(s["expr"]) <= 80 else v
    if st == "default":
        v = s.get("value")
        note = f", {s['note']}" if s.get("note") else ""
        return "(not set)" if v is None else f"{_value_text(v)} (default{note})"
    if st == "not-set":
        return "(not set)"
    if st == "unknown":
        return f"unknown: {s.get('expr') or '?'}" + (f" ({s['key']})" if s.get("key") else "")
    if st == "varies":
        parts = []
        for o in s.get("options") or []:
            t = _value_text(o["value"]) if o["status"] == "set" else f"unknown: {o.get('expr')}"
            parts.append(f"{t} when {o['when']}" if o.get("when") else t)
        head = " | ".join(dict.fromkeys(parts))
        return f"{head} (depends on {s['expr']})" if s.get("expr") else head
    if st == "inherited":
        v = s.get("value")
        src = s.get("from") or "the primary key"
        if v is not None:
            return f"{_value_text(v)} (from {src})"
        if s.get("primary_status") == "not-applicable":
            return f"n/a ({s['reason']}; from {src})" if s.get("reason") else f"n/a (from {src})"
        if s.get("expr"):
            return f"unknown: {s['expr']} (from {src})"
        return f"from the primary key ({src})"
    if st == "not-applicable":
        return f"n/a ({s['reason']})" if s.get("reason") else "n/a"
    if st == "outside-scan":
        return "not in the scan"
    return ""


def actions_text(actions: list[str], every: Iterable[str]) -> str:
    """`Decrypt, Encrypt`, or `all (13)` when the list holds every action of ``every``."""
    names = [a.removeprefix("kms:") for a in actions]
    if set(names) >= set(every):
        return f"all ({len(names)})"
    return ", ".join(names)


def _value_text(v: Any) -> str:
    if v is None:
        return "(none)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return ", ".join(f"{k}={_value_text(x)}" for k, x in v.items())
    if isinstance(v, list):
        return ", ".join(_value_text(x) for x in v)
    return str(v)


# --- one key --------------------------------------------------------------------------


def _settings(key: Key, primary: Key | None) -> dict[str, dict]:
    out: dict[str, dict] = {}
    if key.kind == "policy_only":
        for name, _ in SETTINGS:
            out[name] = {"status": "outside-scan", "value": None, "expr": None, "file": None, "line": None}
        byp = key.attr("bypass_lockout")
        if byp.present:
            out["bypass_policy_lockout_safety_check"] = setting(byp, False)
        return out
    for name, attr_name in SETTINGS:
        attr = key.attr(attr_name)
        if name == "primary_key":
            out[name] = setting(attr, has_default=False) if key.is_replica else _na("only replica keys have a primary key")
            if primary is not None:
                out[name]["key"] = primary.address
            continue
        if key.is_replica and name in INHERITED and not attr.present:
            out[name] = _inherited(name, attr_name, key, primary)
            continue
        if name == "multi_region" and key.is_replica and not attr.present:
            out[name] = {"status": "inherited", "value": True, "expr": None, "file": None, "line": None,
                         "from": _primary_name(key, primary)}
            continue
        out[name] = setting(attr, DEFAULTS.get(name), has_default=name in DEFAULTS)
    if key.custom_key_store is not None and out["custom_key_store"]["status"] in ("set", "unknown"):
        out["custom_key_store"]["store"] = key.custom_key_store.address
    # rotation AWS cannot do is not a default of "off": say why it does not apply
    if not key.is_replica:
        reason, _, _ = rotation_ineligibility(key)
        if reason and not key.attr("rotation").present:
            out["rotation"] = _na(reason)
        rot = out["rotation"]
        if not key.attr("rotation_period").present:
            if rot["status"] in ("set", "default") and rot["value"] is False:
                out["rotation_period_days"] = _na("automatic rotation is off")
            elif rot["status"] == "not-applicable":
                out["rotation_period_days"] = _na(rot["reason"])
            elif rot["status"] != "set" or rot["value"] is not True:
                out["rotation_period_days"]["note"] = "when rotation is on"
    return out


def _na(reason: str) -> dict:
    return {"status": "not-applicable", "value": None, "expr": None, "file": None, "line": None, "reason": reason}


def _primary_name(key: Key, primary: Key | None) -> str:
    if primary is not None:
        return primary.address
    p = key.attr("primary_key")
    return display(p.value) if p.present else "the primary key"


def _inherited(name: str, attr_name: str, key: Key, primary: Key | None) -> dict:
    d = {"status": "inherited", "value": None, "expr": None, "file": None, "line": None, "from": _primary_name(key, primary)}
    if primary is not None:
        ps = _settings(primary, None)[name]
        d["value"] = ps.get("value") if ps["status"] in ("set", "default") else None
        d["primary_status"] = ps["status"]
        if ps["status"] not in ("set", "default"):
            d["expr"] = ps.get("expr")
        if ps.get("reason"):
            d["reason"] = ps["reason"]
    return d


def _tags(key: Key) -> dict:
    attr = key.attr("tags")
    d: dict[str, Any] = {"status": "", "value": {}, "unknown": {}, "expr": None, **_where(attr.loc)}
    if key.kind == "policy_only":
        d["status"] = "outside-scan"
        return d
    if not attr.present:
        d["status"] = "not-set"
        return d
    v = attr.value
    if isinstance(v, dict):
        d["status"] = "set"
        for k, x in v.items():
            if is_known(x):
                d["value"][str(k)] = json_value(x)
            else:
                d["unknown"][str(k)] = display(x)
        d["expr"] = None if (attr.expr or "").lstrip().startswith(("{", "[", "-")) else _expr(attr)
        return d
    s = setting(attr)
    s["unknown"] = {}
    if s["status"] == "set":  # not a map (a list of CloudFormation tags the parser could not map)
        s["status"], s["expr"] = "unknown", display(attr.value)
    s["value"] = {}  # the tags that are known: none (the options of `varies` say what each branch has)
    return s


def _aliases(key: Key) -> list[dict]:
    out = []
    for al in key.aliases:
        name = al.attr("name")
        if not name.present and al.attr("name_prefix").present:
            name = al.attr("name_prefix")
        out.append({"address": al.address, "name": setting(name, has_default=False), **_where(al.loc)})
    return out


def _statement(st, key: Key) -> dict:
    return {"label": st.label, "sid": st.sid, **_where(st.loc), "conditions": sem.conditions_text(st),
            "in_branch": bool(sem.in_branch(key, st))}


def _account_text(a: str | None) -> str:
    if a is None:
        return "an unknown account"
    if a == THIS_ACCOUNT:
        return "this account"
    return f"account {display(a)}"


def _shown_as(a: sem.PrincipalAccess) -> str:
    pr = a.principal
    if a.category == "account":
        return f"IAM policies of {_account_text(pr.account)}"
    if a.category == "service":
        return f"AWS service {display(pr.value)}"
    if a.category == "service-linked-role":
        return f"service-linked role {display(pr.value)}"
    if pr.kind == "NotPrincipal":
        every = "every principal"
        if a.category == "narrowed":
            return f"{every} but {pr.value} admitted by {'; '.join(a.narrowed_by)}"
        return f"{every} but {pr.value}" + (" (anyone)" if a.category == "public" else "")
    if a.category == "public":
        return "anyone (wildcard principal)"
    if a.category == "narrowed":
        return f"any principal admitted by {'; '.join(a.narrowed_by)}"
    if a.category == "wildcard":
        return "a wildcard principal whose conditions cannot be resolved"
    if a.category == "unknown":
        return f"unresolved principal {pr}"
    return str(pr)


def _action_names(acts: Iterable[str]) -> list[str]:
    return sorted("kms:" + x for x in acts)


def _principal(a: sem.PrincipalAccess, key: Key) -> dict:
    return {
        "principal": display(a.principal.value) if a.principal.kind != "NotPrincipal" else f"NotPrincipal: {a.principal.value}",
        "shown_as": _shown_as(a),
        "category": a.category,
        "person": a.person,
        "accounts": [_account_text(x).removeprefix("account ") for x in a.accounts],
        "outside_home": None if a.home is None else not a.home,
        "public": a.public,
        "narrowed_by": list(a.narrowed_by),
        "administer": _action_names(a.administer),
        "use": _action_names(a.use),
        "create_grants": a.create_grant,
        "other": _action_names(a.other),
        "unknown_actions": list(a.unknown_actions),
        "full_control": a.full_control,
        "only_in_some_branches": a.branch_only,
        "statements": [_statement(st, key) for st in a.statements],
    }


def _policy(key: Key) -> dict:
    pol = key.policy
    d: dict[str, Any] = {"status": "", "source": None, "expr": None, **_where(pol.loc), "variants": len(key.policies),
                         "errors": []}
    if not pol.present:
        if key.kind == "policy_only":
            d["status"] = "unknown"
            return d
        d["status"] = "default"
        d["file"], d["line"] = None, None
        return d
    if not key.policies:
        d["status"] = "unknown"
        d["expr"] = _expr(pol) or display(pol.value)
        if isinstance(pol.value, Unknown) and pol.value.reason:
            d["reason"] = pol.value.reason
        return d
    d["source"] = key.policies[0].source
    partial = any(not p.complete for p in key.policies) or any(st.unknowns for p in key.policies for st in p.statements)
    d["status"] = "partly-unknown" if partial else "written"
    if isinstance(pol.value, Choice) or len(key.policies) > 1:
        d["status"] = "varies" if not partial else d["status"]
        d["expr"] = " ".join((getattr(pol.value, "expr", "") or pol.expr or "").split()) or None
    seen = set()
    for p in key.policies:
        for msg, loc in p.errors:
            if (msg, loc) not in seen:
                seen.add((msg, loc))
                d["errors"].append({"message": msg, **_where(loc)})
    return d


def _access(key: Key, trusted: tuple[str, ...], policy_status: str) -> dict:
    subject = key
    if policy_status == "default":
        import copy

        subject = copy.copy(key)
        subject.policies = [build_policy(DEFAULT_POLICY, key.loc, "default")]
    accesses = sem.key_access(subject, trusted)
    principals = [_principal(a, subject) for a in accesses]
    if policy_status == "default":
        for p in principals:
            p["statements"] = [{**s, "label": "AWS's default key policy", "file": None, "line": None} for s in p["statements"]]
    denies = []
    for _, st in sem.each_statement(subject, "Deny"):
        g = sem.statement_actions(st)
        who_ = "NotPrincipal: " + sem.who(st, st.not_principals) if st.principals is None and st.not_principals else sem.who(st, st.principals or [])
        denies.append({"label": st.label, "sid": st.sid, **_where(st.loc), "principals": who_,
                       "actions": ["kms:*"] if g.full else _action_names(g.actions),
                       "not_actions": [display(a) for a in st.not_actions] if st.not_actions is not None else None,
                       "conditions": sem.conditions_text(st), "in_branch": bool(sem.in_branch(subject, st))})
    return {
        "status": "unknown" if policy_status == "unknown" else ("default" if policy_status == "default" else "known"),
        "principals": principals,
        "denies": denies,
        "administer": [p["shown_as"] for p in principals if p["administer"] or p["full_control"]],
        "use": [p["shown_as"] for p in principals if p["use"]],
        "create_grants": [p["shown_as"] + (" (only for AWS resources)" if p["create_grants"] == "aws-resources" else "")
                          for p in principals if p["create_grants"]],
        "outside_home": [p["shown_as"] for p in principals if p["outside_home"] is True],
        "public": [p["shown_as"] for p in principals if p["public"] is True],
        "narrowed": [p["shown_as"] for p in principals if p["category"] == "narrowed"],
        "unresolved": [p["shown_as"] for p in principals if p["category"] in ("unknown", "wildcard") or p["unknown_actions"]],
    }


def _grants(key: Key, trusted: tuple[str, ...]) -> list[dict]:
    out = []
    for g in key.grants:
        grantee = g.attr("grantee_principal")
        d = {"address": g.address, **_where(g.loc), "grantee": setting(grantee, has_default=False),
             "grantee_outside_home": None, "operations": setting(g.attr("operations"), has_default=False),
             "constraints": bool(g.attr("constraints").present),
             "retiring_principal": setting(g.attr("retiring_principal"), has_default=False)}
        v = grantee.value if grantee.present else None
        if isinstance(v, str) and is_known(v):
            pr = parse_grantee(v)
            verdict = sem.grant_home(key, pr.account, trusted) if pr.account else None
            d["grantee_outside_home"] = None if verdict is None else not verdict
            d["grantee_category"] = "public" if pr.wildcard else pr.ptype
        out.append(d)
    return out


def _root(key: Key) -> str:
    """The key's root: the Terraform root module directory, or the template or
    plan file (``Resource.root`` where the parser sets it)."""
    r = getattr(key, "root", "")
    if r:
        return r
    if key.source == "terraform":
        f = (key.calls[0][0] if key.calls else key.loc).file
        return f.rsplit("/", 1)[0] if "/" in f else "."
    return key.loc.file


def _key_files(key: Key) -> set[str]:
    files = {key.loc.file}
    files.update(loc.file for loc, _ in key.calls)
    for a in key.attrs.values():
        if a.loc is not None:
            files.add(a.loc.file)
    if key.policy.loc is not None:
        files.add(key.policy.loc.file)
    for p in key.policies:
        files.add(p.loc.file)
        files.update(st.loc.file for st in p.statements)
    return files


#: a key is expanded into at most this many instances (beyond, one entry at its block address)
MAX_INSTANCES = 256


def instances(key: Key) -> list[tuple[str, Key, str]]:
    """The instances of a key as the findings name them: ``(address, the key
    as that instance is deployed, what the instance is)``. A block whose
    settings or policy differ between its static ``for_each``/``count``
    instances gives one entry per instance (``aws_kms_key.this["jwt"]``,
    ``module.kms[0].aws_kms_key.this``), each with that instance's values;
    values that depend on an undecidable condition stay ``varies``, each
    option saying when it holds. A block whose instances are all alike is one
    entry at its block address, as its findings are. (Needs a model that
    knows which values depend on which instances: ``model.key_variants``.)"""
    try:
        from .model import INSTANCES, _pick_key, switches  # type: ignore[attr-defined]
    except ImportError:  # a model without instance switches: one entry per block
        return [(key.address, key, "")]
    sw = [s for s in switches([a.value for a in key.attrs.values()] + [key.policy.value]) if s.kind == INSTANCES]
    if not sw:
        return [(key.address, key, "")]
    groups = switches([a.value for a in key.attrs.values()] + [key.policy.value])
    axes = []
    for s in sw:
        ks = list(dict.fromkeys(k for labels in groups[s] for ks_ in labels for k in ks_))
        axes.append((s, ks))
    combos: list[dict] = [{}]
    for s, ks in axes:
        combos = [{**c, s: k} for c in combos for k in ks]
        if len(combos) > MAX_INSTANCES:
            return [(key.address, key, "")]
    out = []
    for sel in combos:
        addr = key.address
        for s in sorted(sel, key=lambda s: -len(s.name)):
            if addr == s.name or addr.startswith(s.name + "."):
                addr = s.name + sel[s] + addr[len(s.name):]
        out.append((addr, _pick_key(key, sel), " and ".join(s.phrase(sel[s]) for s in sel)))
    return out


# --- findings ------------------------------------------------------------------------


def _finding(f: Finding) -> dict:
    d = {"rule_id": f.rule_id, "title": f.title, "severity": f.severity, "file": f.file, "line": f.line,
         "resource": f.resource, "message": f.message,
         # other places that belong to it: the attribute that uses a value written elsewhere, the module block
         "related": [{"file": r[0], "line": r[1], "what": r[2]} for r in getattr(f, "related", ())]}
    if f.suppressed:
        d["suppression_reason"] = f.suppression_reason
    return d


def _counts(fs: list[Finding]) -> dict:
    by_sev = {s: 0 for s in SEVERITIES}
    by_rule: dict[str, int] = {}
    for f in fs:
        by_sev[f.severity] = by_sev.get(f.severity, 0) + 1
        by_rule[f.rule_id] = by_rule.get(f.rule_id, 0) + 1
    worst = max(fs, key=lambda f: f.rank).severity if fs else None
    return {"total": len(fs), "worst": worst, "by_severity": by_sev, "by_rule": dict(sorted(by_rule.items()))}


class _FindingIndex:
    """Findings by the key they are about: its address (an instance address,
    or the block address for every instance), its grants and aliases; where
    two keys share an address (two roots, two templates), the finding's root,
    else its file, tells them apart."""

    def __init__(self, findings: list[Finding]):
        self.by_resource: dict[str, list[Finding]] = {}
        for f in findings:
            if f.resource:
                self.by_resource.setdefault(f.resource, []).append(f)
        self.used: set[int] = set()

    def take(self, key: Key, address: str, shared: bool, others: Iterable[Any] = ()) -> list[Finding]:
        """The findings on a key (one instance of it), its grants and aliases,
        and ``others`` (resources that use it)."""
        block = _INDEX.sub("", address)
        # (name, the file that declares the resource): the key, its instances' block, its grants and aliases
        names = [(address, key.loc.file)]
        if block != address:
            names.append((block, key.loc.file))  # a finding of every instance is reported at the block address
        names += [(g.address, g.loc.file) for g in key.grants] + [(a.address, a.loc.file) for a in key.aliases]
        names += [(o.address, o.loc.file) for o in others]
        shared = shared or bool(others)
        root = _root(key)
        files = _key_files(key) if shared else set()

        def belongs(f: Finding, declared: str) -> bool:
            if not shared:
                return True
            froot = getattr(f, "root", "")
            if froot:
                return froot == root
            rfile = getattr(f, "resource_file", "")
            return rfile == declared if rfile else f.file in files

        out: list[Finding] = []
        for n, declared in dict.fromkeys(names):
            for f in self.by_resource.get(n, []):
                if belongs(f, declared):
                    out.append(f)
                    self.used.add(id(f))
        return sorted(out, key=lambda f: (-f.rank, f.sort_key()))

    def rest(self, findings: list[Finding]) -> list[Finding]:
        return [f for f in findings if id(f) not in self.used]


# --- consumers (issue 14) ----------------------------------------------------------------


def consumers_of(unit: ScanUnit, key: Key) -> list | None:
    """The resources of the scan that use the key (an S3 bucket, an EBS
    volume, a log group...: ``model.Consumer`` whose key the linker resolved
    to this key, directly or through an alias), or None when this model does
    not link consumers to keys."""
    consumers = getattr(unit, "consumers", None)
    if consumers is None:
        return None
    return [c for c in consumers if any(getattr(r, "key", None) is key for r in getattr(c, "refs", ()))]


def _consumer(c: Any, key: Key, fs: list[Finding]) -> dict:
    refs = [r for r in getattr(c, "refs", ()) if getattr(r, "key", None) is key]
    d = {"address": c.address, "resource_type": c.resource_type, **_where(c.loc),
         "attribute": (getattr(c, "key_name", "") or None), "element": (getattr(c, "element", "") or None),
         "via": sorted({r.via.address for r in refs if getattr(r, "via", None) is not None}) or None,
         # the key is only one of the values the consumer's key can take (a condition, an instance)
         "in_some_branches": len(refs) < len(getattr(c, "refs", ())),
         "delivered_by": [{"address": x.address, "resource_type": x.resource_type, **_where(x.loc),
                           "attribute": getattr(x, "dest_name", "") or None,
                           "findings": [_finding(f) for f in fs if _on(f, x)]} for x in getattr(c, "incoming", ())],
         "findings": [_finding(f) for f in fs if _on(f, c)]}
    return d


def _on(f: Finding, res: Any) -> bool:
    """A finding is about this resource (its address, and the file that declares it)."""
    return f.resource == res.address and getattr(f, "resource_file", res.loc.file) == res.loc.file


def _users(consumers: list) -> list:
    """The resources whose findings count for a key: the consumers that use
    it and the resources that deliver data into those consumers."""
    out = list(consumers)
    for c in consumers:
        out += [x for x in getattr(c, "incoming", ()) if all(x is not y for y in out)]
    return out


# --- the inventory ---------------------------------------------------------------------------


def _rules_used(findings: Iterable[Finding]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for rid in sorted({f.rule_id for f in findings}):
        r = REGISTRY.get(rid)
        if r is None:
            continue
        m = r.meta
        out[rid] = {"name": m.name, "title": m.title, "severity": m.severity, "controls": [_control(c) for c in m.controls]}
    return out


def _control(c) -> dict:
    return {"framework": c.framework, "id": c.id, "title": c.title, "versions": c.versions or None}


def controls_summary(findings: list[Finding], enabled: Iterable[str]) -> list[dict]:
    """Every control a rule of the catalog supports, with the rules that
    support it, whether those rules ran, and the findings against it."""
    enabled = set(enabled)
    rows: dict[tuple, dict] = {}
    for rid, r in sorted(REGISTRY.items()):
        for c in r.meta.controls:
            row = rows.setdefault((c.framework, c.id), {**_control(c), "rules": [], "rules_run": [], "findings": 0})
            row["rules"].append(rid)
            if rid in enabled:
                row["rules_run"].append(rid)
    for f in findings:
        r = REGISTRY.get(f.rule_id)
        for c in r.meta.controls if r else ():
            rows[(c.framework, c.id)]["findings"] += 1
    order = {"CIS AWS Foundations": 0, "NIST SP 800-171": 1, "CMMC": 2}
    return sorted(rows.values(), key=lambda r: (order.get(r["framework"], 9), [int(x) if x.isdigit() else x for x in re.split(r"[.\-]", r["id"])]))


def build(unit: ScanUnit, report: Report, keys: list[Key] | None = None, *, trusted_accounts: Iterable[str] = ()) -> dict:
    """The inventory of a scan: one entry per key (per instance, as the
    findings name them), from the model and the findings; pure."""
    trusted = tuple(trusted_accounts)
    keys = list(unit.keys if keys is None else keys)
    index = _FindingIndex(report.findings)
    sup_index = _FindingIndex(report.suppressed)
    by_addr: dict[str, int] = {}
    for k in keys:
        by_addr[k.address] = by_addr.get(k.address, 0) + 1
    by_root_addr = {(_root(k), k.address): k for k in unit.keys}
    entries = []
    for key in keys:
        shared = by_addr[key.address] > 1
        primary = _primary(key, by_root_addr)
        users = consumers_of(unit, key)
        for address, view, depends in instances(key):
            fs = index.take(key, address, shared, _users(users or []))
            sup = sup_index.take(key, address, shared, _users(users or []))
            pol = _policy(view)
            entry = {
                "id": f"{_root(key)}#{address}",
                "address": address,
                "block_address": key.address,
                "resource_type": key.resource_type,
                "kind": key.kind,
                "source": key.source,
                "source_name": SOURCE_NAMES.get(key.source, key.source),
                "file": key.loc.file,
                "line": max(1, key.loc.line),
                "end_line": max(1, key.loc.line, key.loc.end_line),
                "root": _root(key),
                # the module block in the root that creates a key of a local module, and the whole chain
                "module_call": {**_where(key.calls[0][0]), "module": key.calls[0][1]} if key.calls else None,
                "module_calls": [{**_where(loc), "module": mod} for loc, mod in key.calls],
                "instance_of": depends or None,
                # a key that exists only when conditions that are off by default are on
                "exists_when": list(getattr(key, "exists_when", ()) or ()),
                "settings": _settings(view, primary),
                "tags": _tags(view),
                "aliases": _aliases(key),
                "policy": pol,
                "access": _access(view, trusted, pol["status"] if pol["status"] in ("default", "unknown") else "known"),
                "grants": _grants(key, trusted),
                "consumers": None if users is None else [_consumer(c, key, fs) for c in users],
                "findings": {**_counts(fs), "items": [_finding(f) for f in fs],
                             "suppressed": [_finding(f) for f in sup]},
            }
            entries.append(entry)
    entries.sort(key=lambda e: (e["file"], e["line"], e["address"], e["root"]))
    other = index.rest(report.findings)
    on_keys = [f for f in report.findings if id(f) not in {id(x) for x in other}]
    total = _counts(report.findings)
    return {
        "format": "iackms-inventory",
        "format_version": FORMAT_VERSION,
        "version": __version__,
        "profile": report.profile,
        "rules_run": list(report.rules),
        "summary": {
            "keys": len(entries),
            "by_source": {s: sum(1 for e in entries if e["source"] == s) for s in SOURCE_NAMES},
            "by_kind": {k: sum(1 for e in entries if e["kind"] == k) for k in ("key", "replica", "external", "replica_external", "policy_only")},
            "files_scanned": report.files_scanned,
            "public": sum(1 for e in entries if e["access"]["public"]),
            "outside_home": sum(1 for e in entries if e["access"]["outside_home"]),
            "rotation_off": sum(1 for e in entries if e["settings"]["rotation"]["status"] in ("set", "default")
                                and e["settings"]["rotation"]["value"] is False),
            "unknown_policy": sum(1 for e in entries if e["policy"]["status"] == "unknown"),
            "findings": total,
            "findings_on_keys": len(on_keys),
            "suppressed": len(report.suppressed),
        },
        "keys": entries,
        "controls": controls_summary(report.findings, report.rules),
        "rules": _rules_used([*report.findings, *report.suppressed]),
        "other_findings": [_finding(f) for f in sorted(other, key=lambda f: (-f.rank, f.sort_key()))],
        "remote_modules": [{"source": r.source, "calls": [{"file": c.file, "line": c.line, "module": c.module} for c in r.calls]}
                           for r in report.remote_modules],
        "warnings": list(report.warnings),
    }


def _primary(key: Key, by_root_addr: dict) -> Key | None:
    """A replica's primary key, when it is in the scan (same root)."""
    if not key.is_replica:
        return None
    p = key.attr("primary_key")
    ref = getattr(p.value, "ref", None) if isinstance(p.value, Unknown) else None
    if ref is None and isinstance(p.value, str) and not is_known(p.value):
        m = re.match("^\ue000([^\ue001]+?)\\.arn\ue001$", p.value)
        ref = m.group(1) if m else None
    if not ref:
        return None
    cand = by_root_addr.get((_root(key), ref))
    if cand is None and "." in key.address:
        prefix = key.address.rsplit(".", 2)[0] + "." if key.address.startswith("module.") else ""
        cand = by_root_addr.get((_root(key), prefix + ref))
    return cand if cand is not None and cand is not key else None




__all__ = ["build", "setting", "setting_text", "instances", "consumers_of", "controls_summary", "FORMAT_VERSION", "UNRESOLVED"]


def deny_text(d: dict) -> tuple[str, str]:
    """A deny statement of the inventory said in words: (the actions it
    denies, `` when <conditions>`` or "")."""
    acts = ", ".join(d["actions"]) if d["not_actions"] is None else "every action but " + ", ".join(d["not_actions"])
    return acts, f" when {'; '.join(d['conditions'])}" if d["conditions"] else ""
