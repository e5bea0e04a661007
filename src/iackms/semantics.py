"""What a key policy means: which KMS actions a statement grants, which
principals get them, and whether its conditions constrain who can call.
Every key-policy rule is built on these functions and nothing else."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson

from .model import OPAQUE_CLOSE, OPAQUE_OPEN, THIS_ACCOUNT, UNK_OPEN, Choice, Key, Policy, Principal, Statement, Unknown, display, is_known, split_arn


@lru_cache(maxsize=1)
def kms_actions() -> tuple[str, ...]:
    """Every KMS action (canonical case), shipped as package data."""
    # read beside the module: importlib.resources would cost more to import than the whole lookup
    data = orjson.loads((Path(__file__).parent / "data" / "kms_actions.json").read_bytes())
    return tuple(data["actions"])


@lru_cache(maxsize=1)
def _lower_map() -> dict[str, str]:
    return {a.lower(): a for a in kms_actions()}


ADMIN_ACTIONS = frozenset({
    "PutKeyPolicy", "ScheduleKeyDeletion", "CancelKeyDeletion", "DisableKey", "EnableKey",
    "DisableKeyRotation", "EnableKeyRotation", "UpdateKeyDescription", "CreateAlias", "UpdateAlias",
    "DeleteAlias", "TagResource", "UntagResource", "DeleteImportedKeyMaterial", "ImportKeyMaterial",
    "ReplicateKey", "UpdatePrimaryRegion", "CreateGrant", "RevokeGrant", "RotateKeyOnDemand",
})
USAGE_ACTIONS = frozenset({
    "Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyWithoutPlaintext", "Sign", "Verify",
    "GenerateMac", "VerifyMac", "DeriveSharedSecret",
})
GRANT_ACTIONS = frozenset({"CreateGrant", "RevokeGrant", "ListGrants"})
#: cryptographic actions that take an encryption context (symmetric keys)
CONTEXT_ACTIONS = frozenset({
    "Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey", "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyWithoutPlaintext",
})
MFA_ACTIONS = ("PutKeyPolicy", "ScheduleKeyDeletion", "DisableKey", "DeleteAlias", "DeleteImportedKeyMaterial")

CONSTRAINING_KEYS = frozenset({
    "kms:calleraccount", "aws:principalaccount", "aws:principalorgid", "aws:principalorgpaths",
    "aws:principalarn", "aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:userid",
    "aws:username",
})
#: the constraining keys as AWS spells them (conditions are kept lower-cased)
_KEY_NAMES = {k.lower(): k for k in (
    "kms:CallerAccount", "aws:PrincipalAccount", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:PrincipalArn",
    "aws:SourceAccount", "aws:SourceArn", "aws:SourceOrgID", "aws:userid", "aws:username")}
_POSITIVE_OPS = frozenset({"stringequals", "stringequalsignorecase", "arnequals", "stringlike", "arnlike"})
_NEGATED_OPS = frozenset({"stringnotequals", "stringnotequalsignorecase", "arnnotequals", "stringnotlike", "arnnotlike"})
_ARN_KEYS = frozenset({"aws:principalarn", "aws:sourcearn"})


# --- actions ------------------------------------------------------------------


@dataclass
class Grants:
    """The KMS actions one statement allows or denies."""

    actions: frozenset[str]
    #: the statement names every KMS action (`kms:*`, `*`) through Action
    full: bool = False
    #: some action entries are unknown
    unknown: list[str] = field(default_factory=list)


def _match(pattern: str) -> set[str]:
    p = pattern.strip().lower()
    if p == "*":
        return set(kms_actions())
    if ":" not in p:
        return set()
    svc, _, name = p.partition(":")
    if svc != "kms" and not ("*" in svc or "?" in svc) :
        return set()
    if svc != "kms" and not fnmatch.fnmatchcase("kms", svc):
        return set()
    lm = _lower_map()
    if "*" in name or "?" in name:
        return {lm[a] for a in lm if fnmatch.fnmatchcase(a, name)}
    return {lm[name]} if name in lm else set()


def statement_actions(st: Statement) -> Grants:
    """The KMS actions a statement covers (expanding wildcards and NotAction)."""
    unknown: list[str] = []
    if st.actions is not None:
        acts: set[str] = set()
        full = False
        for a in st.actions:
            if isinstance(a, Unknown) or (isinstance(a, str) and UNK_OPEN in a):
                unknown.append(a.expr if isinstance(a, Unknown) else a)
                continue
            if a.strip().lower() in ("*", "kms:*"):
                full = True
            acts |= _match(a)
        return Grants(frozenset(acts), full, unknown)
    if st.not_actions is not None:
        excluded: set[str] = set()
        for a in st.not_actions:
            if isinstance(a, Unknown) or (isinstance(a, str) and UNK_OPEN in a):
                unknown.append(a.expr if isinstance(a, Unknown) else a)
                continue
            excluded |= _match(a)
        return Grants(frozenset(set(kms_actions()) - excluded), False, unknown)
    return Grants(frozenset())


# --- conditions ------------------------------------------------------------------


def _base_op(op: str) -> tuple[str, str]:
    """('foranyvalue:'|'forallvalues:'|'', operator) for a lower-cased operator."""
    for q in ("foranyvalue:", "forallvalues:"):
        if op.startswith(q):
            return q, op[len(q):]
    return "", op


#: operators that compare whole strings: no wildcard, whatever the value turns out to be
_EXACT_OPS = frozenset({"stringequals", "stringequalsignorecase"})


def _value_specific(key: str, op: str, v: Any) -> bool | None:
    """True when a condition value pins a specific account/org/principal;
    None when it is unknown. An exact operator (StringEquals) pins one
    account, organization or principal whatever an unresolved value is: the
    verdict does not depend on it."""
    if isinstance(v, Choice):
        verdicts = [_value_specific(key, op, o) for o in v.options]
        if all(x is True for x in verdicts):
            return True
        return False if any(x is False for x in verdicts) else None
    if isinstance(v, Unknown):
        return True if op in _EXACT_OPS else None
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        return False
    s = str(v)
    if UNK_OPEN in s and op in _EXACT_OPS:
        return True
    # an unresolved piece is one part of an ARN, whatever colons it holds ({{resolve:ssm:...}})
    s = re.sub("\ue000[^\ue001]*\ue001", "\ue000\ue001", s)
    if UNK_OPEN in s:
        # a partly known ARN still pins the account when the account part is known
        if key in _ARN_KEYS:
            parts = s.split(":")
            if len(parts) >= 5 and UNK_OPEN not in parts[4] and parts[4]:
                return "*" not in parts[4] and "?" not in parts[4]
        return None
    if s.strip() in ("", "*"):
        return False
    if op in ("stringlike", "arnlike"):
        if key in _ARN_KEYS:
            parts = s.split(":")
            if len(parts) < 5:
                return False
            acct = parts[4]
            return bool(acct) and "*" not in acct and "?" not in acct
        if key == "aws:principalorgpaths":
            # o-xxx/r-yyy/* pins the organization even with a trailing wildcard
            first = s.split("/", 1)[0]
            return bool(first) and "*" not in first and "?" not in first
        return "*" not in s and "?" not in s
    return True


def constrains(st: Statement) -> bool | None:
    """True when the statement's conditions pin the caller to specific
    accounts, organizations or principals; None when that depends on an
    unknown value."""
    unknown = False
    for op, body in st.conditions.items():
        q, base = _base_op(op)
        if base not in _POSITIVE_OPS or base.endswith("ifexists"):
            continue
        for key, values in body.items():
            if key not in CONSTRAINING_KEYS or not values:
                continue
            verdicts = [_value_specific(key, base, v) for v in values]
            if any(x is False for x in verdicts):
                continue
            if all(x is True for x in verdicts):
                return True
            unknown = True
    return None if unknown else False


def deny_constrains(st: Statement) -> bool:
    """A Deny statement that refuses everyone *outside* specific accounts or
    organizations (a negated operator on a constraining key)."""
    if st.effect != "Deny":
        return False
    for op, body in st.conditions.items():
        q, base = _base_op(op)
        if base.endswith("ifexists"):
            base = base[: -len("ifexists")]
        if base not in _NEGATED_OPS:
            continue
        for key, values in body.items():
            if key in CONSTRAINING_KEYS and values and all(_value_specific(key, base.replace("not", ""), v) is True for v in values):
                return True
    return False


def _bool_true(values: list[Any]) -> bool:
    return bool(values) and all((v is True) or (isinstance(v, str) and v.strip().lower() == "true") for v in values)


def _bool_false(values: list[Any]) -> bool:
    return bool(values) and all((v is False) or (isinstance(v, str) and v.strip().lower() == "false") for v in values)


def grant_restricted(st: Statement) -> bool:
    """Grants can only be made by AWS services on the caller's behalf:
    `kms:GrantIsForAWSResource: true`, or `kms:ViaService` naming services.
    CreateGrant, ListGrants and RevokeGrant so limited are not administration."""
    return grant_for_aws_resource(st) or via_service(st)


def grant_for_aws_resource(st: Statement) -> bool:
    """`Bool kms:GrantIsForAWSResource: true` on the statement."""
    for op, body in st.conditions.items():
        if op == "bool" and _bool_true(body.get("kms:grantisforawsresource", [])):
            return True
    return False


def requires_mfa(st: Statement) -> bool:
    """`Bool aws:MultiFactorAuthPresent: true` (not BoolIfExists) or a
    `NumericLessThan(Equals) aws:MultiFactorAuthAge` limit."""
    for op, body in st.conditions.items():
        if op == "bool" and _bool_true(body.get("aws:multifactorauthpresent", [])):
            return True
        if op in ("numericlessthan", "numericlessthanequals") and body.get("aws:multifactorauthage"):
            return True
    return False


def denies_without_mfa(st: Statement) -> bool:
    """A Deny statement that refuses callers without MFA
    (`BoolIfExists aws:MultiFactorAuthPresent: false`, or `Bool ... false`)."""
    if st.effect != "Deny":
        return False
    for op, body in st.conditions.items():
        if op in ("bool", "boolifexists") and _bool_false(body.get("aws:multifactorauthpresent", [])):
            return True
        if op == "null" and _bool_true(body.get("aws:multifactorauthage", [])):
            return True
    return False


def via_service(st: Statement) -> bool:
    """A positive `kms:ViaService` condition naming specific services."""
    for op, body in st.conditions.items():
        q, base = _base_op(op)
        if base not in _POSITIVE_OPS:
            continue
        vals = body.get("kms:viaservice")
        if vals and all(isinstance(v, str) and v.strip() not in ("", "*") for v in vals):
            return True
    return False


_ACCOUNT_KEYS = ("kms:calleraccount", "aws:principalaccount", "aws:sourceaccount")


def pinned_accounts(st: Statement) -> list[str]:
    """The accounts a statement's conditions pin the caller to
    (`kms:CallerAccount`, `aws:PrincipalAccount`, `aws:SourceAccount` with
    positive, exact operators)."""
    out: list[str] = []
    for op, body in st.conditions.items():
        q, base = _base_op(op)
        if base not in ("stringequals", "stringequalsignorecase", "stringlike"):
            continue
        for k in _ACCOUNT_KEYS:
            for v in body.get(k, []):
                if isinstance(v, (str, int)) and not isinstance(v, bool):
                    sv = str(v).strip()
                    if sv and "*" not in sv and "?" not in sv and sv not in out:
                        out.append(sv)
    return out


def has_context_condition(st: Statement) -> bool:
    for op, body in st.conditions.items():
        q, base = _base_op(op)
        if "not" in base or base == "null":
            continue
        for key in body:
            if key.startswith("kms:encryptioncontext:") or key in ("kms:encryptioncontextkeys", "kms:viaservice"):
                return True
    return False


# --- principals -------------------------------------------------------------------


def allow_statements(p: Policy) -> list[Statement]:
    return [s for s in p.statements if s.effect == "Allow"]


def principal_key(pr: Principal) -> str:
    v = pr.value
    if isinstance(v, str):
        s = v.strip()
        if pr.ptype == "root" and re.fullmatch(r"(\d{12}|\ue002)", s):
            s = f"arn:aws:iam::{s}:root"
        return f"{pr.kind}:{s}"
    return f"{pr.kind}:{v!r}"


def is_service_like(pr: Principal) -> bool:
    """An AWS service principal, or a service-linked role
    (``arn:aws:iam::<account>:role/aws-service-role/...``), which only its
    service can assume: neither is a person."""
    if pr.ptype == "service":
        return True
    return pr.ptype == "role" and isinstance(pr.value, str) and ":role/aws-service-role/" in pr.value


def non_root(st: Statement) -> list[Principal]:
    """Principals that are certainly not an account root (unresolved ones
    may be: see :func:`maybe_root`)."""
    return [p for p in (st.principals or []) if not p.is_root and p.ptype != "unknown"]


def maybe_root(st: Statement) -> list[Principal]:
    """Principals that cannot be resolved: they might be the account root."""
    return [p for p in (st.principals or []) if p.ptype == "unknown"]


@dataclass
class Home:
    """The home account(s) of a key policy: "this account" (always), the
    configured ``trusted_accounts``, and — only when the policy does not name
    this account — the accounts whose root it gives full control (see
    :func:`home_accounts`)."""

    literal: frozenset[str]
    #: the policy names this account (``AWS::AccountId``, the caller identity,
    #: a role or user defined in the scan)
    shown: bool = False

    def classify(self, account: str | None) -> bool | None:
        """True: home; False: foreign; None: cannot be compared."""
        if account is None:
            return None
        if account == THIS_ACCOUNT or account in self.literal:
            return True
        if UNK_OPEN in account:
            return None  # an unresolved account expression that is not the home one
        if not any(UNK_OPEN not in a for a in self.literal):
            return None
        return False

    def only_symbolic(self) -> bool:
        """The home is "this account" (named symbolically) and no literal ID:
        a literal account cannot be proved to be another one."""
        return not any(UNK_OPEN not in a for a in self.literal)

    def names(self) -> str:
        """The literal home accounts for a message (``this account`` when none)."""
        return ", ".join(sorted(a for a in self.literal if UNK_OPEN not in a)) or "this account"


def full_control(g: Grants) -> bool:
    """`kms:*` or `kms:PutKeyPolicy`: whoever holds it can give itself anything."""
    return g.full or "PutKeyPolicy" in g.actions


def shows_this_account(p: Policy, local: Iterable[str] = ()) -> bool:
    """The policy names the account it is deployed in: a principal of
    "this account" (``AWS::AccountId``, ``data.aws_caller_identity``, a role
    or user defined in the same scan, which the parsers write in this
    account), or a condition pinning the caller or source to it."""
    local = set(local)
    for st in p.statements:
        for pr in [*(st.principals or []), *(st.not_principals or [])]:
            if pr.account == THIS_ACCOUNT or (isinstance(pr.value, str) and pr.value in local):
                return True
        for body in st.conditions.values():
            for k, values in body.items():
                if k in CONSTRAINING_KEYS and any(isinstance(v, str) and THIS_ACCOUNT in v for v in values):
                    return True
    return False


def home_accounts(p: Policy, trusted: Iterable[str], local: Iterable[str] = ()) -> Home:
    """Home accounts of a policy.

    "This account" and ``trusted_accounts`` are always home. A root given full
    control (`kms:*`, `kms:PutKeyPolicy`) is taken as the likely home account
    only when nothing else tells it: a literal account ID when the policy does
    not name this account and no ``trusted_accounts`` are configured; an
    unresolved but consistent account expression (``${var.account}``) when the
    policy does not name this account. Once the policy names this account, the
    root of any other account is foreign, whatever it is given."""
    trusted = set(trusted)
    shown = shows_this_account(p, local)
    lit = set(trusted)
    if not shown:
        for st in allow_statements(p):
            if not full_control(statement_actions(st)):
                continue
            for pr in st.principals or []:
                if not (pr.is_root and pr.account and pr.account != THIS_ACCOUNT):
                    continue
                if UNK_OPEN in pr.account or not trusted:
                    lit.add(pr.account)  # a literal ID, or a consistent unresolved expression
    return Home(frozenset(lit), shown)


def key_home(key: Key | None, trusted: Iterable[str]) -> list[Home]:
    """The home accounts of each variant of a key's policy; without a known
    policy (no key in the scan, an unresolved or absent policy), this account
    and the trusted accounts."""
    if key is None or not key.policies:
        return [Home(frozenset(trusted), True)]
    return [home_accounts(p, trusted, key.local_principals) for p in key.policies]


def admin_actions(st: Statement, g: Grants | None = None) -> set[str]:
    """The administrative actions a statement allows (grant actions limited to
    AWS services do not count: :func:`grant_restricted`)."""
    acts = set((g or statement_actions(st)).actions) & ADMIN_ACTIONS
    if grant_restricted(st):
        acts -= GRANT_ACTIONS
    return acts


def narrowed_wildcard(p: Policy, st: Statement) -> bool:
    """The statement's wildcard principal is limited to specific accounts,
    organizations or principals (its conditions, or a Deny elsewhere)."""
    return constrains(st) is True or denied_elsewhere(p, st)


def condition_text(st: Statement, limit: int = 120) -> str:
    """The conditions that narrow a statement's caller, for a message
    (`aws:PrincipalOrgID = o-abc123`)."""
    parts = []
    for op, body in st.conditions.items():
        for k, values in body.items():
            if k in CONSTRAINING_KEYS:
                parts.append(f"{_KEY_NAMES.get(k, k)} = {', '.join(display(v) for v in values)}")
    text = "; ".join(parts) or "a Deny statement"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def person_key(st: Statement, pr: Principal) -> str:
    """One identity for a principal across statements. A wildcard stands for
    every principal its statement's conditions admit: wildcards with the same
    conditions are the same principals."""
    if pr.wildcard:
        import orjson

        try:
            cond = orjson.dumps(st.conditions, default=display, option=orjson.OPT_SORT_KEYS)
        except (TypeError, orjson.JSONEncodeError):
            cond = repr(st.conditions).encode()
        return "wildcard:" + cond.decode("utf-8", "replace")
    return principal_key(pr)


def holders(p: Policy, action: str) -> set[str]:
    """:func:`person_key` of every principal an Allow statement of the policy
    gives ``action``."""
    out: set[str] = set()
    for st in allow_statements(p):
        if action in statement_actions(st).actions:
            out.update(person_key(st, pr) for pr in st.principals or [])
    return out


def is_principal_unknown(pr: Principal) -> bool:
    return pr.ptype == "unknown" or (isinstance(pr.value, str) and not is_known(pr.value) and pr.ptype not in ("role", "user", "root", "assumed-role"))


# --- statements as the rules report them ------------------------------------------


def statement_ident(st: Statement) -> str:
    """A stable identity for a statement: its Sid, else its content."""
    return "sid:" + st.sid if st.sid else "sha:" + statement_content(st)


def action_name(a) -> str:
    """`kms:ScheduleKeyDeletion` for a lower-cased action, as AWS spells it."""
    if isinstance(a, str) and a.startswith("kms:"):
        canon = {x.lower(): x for x in kms_actions()}.get(a[4:])
        if canon:
            return "kms:" + canon
    return display(a)


def written_actions(st: Statement) -> list[str]:
    """The statement's actions as the user wrote them."""
    raw = st.raw.get("Action") if isinstance(st.raw, dict) else None
    items = raw if isinstance(raw, list) else [raw] if raw is not None else []
    out = [display(a) for a in items if a is not None]
    return out or [action_name(a) for a in (st.actions or [])]


