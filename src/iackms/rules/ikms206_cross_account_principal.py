"""IKMS206 cross-account-principal: the key policy grants access to another AWS account."""

from __future__ import annotations

from typing import Iterator

from .. import semantics as sem
from ..model import THIS_ACCOUNT, Key
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
    options=(OPTIONS["trusted_accounts"],),
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
                                   st.loc, sem.statement_ident(st) + acct)
                    elif verdict is None and acct != THIS_ACCOUNT and chr(0xE000) not in acct:
                        yield Unresolved(f"{st.label} of {key.address}: its conditions admit account {acct}, which cannot be compared with this account (list your accounts in `trusted_accounts`)",
                                         st.loc, sem.statement_ident(st) + acct)
            for pr in st.principals or []:
                ident = sem.statement_ident(st) + str(pr)
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

