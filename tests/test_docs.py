"""The committed rule docs (`docs/rules/`) are what `python -m iackms.docgen`
generates from the rule metadata and the fixtures, and every page is complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iackms import docgen
from iackms.rules import REGISTRY

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "rules"
FIXTURES = ROOT / "fixtures"
SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Options",
            "## How to suppress", "## References")


def test_committed_docs_are_up_to_date():
    want = docgen.render_docs(FIXTURES)
    stale = [name for name, text in want.items()
             if not (DOCS / name).is_file() or (DOCS / name).read_text(encoding="utf-8") != text]
    extra = sorted(p.name for p in DOCS.glob("IKMS*.md") if p.name not in want)
    assert not stale and not extra, f"run `python -m iackms.docgen`: out of date {stale}, stale {extra}"


def test_check_mode_reports_no_change():
    assert docgen.sync_docs(DOCS, FIXTURES, check=True) == []


def test_check_mode_detects_a_change_and_writes_nothing(tmp_path):
    out = tmp_path / "rules"
    assert "IKMS101.md" in docgen.sync_docs(out, FIXTURES, check=True)
    assert not out.exists()
    docgen.sync_docs(out, FIXTURES)
    assert docgen.sync_docs(out, FIXTURES, check=True) == []
    (out / "IKMS101.md").write_text("edited by hand\n", encoding="utf-8")
    (out / "IKMS999.md").write_text("a rule that no longer exists\n", encoding="utf-8")
    assert docgen.sync_docs(out, FIXTURES, check=True) == ["IKMS101.md", "IKMS999.md"]
    assert docgen.main(["--check", "--root", str(tmp_path)]) == 1
    docgen.sync_docs(out, FIXTURES)
    assert not (out / "IKMS999.md").exists()
    assert docgen.sync_docs(out, FIXTURES, check=True) == []


@pytest.mark.parametrize("rid", sorted(REGISTRY))
def test_rule_doc_has_every_section(rid):
    text = (DOCS / f"{rid}.md").read_text(encoding="utf-8")
    assert text.startswith(f"# {rid} {REGISTRY[rid].meta.name}\n")
    pos = [text.find(s + "\n") for s in SECTIONS]
    assert all(p >= 0 for p in pos), [s for s, p in zip(SECTIONS, pos) if p < 0]
    assert pos == sorted(pos), "sections out of order"
    # the examples come from the fixtures, without the harness's markers
    assert "```hcl" in text
    if REGISTRY[rid].meta.cfn_applicable:
        assert "```yaml" in text
    assert "expect:" not in text and "# profile:" not in text


@pytest.mark.parametrize("rid", sorted(REGISTRY))
def test_rule_has_an_https_source(rid):
    meta = REGISTRY[rid].meta
    assert any(s.url.startswith("https://") for s in meta.sources), meta.sources
    assert all(re.match(r"https://\S+$", s.url) for s in meta.sources), meta.sources


def test_index_links_every_rule():
    text = (DOCS / "README.md").read_text(encoding="utf-8")
    for rid, r in REGISTRY.items():
        assert f"| [{rid}]({rid}.md) | {r.meta.name} | {r.meta.severity} |" in text


def test_strip_markers():
    src = 'resource "aws_kms_key" "k" { # expect: IKMS101\n  # profile: default\n  is_enabled = false # expect: IKMS108, IKMS101\n}\n'
    assert docgen.strip_markers(src) == 'resource "aws_kms_key" "k" {\n  is_enabled = false\n}'


def test_packaged_rule_pages_are_up_to_date():
    """`iackms explain` prints the pages shipped in the package: the docs' pages, examples included."""
    pkg = ROOT / "src" / "iackms" / "data" / "rules"
    want = docgen.render_packaged(FIXTURES)
    stale = [n for n, text in want.items() if not (pkg / n).is_file() or (pkg / n).read_text(encoding="utf-8") != text]
    extra = sorted(p.name for p in pkg.glob("*.md") if p.name not in want)
    assert not stale and not extra, f"run `python -m iackms.docgen`: out of date {stale}, stale {extra}"
    for rid in REGISTRY:
        page = want[f"{rid}.md"]
        assert page == (DOCS / f"{rid}.md").read_text(encoding="utf-8").split("## Code, fixtures and tests")[0].rstrip() + "\n"


def test_configuration_table_is_generated_from_the_options():
    from iackms.config import CONFIG_KEYS
    from iackms.vocab import OPTIONS

    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == docgen.configuration_markdown(), "run `python -m iackms.docgen`"
    assert set(OPTIONS) == CONFIG_KEYS
    for name in OPTIONS:
        assert f"| `{name}` |" in committed
    assert "relative to the configuration file's directory" in committed
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/configuration.md" in readme
