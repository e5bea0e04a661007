"""Key policy normalisation: raw policy data (from any parser) to
:class:`~iackms.model.Policy`. Structural problems become ``Policy.errors``
(rule IKMS210); nothing here raises on bad input."""

from __future__ import annotations

import re
from typing import Any

import orjson

from . import jsonload
from .model import (
    REMOVE,
    THIS_ACCOUNT,
    UNK_OPEN,
    Choice,
    LDict,
    Location,
    Policy,
    Principal,
    Statement,
    Unknown,
    display,
    loc_of,
    variants_when,
)

MAX_POLICY_BYTES = 32768
VALID_VERSIONS = ("2012-10-17",)
#: at most this many variants of one policy value are built (a key has at most
#: 64 variants: see :func:`iackms.model.key_variants`)
MAX_POLICY_VARIANTS = 64

_ACCOUNT_RE = re.compile(r"^(\d{12}|\ue002)$")
_ARN_RE = re.compile(r"^arn:([^:]*):(iam|sts)::([^:]*):(.*)$", re.S)
_PIECE_RE = re.compile("\ue000[^\ue001]*\ue001")
#: the resource part of `data.aws_caller_identity.<name>.arn` as the Terraform evaluator keeps it
_CALLER_RE = re.compile(r"^\ue000data\.aws_caller_identity\.[^.\ue000\ue001]+\.arn\ue001$")


def parse_principal(kind: str, value: Any) -> Principal:
    """Normalise one principal value of the given kind (``AWS``,
    ``Service``...; ``*`` for the bare wildcard string)."""
    if isinstance(value, (Unknown, Choice)) or value is None:
        return Principal(kind, value, "unknown")
    if not isinstance(value, str):
        return Principal(kind, value, "other")
    v = value.strip()
    if kind == "*" or v == "*":
        return Principal(kind, value, "wildcard")
    if kind == "Service":
        return Principal(kind, value, "service")
    if kind == "Federated":
        return Principal(kind, value, "federated")
    if kind == "CanonicalUser":
        return Principal(kind, value, "canonical")
    if kind != "AWS":
        return Principal(kind, value, "other")
    if _ACCOUNT_RE.match(v):
        return Principal(kind, value, "root", v)
    # an unresolved piece may hold colons (`{{resolve:ssm:...}}`): it is one part of the ARN, never several
    pieces: list[str] = []

    def _hide(m: re.Match) -> str:
        pieces.append(m.group(0))
        return f"\ue000{len(pieces) - 1}\ue001"

    v = _PIECE_RE.sub(_hide, v)
    m = _ARN_RE.match(v)
    if not m:
        if v.startswith(UNK_OPEN) and v.endswith("\ue001") and v.count(UNK_OPEN) == 1:
            return Principal(kind, value, "unknown")
        return Principal(kind, value, "other" if UNK_OPEN not in v else "unknown")
    service, account, rest = m.group(2), m.group(3), m.group(4)
    if pieces:
        account = _PIECE_RE.sub(lambda x: pieces[int(x.group(0)[1:-1])], account)
        rest = _PIECE_RE.sub(lambda x: pieces[int(x.group(0)[1:-1])], rest)
    if "*" in _known_text(account):  # a `*` inside an unresolved expression (a splat) is no wildcard
        return Principal(kind, value, "wildcard")
    if _ACCOUNT_RE.match(account):
        acct: str | None = account
    elif account.startswith(UNK_OPEN) and account.endswith("\ue001") and account.count(UNK_OPEN) == 1:
        acct = account  # an unresolved but consistent account expression, e.g. ${var.account_id}
    else:
        acct = None
    if acct == THIS_ACCOUNT and _CALLER_RE.match(rest):
        # whoever runs Terraform: a role, user or assumed role of this account; AWS tells people
        # not to work as the root user, so it is judged as a principal that is not the root
        return Principal(kind, value, "caller", acct)
    if service == "iam":
        if rest == "root":
            ptype = "root"
        elif rest.startswith("role/"):
            ptype = "role"
        elif rest.startswith("user/"):
            ptype = "user"
        elif UNK_OPEN in rest and rest.startswith(UNK_OPEN):
            ptype = "unknown"
        else:
            ptype = "other"
    else:
        ptype = "assumed-role" if rest.startswith("assumed-role/") else "other"
    return Principal(kind, value, ptype, acct)


def parse_grantee(value: str) -> Principal:
    """A grant's grantee or retiring principal (an ARN, an account ID or a
    service name, without a Principal map key) as a principal."""
    v = value.strip()
    return parse_principal("AWS" if v.startswith("arn:") or v.isdigit() or v == "*" else "Service", value)


def _known_text(s: str) -> str:
    """``s`` without its unresolved pieces."""
    return re.sub("\ue000[^\ue001]*\ue001", "", s)


def _json_type(v: Any) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _as_list(v: Any) -> list[Any]:
    if isinstance(v, list):
        return [x for x in v if x is not REMOVE]
    return [v]


