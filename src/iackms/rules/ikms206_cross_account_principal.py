"""IKMS206 cross-account-principal: the key policy grants access to another AWS account."""

from __future__ import annotations

from typing import Iterator

from .. import semantics as sem
from ..model import THIS_ACCOUNT, UNK_OPEN, Key
from ..vocab import DEFAULT_ON, OPTIONS
from .base import Fail, Result, RuleMeta, Source, Unresolved, rule
from .sources import KMS_BP, POLICY_DOC


@rule(RuleMeta(
    id="IKMS206",
    name="cross-account-principal",
    title="The key policy grants access to another AWS account",
    severity="medium",
    profiles=DEFAULT_ON,
    targets=("key", "policy_only"),
    needs_policy=True,
    what=(
        "Flags account roots, roles and users from an account other than the home account(s), and a wildcard "
        "principal pinned by `kms:CallerAccount` (or `aws:PrincipalAccount`, `aws:SourceAccount`) to another "
        "account. Home accounts are \"this account\" (`AWS::AccountId`, `data.aws_caller_identity`, roles "
        "and users defined in the same template or configuration) and the `trusted_accounts` of the "
        "configuration. Only when the policy does not name this account and no `trusted_accounts` are "
        "configured is an account whose root the policy gives `kms:*` or `kms:PutKeyPolicy` taken as home "
        "(it is then the likely home account). Once the policy names this account, no other account is taken "
        "as home, whatever its root gets. Giving another account `kms:*` or `kms:PutKeyPolicy` is full control "
        "of the key (it can rewrite the policy): high severity, also when the home account is only named "
        "symbolically (a literal account is then another account, or this one written a second time: list it "
        "in `trusted_accounts`). For lesser access, a literal account that can only be compared with a "
        "symbolic home gets an IKMS002 note. AWS service principals are not accounts."
    ),
    why="Cross-account access is sometimes intended (log archives, shared services) but should always be deliberate and reviewed.",
    sources=(POLICY_DOC, Source("AWS KMS: allowing users in other accounts to use a key", "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html"), KMS_BP),
    fix_tf="Remove the foreign principal, or list its account in `trusted_accounts` in `.iackms.yaml`.",
    fix_cfn="Remove the foreign principal, or list its account in `trusted_accounts` in `.iackms.yaml`.",
    options=(OPTIONS["trusted_accounts"],),
    checkov=True,
))
def cross_account_principal(key: Key, cfg) -> Iterator[Result]:
    for p in key.policies:
        home = sem.home_accounts(p, cfg.trusted_accounts, key.local_principals)
        for st in sem.allow_statements(p):
            g = sem.statement_actions(st)
            full = sem.full_control(g)
            what = _control(g) if full else ""
            if any(pr.wildcard for pr in st.principals or []):
                for acct in sem.pinned_accounts(st):
                    ident = sem.statement_ident(st) + acct
                    verdict = home.classify(acct)
                    if verdict is False or (verdict is None and full and _literal(acct) and home.shown):
                        yield Fail(f"{st.label} of {key.address} lets any principal of account {acct} in (through its conditions){what}, {_outside(home)}",
                                   st.loc, ident, "high" if full else None)
                    elif verdict is None and _literal(acct):
                        yield Unresolved(f"{st.label} of {key.address}: its conditions admit account {acct}, which cannot be compared with this account (list your accounts in `trusted_accounts`)",
                                         st.loc, ident)
            for pr in st.principals or []:
                ident = sem.statement_ident(st) + str(pr)
                if pr.ptype == "unknown" and pr.account is None:
                    yield Unresolved(f"{st.label} of {key.address}: cannot tell which account principal {pr} belongs to", st.loc, ident,
                                     sem.unresolved_principal(key, st, pr))
                    continue
                if pr.ptype not in ("root", "role", "user", "assumed-role", "caller", "unknown"):
                    continue
                verdict = home.classify(pr.account)
                if verdict is False or (verdict is None and full and _literal(pr.account) and home.shown):
                    yield Fail(f"{st.label} of {key.address} grants access to {pr} in account {pr.account}{what}, {_outside(home)}",
                               st.loc, ident, "high" if full else None)
                elif verdict is None:
                    if not _literal(pr.account):
                        stake = f" (it gets {'kms:*' if g.full else 'kms:PutKeyPolicy'}: full control of the key if it is another account)" if full else ""
                        yield Unresolved(f"{st.label} of {key.address}: cannot tell the account of principal {pr}{stake}", st.loc, ident)
                    else:
                        yield Unresolved(f"{st.label} of {key.address}: principal {pr} names account {pr.account}, which cannot be compared with this account (list your accounts in `trusted_accounts`)", st.loc, ident)


def _literal(account: str | None) -> bool:
    return bool(account) and account != THIS_ACCOUNT and UNK_OPEN not in account


def _control(g) -> str:
    how = "kms:*" if g.full else "kms:PutKeyPolicy"
    return f" with {how}, full control of the key (it can rewrite the key policy)"


def _outside(home: sem.Home) -> str:
    if home.only_symbolic():
        # the policy names this account (AWS::AccountId, the caller identity...): a literal ID is another account
        return ("another account than the one the policy names as its own, unless that is the same account written by "
                "number (list the account in `trusted_accounts` if it is yours)")
    return f"outside the home account(s) {home.names()}"
