"""Key policy rules. Every one of them reads the policy through
:mod:`iackms.semantics`, so they agree on what a statement means."""

from __future__ import annotations

from typing import Iterator

from .. import semantics as sem
from ..model import THIS_ACCOUNT, Key, Policy, Statement, display
from .base import Fail, Result, RuleMeta, Source, Unresolved, check_flag, rule, shown
from .key_config import KMS_BP

POLICY_DOC = Source("AWS KMS: key policies", "https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html")
DEFAULT_POLICY = Source("AWS KMS: the default key policy", "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html")
CONDITIONS = Source("AWS KMS: condition keys", "https://docs.aws.amazon.com/kms/latest/developerguide/policy-conditions.html")
GRANTS_DOC = Source("AWS KMS: grants", "https://docs.aws.amazon.com/kms/latest/developerguide/grants.html")
FSBP_KMS5 = Source("AWS Security Hub KMS.5 (keys should not be publicly accessible)", "https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html")
NIST_AC_5 = Source("NIST SP 800-171 3.1.5 / CMMC AC.L2-3.1.5 (least privilege)", "https://csrc.nist.gov/pubs/sp/800/171/r2/upd1/final")
NIST_AC_4 = Source("NIST SP 800-171 3.1.4 / CMMC AC.L2-3.1.4 (separation of duties)", "https://csrc.nist.gov/pubs/sp/800/171/r2/upd1/final")
NIST_IA_3 = Source("NIST SP 800-171 3.5.3 / CMMC IA.L2-3.5.3 (multifactor authentication)", "https://csrc.nist.gov/pubs/sp/800/171/r2/upd1/final")
LOCKOUT = Source("AWS KMS: PutKeyPolicy and the policy lockout safety check", "https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html")
DEFAULT_ON = ("default", "cmmc-l2", "cmmc-l3")
CMMC = ("cmmc-l2", "cmmc-l3")

POLICY_RULE_IDS = ("IKMS202", "IKMS203", "IKMS204", "IKMS205", "IKMS206", "IKMS207", "IKMS208", "IKMS209", "IKMS210", "IKMS212")


def _ident(st: Statement) -> str:
    """A stable identity for a statement: its Sid, else its content."""
    return "sid:" + st.sid if st.sid else "sha:" + _content(st)


def _action_name(a) -> str:
    """`kms:ScheduleKeyDeletion` for a lower-cased action, as AWS spells it."""
    if isinstance(a, str) and a.startswith("kms:"):
        canon = {x.lower(): x for x in sem.kms_actions()}.get(a[4:])
        if canon:
            return "kms:" + canon
    return display(a)


def _written_actions(st: Statement) -> list[str]:
    """The statement's actions as the user wrote them."""
    raw = st.raw.get("Action") if isinstance(st.raw, dict) else None
    items = raw if isinstance(raw, list) else [raw] if raw is not None else []
    out = [display(a) for a in items if a is not None]
    return out or [_action_name(a) for a in (st.actions or [])]


def _who(st: Statement, prs) -> str:
    return ", ".join(str(p) or "(an empty principal)" for p in prs) or "(no principal)"


def _policy_known(key: Key) -> bool:
    return bool(key.policies)


@rule(RuleMeta(
    id="IKMS201",
    name="no-explicit-key-policy",
    title="The key has no key policy of its own",
    severity="low",
    profiles=DEFAULT_ON,
    scope="key",
    what=(
        "Flags a key with no policy from any of the places a policy can come from: the `policy` argument, "
        "a `data.aws_iam_policy_document`, a separate `aws_kms_key_policy` resource or a `file()` "
        "(Terraform), `KeyPolicy` (CloudFormation)."
    ),
    why=(
        "Without one, AWS applies its default policy: the account root gets `kms:*`, so every IAM "
        "principal whose identity policy allows KMS can use and manage the key. Writing the policy makes "
        "who may administer and use the key explicit and reviewable."
    ),
    sources=(DEFAULT_POLICY, KMS_BP),
    fix_tf="Give the key a `policy` (or an `aws_kms_key_policy`) that names its administrators and users.",
    fix_cfn="Add a `KeyPolicy` that names the key's administrators and users.",
    checkov_ids=("CKV2_AWS_64",),
    checkov=True,
))
def no_explicit_key_policy(key: Key, cfg) -> Iterator[Result]:
    if key.policy.present or key.policies:
        if not key.policies:
            yield Unresolved(
                f"the key policy of {key.address} cannot be resolved statically ({shown(key.policy)}); key-policy rules were not checked",
                key.policy.loc or key.loc,
            )
        return
    if key.is_replica and key.source == "plan":
        return
    yield Fail(f"{key.address} has no key policy; AWS applies the default policy (account root gets kms:*)", key.loc)