def _principals(value: Any, errors: list, loc: Location, what: str) -> list[Principal] | None:
    if value is REMOVE:
        return None
    if isinstance(value, (Unknown, Choice)):
        return [Principal("AWS", value, "unknown")]
    if isinstance(value, str):
        if value.strip() == "*":
            return [Principal("*", value, "wildcard")]
        if UNK_OPEN in value and value.startswith(UNK_OPEN):
            return [Principal("AWS", value, "unknown")]
        errors.append((f"{what} must be \"*\" or a map of principal types, not {display(value)!r}", loc))
        return []
    if isinstance(value, dict):
        out: list[Principal] = []
        for kind, vals in value.items():
            kind_s = str(kind)
            if isinstance(vals, (Unknown, Choice)):
                out.append(Principal(kind_s, vals, "unknown"))
                continue
            for v in _as_list(vals):
                if isinstance(v, (list, dict)) or isinstance(v, (int, float, bool)) and not isinstance(v, str):
                    errors.append((f"{what} {kind_s} value {display(v)} is not a string", loc))
                    continue
                out.append(parse_principal(kind_s, v))
        return out
    errors.append((f"{what} has the wrong type ({_json_type(value)})", loc))
    return []


def _strings(value: Any, errors: list, loc: Location, what: str, lower: bool) -> list[Any] | None:
    if value is REMOVE:
        return None
    if isinstance(value, (Unknown, Choice)):
        return [value if isinstance(value, Unknown) else Unknown(display(value))]
    out: list[Any] = []
    for v in _as_list(value):
        if isinstance(v, Unknown):
            out.append(v)
        elif isinstance(v, Choice):
            out.append(Unknown(display(v)))
        elif isinstance(v, str):
            out.append(v.lower() if lower else v)
        else:
            errors.append((f"{what} must be a string or a list of strings, found {display(v)}", loc))
    return out


def _conditions(value: Any, errors: list, loc: Location) -> dict[str, dict[str, list[Any]]]:
    out: dict[str, dict[str, list[Any]]] = {}
    if value is None or value is REMOVE:
        return out
    if not isinstance(value, dict):
        if isinstance(value, (Unknown, Choice)):
            out["?"] = {"?": [value]}
            return out
        errors.append(("Condition must be a map of operators", loc))
        return out
    for op, body in value.items():
        op_l = str(op).lower()
        if isinstance(body, (Unknown, Choice)):
            out.setdefault(op_l, {})["?"] = [body]
            continue
        if not isinstance(body, dict):
            errors.append((f"Condition operator {op} must map condition keys to values", loc))
            continue
        d = out.setdefault(op_l, {})
        for k, vals in body.items():
            d.setdefault(str(k).lower(), []).extend(_as_list(vals))
    return out


def build_statement(raw: Any, index: int, fallback: Location, errors: list) -> Statement | None:
    loc = loc_of(raw, fallback) or fallback
    if not isinstance(raw, dict):
        if isinstance(raw, (Unknown, Choice)):
            return None
        errors.append((f"statement #{index + 1} is not an object", loc))
        return None
    # keys are case-sensitive in IAM, but people write "effect"; accept the usual spelling only
    g = raw.get
    sid = g("Sid")
    name = f"statement '{display(sid)}'" if isinstance(sid, str) and sid else f"statement #{index + 1}"
    effect = g("Effect")
    if effect is None:
        errors.append((f"{name} has no Effect", loc))
    elif isinstance(effect, str) and effect not in ("Allow", "Deny"):
        errors.append((f"{name} has Effect '{display(effect)}' (must be Allow or Deny)", loc))
    principals = _principals(g("Principal"), errors, loc, "Principal") if "Principal" in raw else None
    not_principals = _principals(g("NotPrincipal"), errors, loc, "NotPrincipal") if "NotPrincipal" in raw else None
    if principals is None and not_principals is None:
        errors.append((f"{name} has no Principal or NotPrincipal", loc))
    actions = _strings(g("Action"), errors, loc, "Action", True) if "Action" in raw else None
    not_actions = _strings(g("NotAction"), errors, loc, "NotAction", True) if "NotAction" in raw else None
    if actions is None and not_actions is None:
        errors.append((f"{name} has no Action or NotAction", loc))
    resources = _strings(g("Resource"), errors, loc, "Resource", False) if "Resource" in raw else None
    not_resources = _strings(g("NotResource"), errors, loc, "NotResource", False) if "NotResource" in raw else None
    if resources is None and not_resources is None:
        errors.append((f"{name} has no Resource", loc))
    conditions = _conditions(g("Condition"), errors, loc)
    unknowns = [v.expr for v in _walk_unknowns(raw)]
    return Statement(
        sid=sid if isinstance(sid, str) else (display(sid) if sid is not None else None),
        effect=effect if isinstance(effect, (str, Unknown)) else (Unknown(display(effect)) if effect is not None else None),
        principals=principals,
        not_principals=not_principals,
        actions=actions,
        not_actions=not_actions,
        resources=resources,
        not_resources=not_resources,
        conditions=conditions,
        loc=loc,
        index=index,
        raw=raw,
        unknowns=unknowns,
    )


