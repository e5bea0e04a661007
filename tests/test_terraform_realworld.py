"""The Terraform parser on real-world modules from the shared corpus
(skipped when the corpus is not present)."""

from __future__ import annotations

from pathlib import Path

import pytest

from iackms.context import ScanContext
from iackms.model import THIS_ACCOUNT, ScanUnit
from iackms.parsers.terraform import parse_modules

CORPUS = Path("/work/shared/corpus")
REALWORLD = CORPUS / "realworld"
TF_TREES = ["terraform-aws-kms", "terraform-aws-kms-key", "aft", "sra/aws_sra_examples/terraform"]


def scan_tree(root: Path) -> ScanUnit:
    dirs = sorted({p.parent for p in root.rglob("*.tf")} | {p.parent for p in root.rglob("*.tf.json")})
    return parse_modules(dirs, ScanContext(roots=[root.resolve()], cwd=root))


@pytest.mark.parametrize("tree", TF_TREES)
def test_realworld_parses_without_internal_errors(tree: str) -> None:
    root = REALWORLD / tree
    if not root.is_dir():
        pytest.skip(f"{root} not present")
    u = scan_tree(root)
    assert u.keys, "every tree defines at least one key"
    assert not [n for n in u.notes if "internal error" in n.message]
    for k in u.keys:
        for p in k.policies:
            for s in p.statements:
                assert s.loc.line >= 1 and s.loc.file


def test_terraform_aws_kms_key_policy_from_policy_document() -> None:
    root = REALWORLD / "terraform-aws-kms"
    if not root.is_dir():
        pytest.skip("corpus not present")
    u = scan_tree(root)
    by_addr = {k.address: k for k in u.keys}
    # the module is evaluated through examples/complete, not as a root
    assert "aws_kms_key.this" not in by_addr
    k = by_addr["module.kms_complete.aws_kms_key.this"]
    assert (k.loc.file, k.loc.line) == ("main.tf", 18)
    assert [c.file for c, _ in k.calls] == ["examples/complete/main.tf"] and k.root == "examples/complete"
    assert k.attrs["rotation"].value is False and k.attrs["deletion_window"].value == 7
    [p] = k.policies
    assert p.source == "policy_document"
    sids = [s.sid for s in p.statements]
    assert sids[:3] == ["Default", "KeyOwner", "KeyAdministration"]
    assert sids[-1] == "CloudWatchLogs"
    default = p.statements[0]
    assert default.loc.line == 115
    assert [x.value for x in default.principals] == [f"arn:aws:iam::{THIS_ACCOUNT}:root"]
    # aliases and grants follow try(aws_kms_key.this[0].key_id, ...) to the key that exists
    assert [a.target for a in k.aliases] == ["module.kms_complete.aws_kms_key.this"]
    replica = by_addr["module.kms_replica.aws_kms_replica_key.this"]
    assert replica.kind == "replica" and len(replica.aliases) == 1 and len(replica.grants) == 1
    # count = 0 for the key kinds a module instance does not create
    assert "module.kms_replica.aws_kms_key.this" not in by_addr


def test_sra_inline_and_document_policies() -> None:
    root = REALWORLD / "sra/aws_sra_examples/terraform"
    if not root.is_dir():
        pytest.skip("corpus not present")
    u = scan_tree(root)
    by_addr = {k.address: k for k in u.keys}
    macie = by_addr["aws_kms_key.macie_delivery_key"]
    [p] = macie.policies
    assert p.statements[0].principals[0].value == f"arn:aws:iam::{THIS_ACCOUNT}:root"
    secrets = by_addr["aws_kms_key.sra_secrets_key"]
    assert secrets.policies[0].source == "policy_document"


def test_whole_corpus_never_raises() -> None:
    roots = [CORPUS / "perf", CORPUS / "checkov", CORPUS / "kics", CORPUS / "trivy-checks"]
    roots = [r for r in roots if r.is_dir()]
    if not roots:
        pytest.skip("corpus not present")
    for root in roots:
        u = scan_tree(root)
        assert isinstance(u, ScanUnit)
        assert not [n for n in u.notes if "internal error" in n.message], root