def _content(st: Statement) -> str:
    """The statement's content (every branch of a condition differs here,
    even when its Sid and location are the same)."""
    import hashlib

    import orjson

    try:
        raw = orjson.dumps(st.raw, default=display, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        raw = repr(st.raw).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def _each_statement(key: Key, effect: str = "Allow") -> Iterator[tuple[Policy, Statement]]:
    """Every distinct statement of every variant of the key policy (a
    condition that cannot be decided gives one variant per branch)."""
    seen: set[tuple] = set()
    for p in key.policies:
        for st in p.statements:
            if st.effect != effect:
                continue
            k = (st.loc, _content(st))
            if k in seen:
                continue
            seen.add(k)
            yield p, st


def _in_branch(key: Key, st: Statement) -> str:
    """' (in one branch of a condition)' when the statement is written this
    way only in some variants of the policy."""
    if len(key.policies) < 2:
        return ""
    c = _content(st)
    n = sum(1 for p in key.policies if any(o.loc == st.loc and _content(o) == c for o in p.statements))
    return " (in one branch of a condition)" if n < len(key.policies) else ""


@rule(RuleMeta(
    id="IKMS202",
    name="public-principal",
    title="The key policy allows anyone (a wildcard principal without a constraining condition)",
    severity="critical",
    profiles=("default", "cis", "cmmc-l2", "cmmc-l3"),
    scope="key",
    what=(
        "Flags an Allow statement whose principal is a wildcard in any spelling (`\"*\"`, `{\"AWS\": \"*\"}`, "
        "`{\"AWS\": [\"*\"]}`, `arn:aws:iam::*:root`) unless a condition pins the caller to specific "
        "accounts, organizations or principals: `kms:CallerAccount`, `aws:PrincipalAccount`, "
        "`aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`, `aws:PrincipalArn`, `aws:SourceAccount`, "
        "`aws:SourceArn`, `aws:SourceOrgID`, `aws:userid` or `aws:username` with a positive operator and "
        "specific values, or a Deny statement refusing everyone outside them. `kms:ViaService`, "
        "`aws:SecureTransport`, `aws:SourceIp` and `aws:SourceVpc(e)` alone do not make the key private. "
        "Deny statements with a wildcard are fine."
    ),
    why=(
        "A key any AWS account can use lets strangers decrypt your data or run up your KMS bill. Tools "
        "that treat every condition as a fix miss keys that only require TLS; tools that ignore conditions "
        "flag AWS's own recommended `kms:CallerAccount` + `kms:ViaService` pattern. iackms reads the condition."
    ),
    sources=(FSBP_KMS5, CONDITIONS, POLICY_DOC, KMS_BP),
    fix_tf='Name the principals, or add `condition { test = "StringEquals" variable = "kms:CallerAccount" values = [data.aws_caller_identity.current.account_id] }`.',
    fix_cfn='Name the principals, or add `Condition: {StringEquals: {"kms:CallerAccount": !Ref AWS::AccountId}}`.',
    checkov_ids=("CKV_AWS_33",),
    cfn_nag_ids=("F76",),
    checkov=True,
))
def public_principal(key: Key, cfg) -> Iterator[Result]:
    for p, st in _each_statement(key):
        wild = [pr for pr in (st.principals or []) if pr.wildcard]
        if st.not_principals is not None and sem.constrains(st) is not True and not _denied_elsewhere(p, st):
            # "everyone except ..." is every other AWS account too
            yield Fail(f"{st.label} of {key.address} allows every principal except {_who(st, st.not_principals)} (NotPrincipal)" + _in_branch(key, st), st.loc, _ident(st))
            continue
        if not wild:
            continue
        c = sem.constrains(st)
        if c is True:
            continue
        if _denied_elsewhere(p, st):
            continue
        if c is None:
            what = ", ".join(dict.fromkeys(" ".join(u.split()) for u in st.unknowns[:3])) or "unresolved values"
            yield Unresolved(f"{st.label} of {key.address} allows a wildcard principal; whether its conditions restrict it depends on {what}", st.loc, _ident(st))
            continue
        acts = sem.statement_actions(st)
        written = _written_actions(st)
        what = "kms:*" if acts.full else (", ".join(written)[:160] or "every action but " + ", ".join(_action_name(a) for a in st.not_actions or []))
        cond = " (its conditions do not restrict the caller's account)" if st.conditions else ""
        yield Fail(f"{st.label} of {key.address} allows any principal ({_who(st, wild)}) {what}{cond}" + _in_branch(key, st), st.loc, _ident(st))


def _denied_elsewhere(p: Policy, st: Statement) -> bool:
    """Another statement denies everyone outside specific accounts for all the
    actions this one allows."""
    allowed = sem.statement_actions(st).actions
    for other in p.statements:
        if other is st or not sem.deny_constrains(other):
            continue
        if not any(pr.wildcard for pr in other.principals or []):
            continue
        if allowed <= sem.statement_actions(other).actions:
            return True
    return False


@rule(RuleMeta(
    id="IKMS203",
    name="full-access-to-non-root",
    title="A principal other than the account root is allowed every KMS action",
    severity="high",
    profiles=DEFAULT_ON,
    scope="key",
    what=(
        "Flags an Allow of `kms:*` or `*` (any case) to a principal other than the account root: a role, "
        "user, service or a wildcard restricted to an account. The account root statement "
        "(`arn:aws:iam::ACCOUNT:root` or a bare account ID) only delegates to IAM and is never a finding."
    ),
    why=(
        "`kms:*` lets the principal change the key policy, disable or delete the key and decrypt everything, "
        "without any IAM policy having to allow it. Give administrators admin actions and users usage actions."
    ),
    sources=(POLICY_DOC, DEFAULT_POLICY, KMS_BP, NIST_AC_5),
    fix_tf="List the actions the principal needs: for administrators CreateAlias, Describe*, Enable*, List*, Put*, Update*, Revoke*, Disable*, Get*, Delete*, TagResource, UntagResource, ScheduleKeyDeletion, CancelKeyDeletion (CreateGrant only with `kms:GrantIsForAWSResource`); for users Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, DescribeKey.",
    fix_cfn="List the actions the principal needs instead of `kms:*`.",
    checkov=True,
))
def full_access_to_non_root(key: Key, cfg) -> Iterator[Result]:
    for p, st in _each_statement(key):
        g = sem.statement_actions(st)
        if not g.full:
            continue
        # an unconstrained wildcard is IKMS202's finding
        known = [pr for pr in sem.non_root(st) if not pr.wildcard or sem.constrains(st) is True]
        unknown = sem.maybe_root(st)
        if known:
            scope = " (every principal its conditions admit)" if any(pr.wildcard for pr in known) else ""
            yield Fail(f"{st.label} of {key.address} allows kms:* to {_who(st, known)}{scope}" + _in_branch(key, st), st.loc, _ident(st))
        elif unknown:
            yield Unresolved(f"{st.label} of {key.address} allows kms:* to {_who(st, unknown)}, which cannot be resolved (is it the account root?)", st.loc, _ident(st))


@rule(RuleMeta(
    id="IKMS204",
    name="admin-and-usage-combined",
    title="One principal can both administer and use the key",
    severity="medium",
    profiles=DEFAULT_ON,
    scope="key",
    what=(
        "Flags a principal other than the account root that holds both administrative actions "
        "(PutKeyPolicy, ScheduleKeyDeletion, DisableKey, CreateGrant, TagResource...) and cryptographic "
        "actions (Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*, Sign, Verify, GenerateMac, VerifyMac, "
        "DeriveSharedSecret), in one statement or across several. Grant actions conditioned on "
        "`kms:GrantIsForAWSResource: true` do not count as admin, so AWS's default key-user statements pass."
    ),
    why="Separation of duties: whoever can change who may use the key should not be able to decrypt with it, and vice versa.",
    sources=(KMS_BP, NIST_AC_4, DEFAULT_POLICY),
    fix_tf="Split the key's administrators and users into separate principals and statements.",
    fix_cfn="Split the key's administrators and users into separate principals and statements.",
    checkov=True,
))
def admin_and_usage_combined(key: Key, cfg) -> Iterator[Result]:
    for p in key.policies:
        admin: dict[str, tuple] = {}
        usage: dict[str, tuple] = {}
        names: dict[str, str] = {}
        unresolved: dict[str, bool] = {}
        for st in sem.allow_statements(p):
            g = sem.statement_actions(st)
            acts = set(g.actions)
            if sem.grant_for_aws_resource(st):
                acts -= sem.GRANT_ACTIONS
            a = acts & sem.ADMIN_ACTIONS
            u = acts & sem.USAGE_ACTIONS
            for pr in sem.non_root(st) + sem.maybe_root(st):
                if pr.ptype == "service" or pr.wildcard:
                    continue  # a service is not a person; a wildcard is IKMS202's concern
                k = sem.principal_key(pr)
                names[k] = str(pr)
                unresolved[k] = pr.ptype == "unknown"
                if a:
                    admin.setdefault(k, (st, sorted(a)))
                if u:
                    usage.setdefault(k, (st, sorted(u)))
        for k in admin:
            if k not in usage:
                continue
            sa, aa = admin[k]
            su, uu = usage[k]
            later = sa if (sa.loc.line, sa.index) >= (su.loc.line, su.index) else su
            where_txt = f"in {sa.label}" if sa is su else f"in {sa.label} and {su.label}"
            msg = f"{names[k]} can both administer ({', '.join(aa[:3])}{'...' if len(aa) > 3 else ''}) and use ({', '.join(uu[:3])}{'...' if len(uu) > 3 else ''}) {key.address} {where_txt}"
            if unresolved.get(k):
                yield Unresolved(msg + " (the principal cannot be resolved: it may be the account root)", later.loc, "principal:" + k)
            else:
                yield Fail(msg, later.loc, "principal:" + k)


@rule(RuleMeta(
    id="IKMS205",
    name="allow-with-not-principal-or-not-action",
    title="An Allow statement uses NotPrincipal or NotAction",
    severity="high",
    profiles=DEFAULT_ON,
    scope="key",
    what="Flags Allow statements that use `NotPrincipal` or `NotAction` (and `not_principals` / `not_actions` in policy documents).",
    why="\"Allow everyone except X\" and \"allow everything except Y\" grant far more than intended, including principals and actions added later.",
    sources=(Source("IAM JSON policy elements: NotPrincipal", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html"),
             Source("IAM JSON policy elements: NotAction", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html"), KMS_BP),
    fix_tf="Use `principals` and `actions` listing what is allowed.",
    fix_cfn="Use `Principal` and `Action` listing what is allowed.",
    checkov=True,
))
def allow_with_not(key: Key, cfg) -> Iterator[Result]:
    for p, st in _each_statement(key):
        if st.not_principals is not None:
            yield Fail(f"{st.label} of {key.address} allows with NotPrincipal (everyone except {_who(st, st.not_principals)})" + _in_branch(key, st), st.loc, _ident(st))
        if st.not_actions is not None:
            yield Fail(f"{st.label} of {key.address} allows with NotAction (every action except {', '.join(_action_name(a) for a in st.not_actions)})" + _in_branch(key, st), st.loc, _ident(st))


@rule(RuleMeta(
    id="IKMS206",
    name="cross-account-principal",
    title="The key policy grants access to another AWS account",
    severity="medium",
    profiles=DEFAULT_ON,
    scope="key",
    what=(
        "Flags account roots, roles and users from an account other than the home account(s): "
        "`trusted_accounts` from the configuration, \"this account\" (`AWS::AccountId`, "
        "`data.aws_caller_identity`, roles and users defined in the same template or configuration) and the "
        "account whose root the policy gives `kms:*` or `kms:PutKeyPolicy`. AWS service principals are "
        "not accounts. When the home account is only symbolic and a principal names a literal account ID, "
        "the two cannot be compared and an IKMS002 note is reported instead."
    ),
    why="Cross-account access is sometimes intended (log archives, shared services) but should always be deliberate and reviewed.",
    sources=(POLICY_DOC, Source("AWS KMS: allowing users in other accounts to use a key", "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html"), KMS_BP),
    fix_tf="Remove the foreign principal, or list its account in `trusted_accounts` in `.iackms.yaml`.",
    fix_cfn="Remove the foreign principal, or list its account in `trusted_accounts` in `.iackms.yaml`.",
    options=("trusted_accounts",),
    checkov=True,
))
def cross_account_principal(key: Key, cfg) -> Iterator[Result]:
    for p in key.policies:
        home = sem.home_accounts(p, cfg.trusted_accounts)
        for st in sem.allow_statements(p):
            if any(pr.wildcard for pr in st.principals or []):
                for acct in sem.pinned_accounts(st):
                    verdict = home.classify(acct)
                    if verdict is False:
                        yield Fail(f"{st.label} of {key.address} lets any principal of account {acct} in (through its conditions), outside the home account(s) {', '.join(sorted(a for a in home.literal if chr(0xE000) not in a))}",
                                   st.loc, _ident(st) + acct)
                    elif verdict is None and acct != THIS_ACCOUNT and chr(0xE000) not in acct:
                        yield Unresolved(f"{st.label} of {key.address}: its conditions admit account {acct}, which cannot be compared with this account (list your accounts in `trusted_accounts`)",
                                         st.loc, _ident(st) + acct)
            for pr in st.principals or []:
                ident = _ident(st) + str(pr)
                if pr.ptype == "unknown" and pr.account is None:
                    yield Unresolved(f"{st.label} of {key.address}: cannot tell which account principal {pr} belongs to", st.loc, ident)
                    continue
                if pr.ptype not in ("root", "role", "user", "assumed-role", "unknown"):
                    continue
                verdict = home.classify(pr.account)
                if verdict is False:
                    homes = ", ".join(sorted(a for a in home.literal if "\ue000" not in a)) or "this account"
                    yield Fail(f"{st.label} of {key.address} grants access to {pr} in account {pr.account}, outside the home account(s) {homes}", st.loc, ident)
                elif verdict is None:
                    if pr.account is None or "\ue000" in pr.account:
                        yield Unresolved(f"{st.label} of {key.address}: cannot tell the account of principal {pr}", st.loc, ident)
                    else:
                        yield Unresolved(f"{st.label} of {key.address}: principal {pr} names account {pr.account}, which cannot be compared with this account (list your accounts in `trusted_accounts`)", st.loc, ident)


@rule(RuleMeta(
    id="IKMS207",
    name="create-grant-unrestricted",
    title="A principal may create grants for anything, not only AWS services",
    severity="medium",
    profiles=DEFAULT_ON,
    scope="key",
    what=(
        "Flags a principal other than the account root allowed `kms:CreateGrant` without the condition "
        "`kms:GrantIsForAWSResource: true`. A `kms:ViaService` condition with specific services counts as the "
        "same restriction: the grants can then only be created by those AWS services on the caller's behalf "
        "(AWS's own key policies for EBS or Secrets Manager use this pattern)."
    ),
    why="A grant delegates use of the key; an unrestricted CreateGrant lets the principal hand the key to anyone, outside the key policy's control.",
    sources=(GRANTS_DOC, CONDITIONS, KMS_BP),
    fix_tf='Move CreateGrant to a statement with `condition { test = "Bool" variable = "kms:GrantIsForAWSResource" values = ["true"] }`.',
    fix_cfn='Move CreateGrant to a statement with `Condition: {Bool: {"kms:GrantIsForAWSResource": "true"}}`.',
    checkov=True,
))
def create_grant_unrestricted(key: Key, cfg) -> Iterator[Result]:
    for p, st in _each_statement(key):
        if "CreateGrant" not in sem.statement_actions(st).actions or sem.grant_for_aws_resource(st) or sem.via_service(st):
            continue
        prs = sem.non_root(st)
        if prs:
            yield Fail(f"{st.label} of {key.address} lets {_who(st, prs)} create grants without kms:GrantIsForAWSResource" + _in_branch(key, st), st.loc, _ident(st))
        elif sem.maybe_root(st):
            yield Unresolved(f"{st.label} of {key.address} lets {_who(st, sem.maybe_root(st))} create grants without kms:GrantIsForAWSResource; the principal cannot be resolved", st.loc, _ident(st))


@rule(RuleMeta(
    id="IKMS208",
    name="usage-without-context-condition",
    title="A principal may use the key without an encryption-context or ViaService condition",
    severity="low",
    profiles=CMMC,
    scope="key",
    what=(
        "Flags statements giving cryptographic actions to a principal other than the account root or an AWS "
        "service without a `kms:EncryptionContext:*`, `kms:EncryptionContextKeys` or `kms:ViaService` condition."
    ),
    why="Encryption context and ViaService conditions bind the key's use to the data and the service it was meant for, limiting what a stolen credential can decrypt.",
    sources=(CONDITIONS, Source("AWS KMS: encryption context", "https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html"), KMS_BP),
    fix_tf='Add e.g. `condition { test = "StringEquals" variable = "kms:ViaService" values = ["s3.us-east-1.amazonaws.com"] }`.',
    fix_cfn='Add e.g. `Condition: {StringEquals: {"kms:ViaService": !Sub "s3.${AWS::Region}.amazonaws.com"}}`.',
    checkov=True,
))
def usage_without_context(key: Key, cfg) -> Iterator[Result]:
    for p, st in _each_statement(key):
        u = sem.statement_actions(st).actions & sem.CONTEXT_ACTIONS
        if not u or sem.has_context_condition(st):
            continue
        prs = [pr for pr in sem.non_root(st) if pr.ptype != "service"]
        acts = f"{', '.join(sorted(u)[:3])}{'...' if len(u) > 3 else ''}"
        if prs:
            yield Fail(f"{st.label} of {key.address} lets {_who(st, prs)} use the key ({acts}) without an encryption-context or kms:ViaService condition" + _in_branch(key, st), st.loc, _ident(st))
        elif sem.maybe_root(st):
            yield Unresolved(f"{st.label} of {key.address} lets {_who(st, sem.maybe_root(st))} use the key ({acts}) without a context condition; the principal cannot be resolved", st.loc, _ident(st))


@rule(RuleMeta(
    id="IKMS209",
    name="critical-actions-without-mfa",
    title="A principal may change the key policy or delete the key without MFA",
    severity="medium",
    profiles=CMMC,
    scope="key",
    what=(
        "Flags a principal other than the account root or an AWS service that may call PutKeyPolicy, "
        "ScheduleKeyDeletion, DisableKey, DeleteAlias or DeleteImportedKeyMaterial without "
        "`Bool aws:MultiFactorAuthPresent: true` (not BoolIfExists) or a `NumericLessThan(Equals) "
        "aws:MultiFactorAuthAge` limit on the statement, or a Deny statement refusing those actions without MFA."
    ),
    why="These actions can make data unrecoverable or hand the key away; requiring MFA stops a leaked access key from doing it alone.",
    sources=(KMS_BP, NIST_IA_3, Source("IAM: MFA-protected API access", "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_configure-api-require.html")),
    fix_tf='Add `condition { test = "Bool" variable = "aws:MultiFactorAuthPresent" values = ["true"] }` to the administrators\' statement.',
    fix_cfn='Add `Condition: {Bool: {"aws:MultiFactorAuthPresent": "true"}}` to the administrators\' statement.',
    checkov=True,
))
def critical_without_mfa(key: Key, cfg) -> Iterator[Result]:
    for p in key.policies:
        denied: set[str] = set()
        for other in p.statements:
            if sem.denies_without_mfa(other):
                denied |= sem.statement_actions(other).actions
        for st in sem.allow_statements(p):
            crit = sorted(set(sem.MFA_ACTIONS) & sem.statement_actions(st).actions - denied)
            if not crit or sem.requires_mfa(st):
                continue
            prs = [pr for pr in sem.non_root(st) if pr.ptype != "service"]
            if prs:
                yield Fail(f"{st.label} of {key.address} lets {_who(st, prs)} call {', '.join(crit)} without MFA" + _in_branch(key, st), st.loc, _ident(st))
            elif sem.maybe_root(st):
                yield Unresolved(f"{st.label} of {key.address} lets {_who(st, sem.maybe_root(st))} call {', '.join(crit)} without MFA; the principal cannot be resolved", st.loc, _ident(st))


@rule(RuleMeta(
    id="IKMS210",
    name="invalid-key-policy",
    title="The key policy is not a valid policy document",
    severity="medium",
    profiles=DEFAULT_ON,
    scope="key",
    what=(
        "Flags a key policy that is not valid JSON, whose `Version` is missing or not `2012-10-17`, with a "
        "statement lacking `Effect`, `Principal`/`NotPrincipal`, `Action`/`NotAction` or `Resource`, with "
        "values of the wrong type, or over the 32 KB size limit."
    ),
    why="AWS rejects such a policy at deployment, or (for an old Version) silently disables policy variables.",
    sources=(POLICY_DOC, Source("IAM JSON policy grammar", "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html"),
             Source("AWS KMS quotas: key policy document size", "https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html")),
    fix_tf='Use `jsonencode({ Version = "2012-10-17", Statement = [...] })` or `data.aws_iam_policy_document`, with every statement complete.',
    fix_cfn="Write `Version: '2012-10-17'` and give every statement Effect, Principal, Action and Resource.",
    checkov=True,
))
def invalid_key_policy(key: Key, cfg) -> Iterator[Result]:
    seen = set()
    for p in key.policies:
        for msg, loc in p.errors:
            if (msg, loc) in seen:
                continue
            seen.add((msg, loc))
            yield Fail(f"{key.address}: {msg}", loc, ident=msg)


@rule(RuleMeta(
    id="IKMS211",
    name="lockout-bypass-enabled",
    title="The policy lockout safety check is bypassed",
    severity="high",
    profiles=DEFAULT_ON,
    scope="key",
    what="Flags `bypass_policy_lockout_safety_check = true` / `BypassPolicyLockoutSafetyCheck: true`.",
    why="The safety check stops a policy that would lock everyone out of the key for good; bypassing it removes that protection.",
    sources=(LOCKOUT, DEFAULT_POLICY, Source("AWS Control Tower CT.KMS.PV.3", "https://docs.aws.amazon.com/controltower/latest/controlreference/kms-rules.html")),
    fix_tf="Remove `bypass_policy_lockout_safety_check` (default false).",
    fix_cfn="Remove `BypassPolicyLockoutSafetyCheck` (default false).",
    checkov=True,
))
def lockout_bypass(key: Key, cfg) -> Iterator[Result]:
    yield from check_flag(key, "bypass_lockout", True, "bypasses the policy lockout safety check",
                          "whether the lockout safety check is bypassed")


@rule(RuleMeta(
    id="IKMS212",
    name="lockout-risk",
    title="No principal can change the key policy",
    severity="high",
    profiles=DEFAULT_ON,
    scope="key",
    what="Flags a known key policy in which no principal (the account root or a named administrator) is allowed `kms:PutKeyPolicy`.",
    why="Nobody could ever fix the policy again; recovering the key then needs AWS Support, if it is possible at all.",
    sources=(LOCKOUT, DEFAULT_POLICY, Source("cloudtools/awacs#279 (policy lockout at deployment)", "https://github.com/cloudtools/awacs/issues/279")),
    fix_tf='Keep the root statement: `{ Sid = "EnableRoot", Effect = "Allow", Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }, Action = "kms:*", Resource = "*" }`.',
    fix_cfn='Keep the root statement: `Principal: {AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}`, `Action: kms:*`, `Resource: "*"`.',
    checkov=True,
))
def lockout_risk(key: Key, cfg) -> Iterator[Result]:
    for p in key.policies:
        if p.errors:
            continue  # IKMS210: a policy AWS would reject is not judged on the statements iackms could read
        unknown = not p.complete
        # an unconditional Deny of PutKeyPolicy to everyone overrides every Allow
        blanket_deny = False
        deny_st = None
        denied_principals: set[str] = set()
        for st in p.statements:
            if st.effect != "Deny" or st.conditions:
                continue
            if "PutKeyPolicy" not in sem.statement_actions(st).actions:
                continue
            for pr in st.principals or []:
                if pr.wildcard and not blanket_deny:
                    blanket_deny = True
                    deny_st = st
                denied_principals.add(sem.principal_key(pr))
        ok = False
        for st in sem.allow_statements(p):
            g = sem.statement_actions(st)
            if g.unknown:
                unknown = True
            if "PutKeyPolicy" not in g.actions or blanket_deny:
                continue
            if any(pr.ptype != "service" and sem.principal_key(pr) not in denied_principals for pr in st.principals or []):
                ok = True
                break
        if ok:
            continue
        where_ = key.policy.loc or p.loc
        if unknown:
            yield Unresolved(f"cannot tell whether anyone may change the key policy of {key.address}: parts of it are unresolved", where_)
        elif blanket_deny:
            yield Fail(f"{deny_st.label} of the key policy of {key.address} denies kms:PutKeyPolicy to everyone; nobody could change it again",
                       deny_st.loc, ident="lockout")
        else:
            yield Fail(f"no statement of the key policy of {key.address} allows kms:PutKeyPolicy; nobody could change it again", where_, ident="lockout")