def _walk_unknowns(v: Any, depth: int = 0) -> list[Unknown]:
    if depth > 100:
        return []
    if isinstance(v, Unknown):
        return [v]
    if isinstance(v, str) and UNK_OPEN in v:
        return [Unknown(display(v))]
    if isinstance(v, dict):
        return [u for x in v.values() for u in _walk_unknowns(x, depth + 1)]
    if isinstance(v, list):
        return [u for x in v for u in _walk_unknowns(x, depth + 1)]
    return []


def _size(raw: Any, text: str | None) -> int | None:
    if text is not None:
        return len(text.encode("utf-8", "replace"))
    try:
        return len(orjson.dumps(raw, default=lambda o: display(o)))
    except (TypeError, orjson.JSONEncodeError):
        return None


def build_policy(raw: Any, loc: Location, source: str = "inline", text: str | None = None) -> Policy:
    """One concrete policy document (no Choice inside) to a Policy."""
    errors: list[tuple[str, Location]] = []
    ploc = loc_of(raw, loc) or loc
    statements: list[Statement] = []
    version = None
    if not isinstance(raw, dict):
        errors.append(("the key policy is not a JSON object", ploc))
        return Policy([], None, ploc, source, errors, _size(raw, text), raw)
    version = raw.get("Version")
    if version is None:
        errors.append(("the key policy has no Version (use \"2012-10-17\")", ploc))
    elif isinstance(version, str) and UNK_OPEN not in version and version not in VALID_VERSIONS:
        kl = raw.key_locs.get("Version", ploc) if isinstance(raw, LDict) else ploc
        errors.append((f"the key policy Version is '{display(version)}', not \"2012-10-17\"", kl))
    elif not isinstance(version, (str, Unknown, Choice)):
        errors.append((f"the key policy Version is {display(version)}, not \"2012-10-17\"", ploc))
    stmts = raw.get("Statement")
    if stmts is None:
        errors.append(("the key policy has no Statement", ploc))
    elif isinstance(stmts, dict):
        stmts = [stmts]
    elif isinstance(stmts, (Unknown, Choice)):
        stmts = [stmts]
    elif not isinstance(stmts, list):
        errors.append(("the key policy Statement must be a list of statements", ploc))
        stmts = []
    unknown_stmts = False
    for i, s in enumerate(stmts or []):
        if s is REMOVE:
            continue
        if isinstance(s, (Unknown, Choice)):
            unknown_stmts = True
            continue
        st = build_statement(s, i, ploc, errors)
        if st is not None:
            statements.append(st)
    size = _size(raw, text)
    if size is not None and size > MAX_POLICY_BYTES:
        errors.append((f"the key policy is {size} bytes, over the 32 KB limit", ploc))
    return Policy(statements, version, ploc, source, errors, size, raw, complete=not unknown_stmts)


def parse_policy_text(text: str, loc: Location, source: str = "inline", line_offset: int | None = None, col_offset: int = 0) -> Policy:
    """A policy given as JSON text (a heredoc, a CloudFormation string, a
    file). ``line_offset`` is the line before the text's first line."""
    lo = loc.line - 1 if line_offset is None else line_offset
    try:
        raw = jsonload.load(text, loc.file, lo, col_offset)
    except jsonload.JsonError as e:
        eloc = Location(loc.file, lo + e.line, lo + e.line, 1)
        return Policy([], None, loc, source, [(f"the key policy is not valid JSON: {e.message}", eloc)], len(text.encode("utf-8", "replace")), text)
    return build_policy(raw, loc, source, text)


def build_policies(value: Any, loc: Location, source: str = "inline") -> list[Policy]:
    """All variants of a policy attribute value: raw data, JSON text, or a
    Choice between them. An Unknown value gives no policy (the caller
    reports it as unresolved)."""
    out: list[Policy] = []
    seen: dict[bytes, Policy] = {}
    for v, when in variants_when(value, MAX_POLICY_VARIANTS):
        if isinstance(v, Unknown) or v is None or v is REMOVE:
            continue
        if isinstance(v, str):
            if UNK_OPEN in v and v.strip().startswith(UNK_OPEN) and v.strip().endswith("\ue001"):
                continue
        try:
            k = orjson.dumps(v, default=display)
        except (TypeError, orjson.JSONEncodeError):
            k = repr(v).encode()
        if k in seen:
            # the same document in other instances or branches
            first = seen[k]
            if first.when:
                if when:
                    first.when.append(when)
                else:
                    first.when = []
            continue
        p = parse_policy_text(v, loc_of(v, loc) or loc, source) if isinstance(v, str) else build_policy(v, loc, source)
        p.when = [when] if when else []
        seen[k] = p
        out.append(p)
    return out


__all__ = [
    "THIS_ACCOUNT",
    "build_policies",
    "build_policy",
    "parse_policy_text",
    "parse_grantee",
    "parse_principal",
]
