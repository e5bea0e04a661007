"""Our CloudFormation loader against cfn-flip (AWS's own YAML/JSON template
loader) on every template of the shared corpus: the plain data must be equal.

Normalisation: LDict/LList become dict/list; cfn-flip reads unquoted
timestamps as dates, which we keep as text (``Version: 2012-10-17``), so its
dates are compared as ``str()``. Templates cfn-flip cannot load are skipped.
Known differences are listed in ``KNOWN`` with the reason, and the test
checks that exactly those files differ.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from iackms import cfnyaml, jsonload
from iackms.parsers import cloudformation as cfn

cfn_flip = pytest.importorskip("cfn_flip")

CORPUS = Path("/work/shared/corpus")
DIRS = ("realworld", "cfn-lint", "cfn_nag", "cfripper", "checkov", "kics", "trivy-checks", "perf")
SUFFIXES = (".yaml", ".yml", ".json", ".template")

#: file (relative to the corpus) -> why cfn-flip and we differ
KNOWN = {
    # cfn-flip builds `!GetAtt [a, b]` from the raw scalar text of the items,
    # dropping their tags: `!GetAtt [!Sub "S3Bucket${Identifier}", !Ref Property]`
    # becomes ["S3Bucket${Identifier}", "Property"]; we keep the intrinsics
    "perf/aws-cloudformation-templates/CloudFormation/fn-foreach-s3-outputs.yaml": "GetAtt list items with tags",
}


def plain(v):
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, (datetime.date, datetime.datetime)):
        return str(v)
    return v


def templates():
    for d in DIRS:
        base = CORPUS / d
        if not base.is_dir():
            continue
        for p in sorted(base.rglob("*")):
            if p.suffix.lower() in SUFFIXES and p.is_file():
                yield p


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not available")
def test_loader_agrees_with_cfn_flip():
    compared = 0
    skipped: list[str] = []
    differ: dict[str, str] = {}
    for p in templates():
        data = p.read_bytes()
        if not cfn.sniff(data):
            continue
        text = data.decode("utf-8-sig", "replace")
        try:
            ref, _fmt = cfn_flip.load(text)
        except Exception:
            skipped.append(str(p.relative_to(CORPUS)))
            continue
        if not cfn.is_template(ref):
            continue
        rel = str(p.relative_to(CORPUS))
        try:
            ours = cfn.load_template(text, rel, p.suffix.lower() == ".json", [])
        except (cfnyaml.YamlError, jsonload.JsonError, cfnyaml.MultipleDocuments) as e:
            differ[rel] = f"we could not load it: {e}"
            continue
        compared += 1
        if plain(ours) != plain(ref):
            differ[rel] = "data differs"
    assert compared > 400, f"only {compared} templates compared"
    assert set(differ) == set(KNOWN), {k: v for k, v in differ.items() if k not in KNOWN} or f"known differences gone: {set(KNOWN) - set(differ)}"
