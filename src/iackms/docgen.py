"""Rule documentation, generated from the rule metadata (and, for the docs
in the repository, from the fixtures). `iackms explain`, `docs/rules/*.md`,
SARIF `help` and the Checkov checks all come from here."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .rules.base import RuleMeta

FALLBACK_DOCS = "https://github.com/iackms/iackms/blob/main/docs"
SUPPRESS_TF = "# iackms:skip={id} <reason>"
SUPPRESS_CFN = "Metadata:\n  iackms:\n    skip:\n      - id: {id}\n        reason: <reason>"


@lru_cache(maxsize=1)
def project_urls() -> dict[str, str]:
    """[project.urls] from the installed metadata (pyproject.toml)."""
    try:
        from importlib.metadata import metadata

        out = {}
        for entry in metadata("iackms").get_all("Project-URL") or []:
            name, _, url = entry.partition(",")
            out[name.strip()] = url.strip()
        return out
    except Exception:  # not installed (running from a source tree)
        return {}


def docs_url() -> str:
    return project_urls().get("Documentation", FALLBACK_DOCS).rstrip("/")


def home_url() -> str:
    return project_urls().get("Homepage", FALLBACK_DOCS.rsplit("/blob/", 1)[0])


def rule_url(rule_id: str) -> str:
    return f"{docs_url()}/rules/{rule_id}.md"


def profiles_of(meta: RuleMeta) -> list[str]:
    return [*meta.profiles, "strict"]


def _suppress_section(meta: RuleMeta) -> str:
    lines = ["## How to suppress", "", "Terraform, a comment inside the resource block (the reason is required):", "",
             "```hcl", SUPPRESS_TF.format(id=meta.id), "```", ""]
    if meta.cfn_applicable:
        lines += ["CloudFormation, in the resource's `Metadata`:", "", "```yaml", SUPPRESS_CFN.format(id=meta.id), "```", ""]
    other = [*(f"`checkov:skip={c}`" for c in meta.checkov_ids), *(f"cfn_nag `{c}`" for c in meta.cfn_nag_ids)]
    if other:
        lines += [f"Existing suppressions for {', '.join(other)} are honoured too.", ""]
    return "\n".join(lines)


def rule_text(meta: RuleMeta) -> str:
    """The rule's documentation without examples (for `iackms explain`)."""
    return rule_markdown(meta, None)


def rule_markdown(meta: RuleMeta, fixtures: Path | None) -> str:
    out = [f"# {meta.id} {meta.name}", "", f"**{meta.title}**", "",
           f"Severity: **{meta.severity}** · Profiles: {', '.join(profiles_of(meta))}", "",
           "## What it does", "", meta.what, "", "## Why is this bad?", "", meta.why, ""]
    if fixtures is not None:
        ex = _examples(meta, fixtures)
        if ex:
            out += [ex]
    out += ["## Use instead", "", f"Terraform: {meta.fix_tf}", ""]
    if meta.cfn_applicable or meta.fix_cfn:
        out += [f"CloudFormation: {meta.fix_cfn}", ""]
    if meta.cfn_note:
        out += [meta.cfn_note, ""]
    if meta.options:
        out += ["## Options", "", *[f"- `{o}`" for o in meta.options], ""]
    if meta.scope != "file":
        out += [_suppress_section(meta)]
    if meta.sources:
        out += ["## References", "", *[f"- [{s.label}]({s.url})" for s in meta.sources], ""]
    return "\n".join(out).rstrip() + "\n"


def _fixture(fixtures: Path, meta: RuleMeta, case: str) -> list[tuple[str, str]]:
    d = fixtures / meta.id
    out = []
    for name, lang in ((f"{case}.tf", "hcl"), (f"{case}.yaml", "yaml")):
        p = d / name
        if p.is_file():
            out.append((lang, p.read_text(encoding="utf-8").strip()))
    return out


def _examples(meta: RuleMeta, fixtures: Path) -> str:
    fail = _fixture(fixtures, meta, "fail")
    ok = _fixture(fixtures, meta, "pass")
    if not fail and not ok:
        return ""
    lines = ["## Example", ""]
    for lang, text in fail:
        lines += [f"```{lang}", text, "```", ""]
    if ok:
        lines += ["Fixed:", ""]
        for lang, text in ok:
            lines += [f"```{lang}", text, "```", ""]
    return "\n".join(lines)


def help_markdown(meta: RuleMeta) -> str:
    """SARIF `help.markdown`: why it matters and the fix in both languages."""
    parts = [f"**{meta.title}**", "", meta.what, "", "**Why:** " + meta.why, "", "**Terraform fix:** " + meta.fix_tf]
    if meta.cfn_applicable:
        parts += ["", "**CloudFormation fix:** " + meta.fix_cfn]
    parts += ["", f"[Documentation]({rule_url(meta.id)})"]
    return "\n".join(parts)


def help_text(meta: RuleMeta) -> str:
    parts = [meta.title + ".", meta.what, "Why: " + meta.why, "Terraform fix: " + meta.fix_tf]
    if meta.cfn_applicable:
        parts.append("CloudFormation fix: " + meta.fix_cfn)
    parts.append("Documentation: " + rule_url(meta.id))
    return "\n\n".join(parts)
