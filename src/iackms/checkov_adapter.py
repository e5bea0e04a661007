"""Checkov external checks: thin adapters from Checkov's resource
configuration to the iackms model, calling the same rule functions as
`iackms scan`. Imported only by the files in `checks/` and
`iackms/checkov_checks/`; iackms itself never imports Checkov.

Each rule that applies to a single key becomes `CKV_IACKMS_<nnn>` for
Terraform (`aws_kms_key`, `aws_kms_replica_key`, `aws_kms_external_key`) and
CloudFormation (`AWS::KMS::Key`, `AWS::KMS::ReplicaKey`). A rule's verdict
maps to Checkov's: Fail → FAILED, Unresolved → UNKNOWN, nothing → PASSED.
Where Checkov hides what a rule needs, the check answers UNKNOWN, never
PASSED: a Terraform key without an inline `policy` may get one from an
`aws_kms_key_policy` resource, and a policy built with
`data.aws_iam_policy_document` arrives as a bare reference."""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from .config import Config, ConfigError, find_config, load_file
from .engine import enabled_rules
from .model import THIS_ACCOUNT, Attr, Key, Location, Unknown, unknown_piece
from .policy import build_policies
from .rules import REGISTRY
from .rules.base import Fail, Unresolved
from .vocab import CFN_KEY_TYPES, TARGET_KEY, TARGET_POLICY_ONLY, TF_KEY_ATTRS, TF_KEY_TYPES, tf_enabled_argument

TF_TYPES = TF_KEY_TYPES
CFN_TYPES = tuple(CFN_KEY_TYPES)
#: rules whose verdict depends on the key policy, which a separate resource may set
POLICY_DEPENDENT = {rid for rid, r in REGISTRY.items() if r.meta.needs_policy}
#: rules an `aws_kms_key_policy` resource (which a resource check does not see) can change
KEY_POLICY_RESOURCE = POLICY_DEPENDENT | {rid for rid, r in REGISTRY.items() if TARGET_POLICY_ONLY in r.meta.targets}
_REF = re.compile(r"^(var|local|data|module|aws_[a-z0-9_]+)\.[A-Za-z0-9_.\-\[\]\"*]+$")
_CALLER = re.compile(r"(\$\{)?data\.aws_caller_identity\.[A-Za-z0-9_\-]+(\[[^\]]*\])?\.account_id\}?")
_INTERP = re.compile(r"\$\{([^}]*)\}")
_IAM_REF = re.compile(r"^(\$\{)?aws_iam_(role|user)\.([A-Za-z0-9_\-]+)\.arn\}?$")


def check_id(rule_id: str) -> str:
    return "CKV_IACKMS_" + rule_id[4:]


