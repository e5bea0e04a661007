"""IKMS213 grant-hygiene: a KMS grant is too broad."""

from __future__ import annotations

from typing import Iterator

from .. import semantics as sem
from ..model import Grant, display
from ..policy import parse_grantee
from ..vocab import DEFAULT_ON, OPTIONS
from .base import Fail, Result, RuleMeta, Unresolved, options, rule, shown
from .sources import GRANTS_DOC, KMS_BP


@rule(RuleMeta(
    id="IKMS213",
    name="grant-hygiene",
    title="A KMS grant is too broad",
    severity="medium",
    profiles=DEFAULT_ON,
    targets=("grant",),
    what=(
        "Checks each `aws_kms_grant`: the grantee must not be a wildcard or in another account than the home "
        "account(s) of the key's policy, decided as in IKMS206 (this account, `trusted_accounts`, and the "
        "account whose root gets full control when the policy does not name this account), `CreateGrant` must not be among its operations (the grantee could pass the key "
        "on), and a grant of symmetric cryptographic operations (Encrypt, Decrypt, ReEncrypt*, GenerateDataKey*) "
        "must have `constraints` binding it to an encryption context (AWS supports none for asymmetric and HMAC "
        "keys, or for operations such as Sign or DescribeKey)."
    ),
    why="Grants bypass the key policy once created; a broad grant is a permanent hole that key-policy reviews do not see.",
    sources=(GRANTS_DOC, KMS_BP),
    fix_tf="Name a principal of your account as `grantee_principal`, list only the operations needed (no CreateGrant), and add `constraints { encryption_context_equals = {...} }`.",
    fix_cfn="Not applicable: CloudFormation has no KMS grant resource.",
    options=(OPTIONS["trusted_accounts"],),
    cfn_applicable=False,
))
def grant_hygiene(grant: Grant, cfg) -> Iterator[Result]:
    g = grant.attr("grantee_principal")
    if g.present:
        for v in options(g):
            if not isinstance(v, str):
                yield Unresolved(f"cannot tell the grantee of {grant.address}: {shown(g)}", g.loc or grant.loc)
                break
            pr = parse_grantee(v)
            kind = pr.kind
            if pr.wildcard:
                yield Fail(f"{grant.address} grants to a wildcard principal ({display(v)})", g.loc or grant.loc, "grantee")
                break
            if pr.ptype == "unknown" or (kind == "AWS" and pr.account is None):
                yield Unresolved(f"cannot tell the grantee of {grant.address}: {shown(g)}", g.loc or grant.loc)
                break
            acct = pr.account
            if acct:
                # the home accounts of the key's policy, as IKMS206 has them
                homes = sem.key_home(getattr(grant, "key", None), cfg.trusted_accounts)
                verdicts = [h.classify(acct) for h in homes]
                if False in verdicts:
                    home = homes[verdicts.index(False)]
                    yield Fail(f"{grant.address} grants to {display(v)} in account {acct}, outside the home account(s) {home.names()}", g.loc or grant.loc, "grantee")
                    break
                if None in verdicts:
                    if "\ue000" in acct:
                        yield Unresolved(f"cannot tell the account of the grantee of {grant.address}: {display(v)}", g.loc or grant.loc, "grantee")
                    else:
                        yield Unresolved(f"{grant.address} grants to account {acct}, which cannot be compared with this account (list your accounts in `trusted_accounts`)", g.loc or grant.loc, "grantee")
                    break
    ops = grant.attr("operations")
    if ops.present:
        for v in options(ops):
            if isinstance(v, list) and any(isinstance(o, str) and o.lower() == "creategrant" for o in v):
                yield Fail(f"{grant.address} includes CreateGrant among its operations: the grantee can pass the key on", ops.loc or grant.loc, "operations")
                break
    if not grant.attr("constraints").present:
        crypto = _symmetric_crypto(ops)
        if crypto is None:
            yield Unresolved(f"cannot tell the operations of {grant.address}: {shown(ops)}", ops.loc or grant.loc, "constraints")
        elif crypto and not _asymmetric_or_hmac(grant):
            yield Fail(f"{grant.address} allows {', '.join(crypto)} with no constraints: it is not bound to an encryption context",
                       grant.loc, "constraints")


#: grant operations that take an encryption context (constraints only apply to these)
_CONTEXT_OPS = {"encrypt", "decrypt", "reencryptfrom", "reencryptto", "generatedatakey", "generatedatakeywithoutplaintext",
                "generatedatakeypair", "generatedatakeypairwithoutplaintext"}


def _symmetric_crypto(ops) -> list[str] | None:
    """The grant's operations that an encryption-context constraint can bind
    (None when the operations are unknown)."""
    if not ops.present:
        return None
    out: list[str] = []
    for v in options(ops):
        if not isinstance(v, list) or not all(isinstance(o, str) for o in v):
            return None
        out += [o for o in v if o.lower() in _CONTEXT_OPS and o not in out]
    return out


def _asymmetric_or_hmac(grant: Grant) -> bool:
    """Encryption-context constraints are not supported for asymmetric and HMAC keys."""
    key = getattr(grant, "key", None)
    if key is None:
        return False
    spec = key.attr("key_spec")
    return spec.present and isinstance(spec.value, str) and spec.value != "SYMMETRIC_DEFAULT"