def unresolved_principal(key: Key, st: Statement, pr: Principal) -> str:
    """The unresolved value an IKMS002 note is about, without the rule: every
    rule blocked by this principal on this statement says it the same way, so
    the engine reports one note naming them all."""
    return f"{st.label} of {key.address}: principal {pr} cannot be resolved"


def who(st: Statement, prs) -> str:
    return ", ".join(str(p) or "(an empty principal)" for p in prs) or "(no principal)"


def statement_content(st: Statement) -> str:
    """The statement's content (every branch of a condition differs here,
    even when its Sid and location are the same)."""
    import hashlib

    import orjson

    try:
        raw = orjson.dumps(st.raw, default=display, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        raw = repr(st.raw).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def each_statement(key: Key, effect: str = "Allow") -> Iterator[tuple[Policy, Statement]]:
    """Every distinct statement of every variant of the key policy (a
    condition that cannot be decided gives one variant per branch)."""
    seen: set[tuple] = set()
    for p in key.policies:
        for st in p.statements:
            if st.effect != effect:
                continue
            k = (st.loc, statement_content(st))
            if k in seen:
                continue
            seen.add(k)
            yield p, st


def in_branch(key: Key, st: Statement) -> str:
    """' (in one branch of a condition)' when the statement is written this
    way only in some variants of the policy."""
    if len(key.policies) < 2:
        return ""
    c = statement_content(st)
    n = sum(1 for p in key.policies if any(o.loc == st.loc and statement_content(o) == c for o in p.statements))
    return " (in one branch of a condition)" if n < len(key.policies) else ""


def denied_elsewhere(p: Policy, st: Statement) -> bool:
    """Another statement denies everyone outside specific accounts for all the
    actions this one allows."""
    allowed = statement_actions(st).actions
    for other in p.statements:
        if other is st or not deny_constrains(other):
            continue
        if not any(pr.wildcard for pr in other.principals or []):
            continue
        if allowed <= statement_actions(other).actions:
            return True
    return False


# --- who may do what: the access a key policy grants, principal by principal ----------

#: how the inventory (and people reviewing a key) group what a principal may do
ACCESS_CATEGORIES = (
    "account",  # an account root: delegation to that account's IAM policies, not a person
    "service",  # an AWS service principal
    "service-linked-role",  # a role only its service can assume
    "public",  # a wildcard (or NotPrincipal) that nothing narrows: anyone
    "narrowed",  # a wildcard (or NotPrincipal) narrowed by conditions or a Deny statement
    "wildcard",  # a wildcard whose conditions cannot be told (unresolved values)
    "caller",  # the identity that runs Terraform
    "role", "user", "assumed-role", "federated", "canonical", "other",
    "unknown",  # a principal that cannot be resolved (it may be an account root)
)


@dataclass
class PrincipalAccess:
    """What one principal (one :func:`person_key` identity) may do with a key,
    over every distinct Allow statement of every variant of its policy that
    names it: the same reading the key-policy rules make (admin and usage
    actions, grants limited to AWS services, narrowed wildcards, home
    accounts)."""

    ident: str
    principal: Principal
    category: str
    #: administrative actions (:func:`admin_actions` without CreateGrant)
    administer: set[str] = field(default_factory=set)
    #: cryptographic actions (:data:`USAGE_ACTIONS`)
    use: set[str] = field(default_factory=set)
    #: ``any`` (CreateGrant for anything), ``aws-resources`` (only through AWS
    #: services: ``kms:GrantIsForAWSResource`` or ``kms:ViaService``), or None
    create_grant: str | None = None
    #: every other KMS action allowed (DescribeKey, List*, Get*, account-level actions)
    other: set[str] = field(default_factory=set)
    #: action entries that cannot be resolved, as written
    unknown_actions: list[str] = field(default_factory=list)
    #: ``kms:*`` or ``kms:PutKeyPolicy``: it can give itself anything
    full_control: bool = False
    #: the accounts the principal belongs to: its own, or those a wildcard's conditions pin
    accounts: list[str] = field(default_factory=list)
    #: True: in the home account(s); False: outside them; None: cannot be told
    #: or does not apply (a service, an unpinned wildcard)
    home: bool | None = None
    #: anyone at all may act as this principal (True), or it cannot be told (None)
    public: bool | None = False
    #: what narrows a wildcard or NotPrincipal: its conditions and the Deny statements
    narrowed_by: list[str] = field(default_factory=list)
    #: the statements that give it access, in policy order
    statements: list[Statement] = field(default_factory=list)
    #: the access exists only in some branches of a condition
    branch_only: bool = True

    @property
    def person(self) -> bool:
        """Counts as a person for separation of duties (IKMS204/IKMS207): not
        an account root, a service or a service-linked role."""
        return self.category not in ("account", "service", "service-linked-role")


def _category(p: Policy, st: Statement, pr: Principal) -> str:
    if pr.is_root:
        return "account"
    if pr.ptype == "service":
        return "service"
    if is_service_like(pr):
        return "service-linked-role"
    if pr.wildcard:
        c = constrains(st)
        if c is True or denied_elsewhere(p, st):
            return "narrowed"
        return "wildcard" if c is None else "public"
    return pr.ptype if pr.ptype in ACCESS_CATEGORIES else "other"


def narrowing(p: Policy, st: Statement) -> list[str]:
    """What limits the callers of a statement with a wildcard principal: its
    own conditions on the caller's account, organization or identity, and the
    Deny statements of the policy that refuse everyone outside them."""
    out = [f"{_KEY_NAMES.get(k, k)} = {', '.join(display(v) for v in values)}"
           for op, body in st.conditions.items() for k, values in body.items()
           if k in CONSTRAINING_KEYS and _base_op(op)[1] in _POSITIVE_OPS]
    allowed = statement_actions(st).actions
    for other in p.statements:
        if other is st or not deny_constrains(other) or not any(pr.wildcard for pr in other.principals or []):
            continue
        if allowed <= statement_actions(other).actions:
            conds = [f"{_KEY_NAMES.get(k, k)} not {', '.join(display(v) for v in values)}"
                     for op, body in other.conditions.items() for k, values in body.items() if k in CONSTRAINING_KEYS]
            out.append(f"{other.label} denies callers with {'; '.join(conds)}")
    return out


def conditions_text(st: Statement) -> list[str]:
    """Every condition of a statement, as written (`StringEquals
    kms:ViaService = s3.us-east-1.amazonaws.com`)."""
    raw = st.raw.get("Condition") if isinstance(st.raw, dict) else None
    out: list[str] = []
    if isinstance(raw, dict):
        for op, body in raw.items():
            if isinstance(body, dict):
                for k, values in body.items():
                    vs = values if isinstance(values, list) else [values]
                    out.append(f"{op} {k} = {', '.join(display(v) for v in vs)}")
            else:
                out.append(f"{op} {display(body)}")
        return out
    if raw is not None:
        return [display(raw)]
    return [f"{op} {_KEY_NAMES.get(k, k)} = {', '.join(display(v) for v in values)}"
            for op, body in st.conditions.items() for k, values in body.items()]


def _home_of(home: Home, accounts: list[str]) -> bool | None:
    verdicts = [home.classify(a) for a in accounts]
    if not verdicts:
        return None
    if any(v is False for v in verdicts):
        return False
    return True if all(v is True for v in verdicts) else None


def _merge_home(a: bool | None, b: bool | None, first: bool) -> bool | None:
    if first:
        return b
    if a is False or b is False:
        return False
    return True if a is True and b is True else None


def key_access(key: Key, trusted: Iterable[str] = ()) -> list[PrincipalAccess]:
    """Who may do what with a key under its written policy: one :class:`PrincipalAccess`
    per principal, in the order the policy names them. A NotPrincipal Allow
    is one entry (every principal but those named). A key with no policy in
    the scan gives nothing here (the caller says whether AWS's default policy
    applies or the policy is unknown)."""
    trusted = tuple(trusted)
    out: dict[str, PrincipalAccess] = {}
    homes: dict[int, Home] = {}
    for p, st in each_statement(key):
        if id(p) not in homes:
            homes[id(p)] = home_accounts(p, trusted, key.local_principals)
        home = homes[id(p)]
        g = statement_actions(st)
        acts = set(g.actions)
        admin = admin_actions(st, g) - {"CreateGrant"}
        use = acts & USAGE_ACTIONS
        grant = None
        if "CreateGrant" in acts:
            grant = "aws-resources" if grant_restricted(st) else "any"
        other = acts - admin - use - {"CreateGrant"}
        branch = bool(in_branch(key, st))
        entries: list[tuple[str, Principal, str, list[str], bool | None, list[str]]] = []
        if st.principals is None and st.not_principals is not None:
            narrowed = constrains(st) is True or denied_elsewhere(p, st)
            cat = "narrowed" if narrowed else ("wildcard" if constrains(st) is None else "public")
            ident = "all-except:" + ",".join(sorted(principal_key(x) for x in st.not_principals)) + "|" + person_key(st, Principal("*", "*", "wildcard"))
            accts = pinned_accounts(st)
            entries.append((ident, Principal("NotPrincipal", who(st, st.not_principals), "other"), cat, accts,
                            _home_of(home, accts), narrowing(p, st)))
        for pr in st.principals or []:
            cat = _category(p, st, pr)
            if pr.wildcard:
                accts = pinned_accounts(st)
                entries.append((person_key(st, pr), pr, cat, accts, _home_of(home, accts), narrowing(p, st)))
            elif cat in ("service", "service-linked-role") and pr.account is None:
                entries.append((person_key(st, pr), pr, cat, [], None, []))
            else:
                accts = [pr.account] if pr.account else []
                entries.append((person_key(st, pr), pr, cat, accts, _home_of(home, accts), []))
        for ident, pr, cat, accts, verdict, narrowed_by in entries:
            a = out.get(ident)
            first = a is None
            if a is None:
                a = out[ident] = PrincipalAccess(ident, pr, cat)
            a.administer |= admin
            a.use |= use
            if grant == "any" or (grant and a.create_grant is None):
                a.create_grant = grant
            a.other |= other
            a.unknown_actions += [u for u in (display(x) for x in g.unknown) if u not in a.unknown_actions]
            a.full_control = a.full_control or full_control(g)
            a.accounts += [x for x in accts if x not in a.accounts]
            a.home = _merge_home(a.home, verdict, first)
            a.public = True if cat == "public" else (None if cat == "wildcard" and a.public is not True else a.public)
            a.narrowed_by += [n for n in narrowed_by if n not in a.narrowed_by]
            a.statements.append(st)
            a.branch_only = a.branch_only and branch
    return list(out.values())


def grant_home(key: Key | None, account: str | None, trusted: Iterable[str]) -> bool | None:
    """Whether a grantee's account is a home account of the key's policy (as
    IKMS213 decides it): False when some variant of the policy has it outside,
    None when it cannot be told."""
    if not account:
        return None
    verdicts = [h.classify(account) for h in key_home(key, tuple(trusted))]
    if False in verdicts:
        return False
    return True if all(v is True for v in verdicts) else None


# --- can a service use the key ---------------------------------------------------------------


@dataclass(frozen=True)
class ServiceCall:
    """How an AWS service calls KMS when it uses a key on a resource's behalf
    (one row of the consumer table's services, with what is known of the
    resource filled in).

    ``kind`` is ``service`` (``principal`` is the service principal,
    ``logs.{region}.amazonaws.com`` for a regional one) or ``role`` (a
    service-linked role: ``principal`` is its path and name,
    ``aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling``).
    ``region`` is the key's Region when known. ``actions`` must each be
    allowed (an entry ending in ``*`` by any action it matches).
    ``supported`` are the condition keys the service sends, with the value it
    sends as ARN-like parts (``None`` for a part that is not known);
    ``unsupported`` the keys it does not send (a statement conditioned on one
    never applies)."""

    kind: str
    principal: str
    actions: tuple[str, ...]
    region: str | None = None
    supported: tuple[tuple[str, tuple[str, ...], tuple], ...] = ()
    unsupported: tuple[str, ...] = ()


@dataclass
class Access:
    """Whether a key lets a service do what it needs.

    ``allowed`` is True (every action is allowed by some statement, and no
    Deny applies), False (some action is certainly not allowed: ``missing``),
    or None (it depends on something that cannot be told: ``why``).
    ``branch`` is set when only some variants of the policy fail."""

    allowed: bool | None
    missing: list[str] = field(default_factory=list)
    why: str = ""
    branch: bool = False
    #: the statement whose condition or principal decided an unknown verdict
    at: Any = None
    #: the Deny statement that refuses what Allow statements give (``allowed`` False)
    denied_by: Any = None


def _rank(v: bool | None) -> int:
    return 2 if v is True else 1 if v is None else 0


def _worst(*vs: bool | None) -> bool | None:
    return min(vs, key=_rank) if vs else True


def _best(*vs: bool | None) -> bool | None:
    return max(vs, key=_rank) if vs else False


def _entry_actions(entry: str) -> set[str]:
    return _match(entry)


def _region_part(s: str) -> str | None:
    """The region written in ``logs.<region>.amazonaws.com``: ``""`` for an
    opaque expression of the deployment's Region, None when not that shape."""
    m = re.fullmatch(r"([a-z0-9-]+)\.(.+)\.amazonaws\.com", s)
    if not m:
        return None
    r = m.group(2)
    if r.startswith("\ue003") and r.endswith("\ue004"):
        return ""
    return r


def _service_principal(pr: Principal, call: ServiceCall, home: Home) -> bool | None:
    if pr.wildcard:
        return True
    if pr.ptype == "unknown":
        return None
    v = pr.value if isinstance(pr.value, str) else None
    if v is None:
        return None
    v = v.strip()
    if call.kind == "service":
        if pr.ptype != "service":
            return False
        want = call.principal
        if "{region}" not in want:
            if UNK_OPEN in v:
                return None
            return v == want
        prefix = want.split("{region}", 1)[0]
        if not v.startswith(prefix):
            return None if UNK_OPEN in v else False
        got = _region_part(v)
        if got is None:
            # e.g. `logs.amazonaws.com`: not the regional principal the service documents
            return None
        if got == "":
            return True  # the deployment's own Region
        if UNK_OPEN in got:
            return None
        if call.region is None:
            return None
        return got == call.region
    # a service-linked role
    if pr.ptype not in ("role", "unknown"):
        return False
    rest = v.split(":role/", 1)[1] if ":role/" in v else None
    if rest is None:
        return None if UNK_OPEN in v else False
    if UNK_OPEN in rest:
        return None
    if rest != call.principal:
        return False
    acct = home.classify(pr.account)
    return True if acct else None if acct is None else False


def _principal_why(st: Statement, call: ServiceCall) -> str:
    """Why a statement's principal may or may not be the service's."""
    names = [display(pr.value) for pr in st.principals or [] if pr.ptype in ("service", "role", "unknown")]
    want = call.principal.replace("{region}", call.region or "<Region of the key>")
    if st.principals is None:
        return f"{st.label} uses NotPrincipal"
    if names:
        return f"{st.label} names {', '.join(names)}, where the service documents {want}"
    return f"{st.label} has a principal that is not known statically"


def _covers(st: Statement, entry: str) -> bool | None:
    g = statement_actions(st)
    if g.actions & _entry_actions(entry):
        return True
    return None if g.unknown else False


def _glob_part(pattern: str, sent: Any, like: bool, home: Home) -> bool | None:
    """One ':'-part of a condition value against the part a service sends
    (a string, None when unknown, or ``(prefix, None)`` for a known prefix
    and an unknown rest: ``log-group:`` and a name that is not known)."""
    if UNK_OPEN in pattern:
        return None
    if isinstance(sent, tuple) and len(sent) == 3:
        return _region_name_part(pattern, sent, like)
    if isinstance(sent, tuple):
        prefix = sent[0]
        if like and (pattern == "*" or pattern == prefix + "*"):
            return True
        fixed = re.split(r"[*?]", pattern, 1)[0] if like else pattern
        n = min(len(fixed), len(prefix))
        if fixed[:n] != prefix[:n]:
            return False
        return None
    if sent is None:
        if like and pattern.strip() == "*":
            return True
        if pattern.startswith("\ue003"):
            return True  # ${AWS::Region} / data.aws_region: the deployment's Region, which is the one sent
        return None
    if pattern.startswith("\ue003") and pattern.endswith("\ue004"):
        return None
    if sent == THIS_ACCOUNT:
        if pattern == THIS_ACCOUNT or (like and pattern == "*"):
            return True
        if re.fullmatch(r"\d{12}", pattern):
            return True if home.classify(pattern) else None
        if like and ("*" in pattern or "?" in pattern):
            return None
        return None
    if OPAQUE_OPEN in pattern:
        # a known string of unknown value (``${AWS::Region}``) inside the value: it may or may not be what is sent
        glob = re.sub(f"{OPAQUE_OPEN}[^{OPAQUE_CLOSE}]*{OPAQUE_CLOSE}", "*", pattern)
        if not like:
            glob = re.sub(r"([\[\]?])", r"[\1]", glob.replace("*", "\0")).replace("\0", "*")
        return None if fnmatch.fnmatchcase(sent, glob) else False
    if like:
        return fnmatch.fnmatchcase(sent, pattern)
    return sent == pattern


def _region_name_part(pattern: str, sent: tuple, like: bool) -> bool | None:
    """A condition value against a name whose Region is not known
    (``ec2.<region>.amazonaws.com``, sent as ``("ec2.", None, ".amazonaws.com")``):
    the deployment's Region (``${AWS::Region}``) matches, a literal Region cannot be told."""
    prefix, _, suffix = sent
    if like and pattern.strip() == "*":
        return True
    if not (pattern.startswith(prefix) and pattern.endswith(suffix) and len(pattern) > len(prefix) + len(suffix)):
        return None if like and ("*" in pattern or "?" in pattern) else False
    middle = pattern[len(prefix): len(pattern) - len(suffix)]
    if re.fullmatch(f"{OPAQUE_OPEN}[^{OPAQUE_CLOSE}]*{OPAQUE_CLOSE}", middle):
        return True  # the deployment's Region, which is the key's
    if like and middle == "*":
        return True
    if "." in middle or ":" in middle:
        return False
    return None


def _value_matches(pattern: Any, sent: tuple, like: bool, home: Home) -> bool | None:
    """A condition value against what the service sends: ARNs compared part
    by part (partition, service, Region, account, resource), other values whole."""
    if not isinstance(pattern, str):
        return None
    if len(sent) == 1:
        return _glob_part(pattern, sent[0], like, home)
    parts = split_arn(pattern, len(sent) - 1)
    if len(parts) != len(sent):
        return False if UNK_OPEN not in pattern and not (like and "*" in pattern) else None
    out: bool | None = True
    for p, s in zip(parts, sent):
        v = _glob_part(p, s, like, home)
        if v is False:
            return False
        out = _worst(out, v)
    return out


#: condition keys a request carries only when its principal is an IAM principal (a user, a role session,
#: the root): IAM, "AWS global condition context keys". An AWS service principal's requests lack them and
#: carry ``aws:PrincipalIsAWSService`` true and ``aws:PrincipalServiceName`` instead.
IAM_PRINCIPAL_KEYS = frozenset({
    "aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount", "aws:principalarn", "aws:userid",
    "aws:username",
})
_PRINCIPAL_TAG = "aws:principaltag/"
#: a key the request does not carry
_ABSENT = "absent"
#: a key the request carries, with a value not known statically
_PRESENT = "present"
#: operators that hold when the key they name is missing (IAM: "If the policy condition requires that the key
#: is not matched, such as StringNotLike or ArnNotLike, and the right key is not present, the condition is true")
_NEGATED_ALL = _NEGATED_OPS | {"numericnotequals", "datenotequals", "notipaddress"}
_STRING_OPS = _POSITIVE_OPS | _NEGATED_OPS
#: condition keys as AWS spells them, for messages (conditions are kept lower-cased)
_SPELLING = {k.lower(): k for k in (
    *_KEY_NAMES.values(), "aws:PrincipalIsAWSService", "aws:PrincipalServiceName", "aws:PrincipalTag",
    "kms:ViaService", "kms:GrantIsForAWSResource", "aws:SecureTransport")}


def key_spelling(key: str) -> str:
    """A lower-cased condition key as AWS spells it (``aws:PrincipalOrgID``)."""
    if key.startswith(_PRINCIPAL_TAG):
        return "aws:PrincipalTag/" + key[len(_PRINCIPAL_TAG):]
    if key.startswith("kms:encryptioncontext:"):
        return "kms:EncryptionContext:" + key[len("kms:encryptioncontext:"):]
    return _SPELLING.get(key, key)


def _op_spelling(op: str) -> str:
    """``StringNotEquals`` for ``stringnotequals`` (set qualifiers kept)."""
    words = ("ForAnyValue:", "ForAllValues:", "String", "Numeric", "Date", "Bool", "Binary", "Arn", "Ip", "Address",
             "Not", "Equals", "IgnoreCase", "Like", "LessThan", "GreaterThan", "IfExists", "Null")
    out = op
    for w in words:
        out = out.replace(w.lower(), w)
    return out


def _context(key: str, call: ServiceCall) -> Any:
    """What the service's requests carry for a condition key: :data:`_ABSENT`,
    :data:`_PRESENT` (a value not known), the value as ARN-like parts (as
    ``ServiceCall.supported``), or None when not even its presence is known."""
    if key in call.unsupported:
        return _ABSENT
    for k, _ops, sent in call.supported:
        if k == key:
            return sent
    if call.kind == "service":
        if key in IAM_PRINCIPAL_KEYS or key.startswith(_PRINCIPAL_TAG):
            return _ABSENT
        if key == "aws:principalisawsservice":
            return ("true",)
        if key == "aws:principalservicename":
            # the name of a regional principal (logs.<region>.amazonaws.com) in this key is not documented
            return _PRESENT if "{region}" in call.principal else (call.principal,)
        return None
    # a service-linked role: an IAM role of this account
    if key == "aws:principalisawsservice":
        return ("false",)
    if key == "aws:principalaccount":
        return (THIS_ACCOUNT,)
    if key == "aws:principalarn":
        return ("arn", "aws", "iam", "", THIS_ACCOUNT, "role/" + call.principal)
    if key == "aws:userid":
        return _PRESENT  # role-id:session-name
    if key == "aws:username":
        return _ABSENT  # only IAM users have it
    # aws:PrincipalOrgID/OrgPaths: the account's organization, if any; tags: not known
    return None


def _bool_values(values: list[Any]) -> set[str] | None:
    out = set()
    for v in values:
        if isinstance(v, bool):
            out.add("true" if v else "false")
        elif isinstance(v, str) and v.strip().lower() in ("true", "false"):
            out.add(v.strip().lower())
        else:
            return None
    return out


def _holds(op: str, key: str, values: list[Any], call: ServiceCall, home: Home) -> tuple[bool | None, str]:
    """Whether one condition (operator, key, values) holds for the service's
    requests, as IAM evaluates it, and why (in words)."""
    q, base = _base_op(op)
    exists = base.endswith("ifexists")
    if exists:
        base = base[: -len("ifexists")]
    sent = _context(key, call)
    name, opname = key_spelling(key), _op_spelling(op)
    if sent is None:
        return None, f"the {opname} condition on {name}"
    if sent is _ABSENT:
        if call.kind == "service" and (key in IAM_PRINCIPAL_KEYS or key.startswith(_PRINCIPAL_TAG)):
            absent = f"requests of an AWS service principal carry no {name} (IAM sets it only for IAM principals)"
            never = f"its {opname} condition on {name} cannot match {_who(call)}, as {absent}"
            always = f"{opname} on {name} holds for {_who(call)}, as {absent}"
        else:
            absent = f"the service does not send {name}"
            never = f"its {opname} condition on {name} never matches, as {absent}"
            always = f"{opname} on {name} always holds, as {absent}"
        if base == "null":
            b = _bool_values(values)
            if b == {"true"}:
                return True, always
            if b == {"false"}:
                return False, never
            return None, f"the Null condition on {name}"
        if exists or q == "forallvalues:" or (q != "foranyvalue:" and base in _NEGATED_ALL):
            return True, always
        return False, never
    if base == "null":
        b = _bool_values(values)
        if b == {"true"}:
            return False, f"{name} is present in the service's requests, so its Null {name} = true condition does not match"
        if b == {"false"}:
            return True, f"{name} is present"
        return None, f"the Null condition on {name}"
    if sent is _PRESENT:
        return None, f"the {opname} condition on {name}"
    if base == "bool":
        b = _bool_values(values)
        if b is None or len(sent) != 1:
            return None, f"the {opname} condition on {name}"
        ok = sent[0] in b
        return ok, (f"{name} is {sent[0]} for {_who(call)}" if ok else
                    f"{name} is {sent[0]} for {_who(call)}, so its {opname} condition does not match")
    if base not in _STRING_OPS and base not in ("stringequalsignorecase", "stringnotequalsignorecase"):
        return None, f"the {opname} condition on {name}"
    negated = base in _NEGATED_OPS
    # IAM: ArnEquals and ArnLike are the same test, wildcards included (AWS's own
    # log-group statement pins `kms:EncryptionContext:aws:logs:arn` with ArnEquals and `*`)
    like = base in ("stringlike", "arnlike", "stringnotlike", "arnnotlike", "arnequals", "arnnotequals")
    if base.endswith("ignorecase"):
        if not all(isinstance(x, str) for x in sent):
            return None, f"the {opname} condition on {name}"
        sent = tuple(x.lower() for x in sent)
        values = [v.lower() if isinstance(v, str) else v for v in values]
    verdicts = [_value_matches(v, sent, like, home) for v in values]
    matched = True if any(x is True for x in verdicts) else None if any(x is None for x in verdicts) else False
    if matched is None:
        return None, f"the {name} condition"
    if negated:
        return (not matched), (f"its {name} condition matches what the service sends" if not matched else
                               f"its {opname} condition on {name} does not hold for what the service sends")
    return matched, ("" if matched else f"its {name} condition does not match what the service sends")


def _who(call: ServiceCall) -> str:
    return "a service principal" if call.kind == "service" else "the service-linked role"


def _condition(st: Statement, call: ServiceCall, home: Home) -> tuple[bool | None, str]:
    """Whether a statement's conditions hold for the service's requests (all of
    them must: IAM ANDs operators and keys)."""
    out: bool | None = True
    why = ""
    for op, body in st.conditions.items():
        for key, values in body.items():
            if key == "kms:grantisforawsresource" and op == "bool":
                out = _worst(out, True if _bool_true(values) else None)
                why = why or ("" if _bool_true(values) else f"the Bool condition on {key_spelling(key)}")
                continue
            v, w = _holds(op, key, values, call, home)
            if v is False:
                return False, w
            if v is None:
                why = why or w
            out = _worst(out, v)
    return out, why


def _deny_applies(st: Statement, call: ServiceCall, home: Home, entry: str) -> tuple[bool | None, str]:
    """Whether a Deny statement refuses the service's request: True, False, or
    None when its conditions cannot be decided; and why it does (in words)."""
    if st.principals is None:
        return None, ""  # NotPrincipal
    m = _best(*[_service_principal(pr, call, home) for pr in st.principals]) if st.principals else False
    if m is False or _covers(st, entry) is False:
        return False, ""
    if not st.conditions:
        return m, ""
    for op, body in st.conditions.items():
        q, base = _base_op(op)
        if base in ("bool", "boolifexists") and _bool_false(body.get("aws:securetransport", [])):
            return False, ""  # AWS services call KMS over TLS
    out: bool | None = True
    reasons: list[str] = []
    for op, body in st.conditions.items():
        for key, values in body.items():
            v, w = _holds(op, key, values, call, home)
            if v is False:
                return False, ""
            if v is None:
                out = None
            elif w:
                reasons.append(w)
    out = _worst(m, out)
    return out, "; ".join(reasons)


def service_access(key: Key, call: ServiceCall, trusted: Iterable[str] = (), grant_action: str | None = None) -> Access:
    """Does the key's policy let the service (or service-linked role) of
    ``call`` use it as it needs: every action of ``call.actions`` (and
    ``grant_action``, ``kms:CreateGrant``, when the service needs a grant)?
    The account-root statement does not count: root delegation reaches IAM
    identities, not service principals or service-linked roles."""
    entries = list(call.actions) + ([grant_action] if grant_action else [])
    if not key.policy.present:
        # the default key policy: only the account root
        return Access(False, entries, "the key has no key policy, so AWS gives it the default one, which allows only the account root")
    if not key.policies:
        return Access(None, why="the key policy is not known statically")
    verdicts: list[Access] = []
    for p in key.policies:
        verdicts.append(_policy_access(p, key, call, entries, trusted))
    fails = [a for a in verdicts if a.allowed is False]
    if fails:
        a = fails[0]
        a.branch = len(fails) < len(verdicts)
        return a
    unknown = [a for a in verdicts if a.allowed is None]
    if unknown:
        return unknown[0]
    return Access(True)


def _policy_access(p: Policy, key: Key, call: ServiceCall, entries: list[str], trusted: Iterable[str]) -> Access:
    home = home_accounts(p, trusted, key.local_principals)
    missing: list[str] = []
    why = ""
    false_why = ""
    denied: Statement | None = None
    #: entries no Allow statement gives (before any Deny)
    unallowed: list[str] = []
    at = None
    out: bool | None = True
    for entry in entries:
        best: bool | None = False
        for st in p.statements:
            if st.effect != "Allow":
                continue
            if st.principals is None:
                m: bool | None = None
            else:
                m = _best(*[_service_principal(pr, call, home) for pr in st.principals]) if st.principals else False
            if m is False:
                continue
            a = _covers(st, entry)
            if a is False:
                continue
            c, cwhy = _condition(st, call, home)
            v = _worst(m, a, c)
            if c is False and m is not False and a is not False and cwhy:
                false_why = false_why or f"{st.label} does not apply: {cwhy}"
            if v is None and best is False:
                if m is None:
                    why = why or _principal_why(st, call)
                elif a is None:
                    why = why or f"{st.label} has actions that are not known statically"
                else:
                    why = why or f"{st.label} applies under {cwhy or 'a condition'}, which cannot be decided for the service's requests"
                at = at or st
            best = _best(best, v)
            if best is True:
                break
        if best is True:
            best = _grant_or(best, key, call, entry)
        else:
            g = _grant_or(best, key, call, entry)
            best = g
        if best is False:
            unallowed.append(entry)
        for st in p.statements:
            if st.effect != "Deny" or best is False:
                continue
            d, dwhy = _deny_applies(st, call, home, entry)
            if d is True:
                best = False
                denied = denied or st
                why = f"{st.label} denies it" + (f": {dwhy}" if dwhy else "")
            elif d is None and best is True:
                best = None
                why = why or f"{st.label} may deny it"
                at = at or st
        if best is False:
            missing.append(entry)
        out = _worst(out, best)
    if out is False:
        if denied is not None:
            # the Deny decides only when every missing action is otherwise allowed (or may be)
            return Access(False, missing, why, denied_by=denied if not unallowed else None)
        return Access(False, missing, false_why or why)
    if out is None and not p.complete:
        why = why or "parts of the key policy are not known statically"
    return Access(out, [], why, at=at)


def _grant_or(v: bool | None, key: Key, call: ServiceCall, entry: str) -> bool | None:
    """A grant of the scan to the principal that covers the action."""
    if v is True:
        return v
    want = _entry_actions(entry)
    for g in key.grants:
        grantee = g.attr("grantee_principal").value
        ops = g.attr("operations").value
        if not isinstance(grantee, str) or not isinstance(ops, list):
            continue
        name = grantee if call.kind == "service" else grantee.split(":role/", 1)[-1]
        if name == call.principal and any(isinstance(o, str) and o in want for o in ops):
            return True
    return v


def service_statement(call: ServiceCall, entries: list[str], source: str, sid: str, region_expr: str | None = None,
                      condition: dict | None = None) -> dict[str, Any]:
    """A key-policy statement that gives the service what it needs: the
    structure IKMS301 prints as JSON (it pastes into Terraform's
    ``jsonencode``/a heredoc and CloudFormation) and ``iackms fix`` adds."""
    if call.kind == "service":
        p: Any = call.principal
        if "{region}" in p:
            if call.region:
                p = p.replace("{region}", call.region)
            elif source == "cloudformation":
                p = {"Fn::Sub": p.replace("{region}", "${AWS::Region}")}
            else:
                p = p.replace("{region}", region_expr or "${data.aws_region.current.name}")
        principal: Any = {"Service": p}
    elif source == "cloudformation":
        principal = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/" + call.principal}}
    else:
        principal = {"AWS": "arn:aws:iam::${data.aws_caller_identity.current.account_id}:role/" + call.principal}
    body: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Principal": principal,
                            "Action": entries if len(entries) > 1 else entries[0], "Resource": "*"}
    if condition:
        body["Condition"] = condition
    return body