@lru_cache(maxsize=1)
def config() -> Config:
    """The iackms configuration found from the directory Checkov scans
    (`-d DIR` / `--directory`, `-f FILE` / `--file`), else the current
    directory; the default profile when there is none."""
    start = Path.cwd()
    argv = sys.argv
    for i, a in enumerate(argv[:-1]):
        if a in ("-d", "--directory", "-f", "--file"):
            start = Path(argv[i + 1])
            break
    try:
        found = find_config(start)
        return load_file(found) if found else Config()
    except ConfigError as e:
        print(f"iackms checkov checks: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def _unwrap(v: Any) -> Any:
    if isinstance(v, list) and len(v) == 1:
        return v[0]
    return v


def _fix(v: Any, depth: int = 0) -> Any:
    """Checkov's rendered values to iackms values: unresolved references
    become Unknown, the caller's account becomes "this account"."""
    if depth > 100:
        return Unknown("...")
    if isinstance(v, str):
        s = v.strip()
        m = _IAM_REF.match(s)
        if m:
            kind = m.group(2)
            return f"arn:aws:iam::{THIS_ACCOUNT}:{kind}/" + unknown_piece(f"aws_iam_{kind}.{m.group(3)}.name")
        s2 = _CALLER.sub(THIS_ACCOUNT, v)
        if _REF.match(s2.strip()):
            return Unknown(s2.strip())
        if "${" in s2:
            return _INTERP.sub(lambda mm: unknown_piece(mm.group(1)), s2)
        # Checkov drops ${} around unresolved pieces inside strings
        parts = s2.split(":")
        if len(parts) >= 5 and parts[0] == "arn" and _REF.match(parts[4] or "-"):
            parts[4] = unknown_piece(parts[4])
            return ":".join(parts)
        return s2
    if isinstance(v, dict):
        return {k: _fix(x, depth + 1) for k, x in v.items() if not (isinstance(k, str) and k.startswith("__"))}
    if isinstance(v, list):
        return [_fix(x, depth + 1) for x in v]
    return v


def tf_key(conf: dict, entity_type: str) -> tuple[Key, set[str]]:
    """A Key from a Checkov Terraform resource configuration, and the rule
    IDs whose inputs Checkov does not show (answered UNKNOWN)."""
    address = str(conf.get("__address__", entity_type))
    start = int(_unwrap(conf.get("__start_line__", 1)) or 1)
    end = int(_unwrap(conf.get("__end_line__", start)) or start)
    loc = Location("checkov", start, end)
    key = Key(address, entity_type, loc, "terraform", kind=TF_TYPES.get(entity_type, "key"))
    hidden: set[str] = set()
    for tf, norm in [*TF_KEY_ATTRS.items(), (tf_enabled_argument(entity_type), "enabled")]:
        if tf not in conf:
            continue
        raw = _unwrap(conf[tf])
        key.attrs[norm] = Attr(_fix(raw), loc, True, tf)
    if key.kind == "external":
        key.attrs["origin"] = Attr("EXTERNAL", loc, True, "origin")
    elif "custom_key_store_id" in key.attrs:
        key.attrs["origin"] = Attr(Unknown("custom key store type"), loc, True, "custom_key_store_id")
    lc = _unwrap(conf.get("lifecycle"))
    if isinstance(lc, dict) and "prevent_destroy" in lc:
        key.attrs["deletion_protection"] = Attr(_fix(_unwrap(lc["prevent_destroy"])), loc, True, "prevent_destroy")
    if "policy" in conf:
        raw = _fix(_unwrap(conf["policy"]))
        if isinstance(raw, str) and not raw.lstrip().startswith("{"):
            raw = Unknown(raw)  # e.g. an unrendered file(...) or templatefile(...) call
        key.policy = Attr(raw, loc, True, "policy")
        if isinstance(raw, Unknown):
            hidden |= POLICY_DEPENDENT
        else:
            key.policies = build_policies(raw, loc, "inline")
    else:
        # maybe an aws_kms_key_policy resource, which a resource check does not see
        hidden |= KEY_POLICY_RESOURCE
    return key, hidden


def cfn_key(conf: dict, entity_type: str, name: str = "") -> tuple[Key, set[str]]:
    """A Key from a Checkov CloudFormation resource (the whole resource
    mapping, intrinsics in long form, `Ref`s to parameters already replaced
    by their defaults)."""
    from .parsers.cloudformation import key_from_resource

    start = int(conf.get("__startline__", 1) or 1)
    end = int(conf.get("__endline__", start) or start)
    loc = Location("checkov", start, max(start, end - 1))
    key = key_from_resource(name or entity_type, _plain(conf), loc)
    return key, set()


def _plain(v: Any, depth: int = 0) -> Any:
    if depth > 200:
        return None
    if isinstance(v, dict):
        return {str(k): _plain(x, depth + 1) for k, x in v.items() if not (isinstance(k, str) and k.startswith("__"))}
    if isinstance(v, list):
        return [_plain(x, depth + 1) for x in v]
    if isinstance(v, str):
        return str(v)
    return v


def verdict(rule_id: str, key: Key, hidden: set[str]) -> str:
    """'FAILED', 'PASSED' or 'UNKNOWN' for one rule on one key."""
    cfg = config()
    if rule_id not in enabled_rules(cfg):
        return "UNKNOWN"
    results = list(REGISTRY[rule_id].check(key, cfg))  # type: ignore[misc]
    if any(isinstance(r, Fail) for r in results):
        # a failure seen in what Checkov shows stands even if more is hidden elsewhere,
        # except IKMS201 (a separate aws_kms_key_policy may exist)
        return "UNKNOWN" if rule_id == "IKMS201" and rule_id in hidden else "FAILED"
    if rule_id in hidden or any(isinstance(r, Unresolved) for r in results):
        return "UNKNOWN"
    return "PASSED"


_REGISTERED = False


def register() -> None:
    """Create (and so register) one Checkov check per single-key rule and
    framework. Idempotent: Checkov loads each file once per runner."""
    global _REGISTERED
    if _REGISTERED:
        return
    _REGISTERED = True
    from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck as CfnCheck
    from checkov.common.bridgecrew.severities import BcSeverities, Severities
    from checkov.common.models.enums import CheckCategories, CheckResult
    from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck as TfCheck

    from .docgen import rule_url

    results = {"FAILED": CheckResult.FAILED, "PASSED": CheckResult.PASSED, "UNKNOWN": CheckResult.UNKNOWN}
    sev = {"critical": BcSeverities.CRITICAL, "high": BcSeverities.HIGH, "medium": BcSeverities.MEDIUM,
           "low": BcSeverities.LOW, "info": BcSeverities.INFO}

    def make(base: type, rid: str, supported: tuple[str, ...], framework: str) -> None:
        meta = REGISTRY[rid].meta
        category = CheckCategories.ENCRYPTION if rid.startswith("IKMS1") else CheckCategories.IAM

        def scan_resource_conf(self: Any, conf: dict) -> Any:
            etype = getattr(self, "entity_type", None) or (conf.get("Type") if framework == "cfn" else "aws_kms_key")
            if framework == "tf":
                key, hidden = tf_key(conf, etype)
            else:
                key, hidden = cfn_key(conf, etype)
            return results[verdict(rid, key, hidden)]

        cls = type(f"Iackms{rid}{framework.title()}", (base,), {"scan_resource_conf": scan_resource_conf})
        check = cls(name=f"[iackms {meta.severity}] {meta.title} ({rid})", id=check_id(rid), categories=[category],
                    supported_resources=list(supported), guideline=rule_url(rid))
        check.severity = Severities[sev[meta.severity]]

    for rid, rule in sorted(REGISTRY.items()):
        meta = rule.meta
        if not meta.checkov or TARGET_KEY not in meta.targets or rule.check is None:
            continue
        make(TfCheck, rid, tuple(TF_TYPES), "tf")
        if meta.cfn_applicable:
            make(CfnCheck, rid, CFN_TYPES, "cfn")
