"""Rule documentation, generated from the rule metadata (and, for the docs
in the repository, from the fixtures). `iackms explain`, `docs/rules/*.md`,
SARIF `help` and the Checkov checks all come from here."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from .rules.base import RuleMeta
from .vocab import TARGET_FILE, TARGET_KEY, TARGET_POLICY_ONLY

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


FILE_SCOPE_SUPPRESS = {
    "IKMS001": (
        "A parse error belongs to a file, not a resource, so no comment can suppress it. Fix the file, or "
        "leave it out of the scan with `exclude:` in `.iackms.yaml`."
    ),
    "IKMS002": (
        "Informational: it never fails a run. A note on a resource is suppressed by a suppression of "
        "`IKMS002` or of the rule it names, written like any other suppression on that resource; "
        "`disable: [IKMS002]` in `.iackms.yaml` hides all of them."
    ),
}


#: how every rule that judges keys sees instances, branches and switches off by default
VARIANTS_TEXT = (
    "A key with several instances (a static `for_each` or `count`, or a module called with one) or whose "
    "settings and policy depend on a condition that cannot be decided statically (`c ? a : b`, `Fn::If`) is "
    "judged as a whole, once per instance and per branch: the settings of one instance or branch are never "
    "mixed with another's. A finding that holds for every instance and branch names the resource once; "
    "otherwise its resource is the instance address (`aws_kms_key.this[\"jwt\"]`, "
    "`module.kms[0].aws_kms_key.this`) and its message ends with the branch (`(when IsProd is true)`, "
    "`(when var.rotate is false)`). A key that exists only when a switch that is off by default is turned on "
    "(`count = var.create_x ? 1 : 0` with `default = false`, a `for_each` that is empty by default, a "
    "CloudFormation `Condition` false with the parameters' defaults) is checked as the branch in which it "
    "exists (`(when var.create_x is true)`). See "
    "[Known, unknown, and both](../architecture.md#known-unknown-and-both)."
)


def _suppress_section(meta: RuleMeta) -> str:
    if TARGET_FILE in meta.targets:
        text = FILE_SCOPE_SUPPRESS.get(meta.id, "This rule reports files, not resources: leave the file out of the scan with `exclude:` in `.iackms.yaml`.")
        return "\n".join(["## How to suppress", "", text, ""])
    lines = ["## How to suppress", "",
             "Terraform, a comment inside the resource block or on the lines directly above its header (the reason is required; "
             "the rule's name works as well as its ID):", "",
             "```hcl", SUPPRESS_TF.format(id=meta.id), "```", ""]
    if meta.cfn_applicable:
        lines += ["CloudFormation, in the resource's `Metadata`:", "", "```yaml", SUPPRESS_CFN.format(id=meta.id), "```", ""]
    other = [*(f"`checkov:skip={c}`" for c in meta.checkov_ids), *(f"cfn_nag `{c}`" for c in meta.cfn_nag_ids)]
    if other:
        lines += [f"Existing suppressions for {', '.join(other)} are honoured too.", ""]
    return "\n".join(lines)


def controls_line(meta: RuleMeta) -> str:
    """`CIS AWS Foundations 3.6 (v3.0+) · NIST SP 800-171 3.13.10 · ...`."""
    return " · ".join(str(c) for c in meta.controls)


def rule_text(meta: RuleMeta) -> str:
    """The rule's whole page for `iackms explain`: the one shipped in the
    package (examples included), else, in a tree without it, the page built
    from the metadata and the repository's fixtures."""
    from importlib import resources

    try:
        return resources.files("iackms").joinpath("data", "rules", f"{meta.id}.md").read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError):
        fixtures = REPO_ROOT / "fixtures"
        return rule_markdown(meta, fixtures if fixtures.is_dir() else None, code=False)


def rule_markdown(meta: RuleMeta, fixtures: Path | None, code: bool = True) -> str:
    out = [f"# {meta.id} {meta.name}", "", f"**{meta.title}**", "",
           f"Severity: **{meta.severity}** · Profiles: {', '.join(profiles_of(meta))}", ""]
    if meta.controls:
        out += [f"Controls: {controls_line(meta)}", ""]
    out += ["## What it does", "", meta.what, "", "## Why is this bad?", "", meta.why, ""]
    if fixtures is not None:
        ex = _examples(meta, fixtures)
        if ex:
            out += [ex]
    out += ["## Use instead", "", f"Terraform: {meta.fix_tf}", ""]
    if meta.cfn_applicable or meta.fix_cfn:
        out += [f"CloudFormation: {meta.fix_cfn}", ""]
    if meta.cfn_note:
        out += [meta.cfn_note, ""]
    if meta.autofix:
        out += ["## Fix with iackms", "", meta.autofix + " Preview it with `iackms fix --diff`; only a literal written "
                "in the scanned files is edited, and what is not fixed is said with where its value is set.", ""]
    if TARGET_KEY in meta.targets or TARGET_POLICY_ONLY in meta.targets:
        out += ["## Instances and branches", "", VARIANTS_TEXT, ""]
    out += ["## Options", ""]
    if meta.options:
        out += [*[f"- `{o.name}` ({o.type}; default: {_default(o.default)}): {o.doc}" for o in meta.options], "", "Set them in `.iackms.yaml` (or `[tool.iackms]` in `pyproject.toml`).", ""]
    else:
        out += ["None.", ""]
    out += [_suppress_section(meta)]
    if meta.sources:
        out += ["## References", "", *[f"- [{s.label}]({s.url})" for s in meta.sources], ""]
    if fixtures is not None and code:
        out += [_code_section(meta, fixtures.parent)]
    return "\n".join(out).rstrip() + "\n"


#: tests that run every rule's fixtures (parametrized by rule ID)
_EVERY_RULE_TESTS = ("tests/test_fixtures.py", "tests/test_snapshots.py")


def _code_section(meta: RuleMeta, root: Path) -> str:
    """Where the rule's code, fixtures and tests are (paths relative to the
    repository, linked from `docs/rules/`)."""
    from .rules import REGISTRY

    def link(rel: str) -> str:
        return f"[`{rel}`](../../{rel})"

    lines = ["## Code, fixtures and tests", ""]
    r = REGISTRY.get(meta.id)
    if r is not None and r.path is not None:
        try:
            lines.append(f"- Rule: {link(r.path.resolve().relative_to(root.resolve()).as_posix())}")
        except ValueError:
            pass
    fx = sorted(p.relative_to(root).as_posix() for p in (root / "fixtures" / meta.id).rglob("*") if p.is_file() and p.name != ".gitkeep") \
        if (root / "fixtures" / meta.id).is_dir() else []
    if fx:
        lines.append("- Fixtures: " + ", ".join(link(f) for f in fx))
    tests = [t for t in _EVERY_RULE_TESTS if (root / t).is_file()]
    named = _tests_naming(root / "tests", meta.id)
    items = [f"{link(t)} (every rule's fixtures)" for t in tests]
    for rel, names in named.items():
        shown = ", ".join(f"`{n}`" for n in names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        items.append(f"{link(rel)}: {shown}")
    if items:
        lines += ["- Tests:", *[f"  - {i}" for i in items]]
    return "\n".join(lines) + "\n"


def _tests_naming(tests_dir: Path, rule_id: str) -> dict[str, list[str]]:
    """Test functions whose code names the rule ID, per test file."""
    import ast

    out: dict[str, list[str]] = {}
    if not tests_dir.is_dir():
        return out
    for p in sorted(tests_dir.glob("test_*.py")):
        text = p.read_text(encoding="utf-8")
        if rule_id not in text:
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        lines = text.splitlines()
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                body = "\n".join(lines[first - 1 : node.end_lineno])
                if rule_id in body:
                    out.setdefault(f"tests/{p.name}", []).append(node.name)
    return out


def _default(v) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(str(x) for x in v) + "]" if v else "[]"
    if isinstance(v, dict):
        return "{}" if not v else str(v)
    return f"`{v}`" if isinstance(v, str) else str(v)


MARKER = re.compile(r"\s*#\s*(?:expect|profile):.*$")


def strip_markers(text: str) -> str:
    """A fixture as an example: without the `# expect:` / `# profile:` comments
    the test harness reads (a line holding nothing else is dropped)."""
    out = []
    for line in text.splitlines():
        if MARKER.search(line):
            line = MARKER.sub("", line)
            if not line.strip():
                continue
        out.append(line.rstrip())
    return "\n".join(out).strip()


def _fixture(fixtures: Path, meta: RuleMeta, case: str) -> list[tuple[str, str, str]]:
    """(language, label, text) of the `case` ("fail"/"pass") fixtures of a rule:
    `<ID>/<case>/main.tf` for Terraform, `<ID>/<case>.yaml` for CloudFormation."""
    d = fixtures / meta.id
    out = []
    for p, lang, label in ((d / case / "main.tf", "hcl", "Terraform"), (d / f"{case}.yaml", "yaml", "CloudFormation")):
        if p.is_file():
            out.append((lang, label, strip_markers(p.read_text(encoding="utf-8"))))
    return out


def _fixture_config(fixtures: Path, meta: RuleMeta) -> str | None:
    """The rule's fixture configuration (`<ID>/.iackms.yaml`), when it has one."""
    p = fixtures / meta.id / ".iackms.yaml"
    if not p.is_file():
        return None
    return strip_markers(p.read_text(encoding="utf-8"))


def _examples(meta: RuleMeta, fixtures: Path) -> str:
    fail = _fixture(fixtures, meta, "fail")
    ok = _fixture(fixtures, meta, "pass")
    if not fail and not ok:
        return ""
    lines = ["## Example", ""]
    cfg = _fixture_config(fixtures, meta)
    if cfg:
        lines += ["With this configuration (`.iackms.yaml`):", "", "```yaml", cfg, "```", ""]
    for label in ("Terraform", "CloudFormation"):
        bad = [(lang, text) for lang, lab, text in fail if lab == label]
        good = [(lang, text) for lang, lab, text in ok if lab == label]
        for lang, text in bad:
            lines += [f"{label}, flagged:", "", f"```{lang}", text, "```", ""]
        for lang, text in good:
            lines += [f"{label}, passing:", "", f"```{lang}", text, "```", ""]
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


# --- docs/rules --------------------------------------------------------------------

REPO_ROOT = Path(__file__).resolve().parents[2]


def index_markdown() -> str:
    from .rules import REGISTRY

    out = ["# Rules", "", "Generated by `python -m iackms.docgen` from the rule metadata and `fixtures/`; do not edit.", "",
           "| ID | name | severity | profiles | controls |", "|---|---|---|---|---|"]
    for rid, r in sorted(REGISTRY.items()):
        m = r.meta
        ctl = ", ".join(f"{c.framework.split()[0]} {c.id}" for c in m.controls) or "—"
        out.append(f"| [{rid}]({rid}.md) | {m.name} | {m.severity} | {', '.join(profiles_of(m))} | {ctl} |")
    out += ["", "`strict` turns on every rule."]
    return "\n".join(out) + "\n"


def render_docs(fixtures: Path) -> dict[str, str]:
    """File name (in `docs/rules/`) to its text, for every rule and the index."""
    from .rules import REGISTRY

    out = {f"{rid}.md": rule_markdown(r.meta, fixtures) for rid, r in sorted(REGISTRY.items())}
    out["README.md"] = index_markdown()
    return out


def render_packaged(fixtures: Path) -> dict[str, str]:
    """The rule pages shipped in the package (`iackms/data/rules/`) for
    `iackms explain`: the pages of `docs/rules/`, examples included, without
    the links into the repository's code."""
    from .rules import REGISTRY

    return {f"{rid}.md": rule_markdown(r.meta, fixtures, code=False) for rid, r in sorted(REGISTRY.items())}


def sync_packaged(out_dir: Path, fixtures: Path, check: bool = False) -> list[str]:
    return _sync(out_dir, render_packaged(fixtures), check)


def sync_docs(out_dir: Path, fixtures: Path, check: bool = False) -> list[str]:
    """Write the generated docs to `out_dir` (or only compare, with `check`).
    Returns the files that differ, are missing, or are stale rule pages
    (`IKMS*.md` of rules that no longer exist, which are removed)."""
    return _sync(out_dir, render_docs(fixtures), check)


def _sync(out_dir: Path, docs: dict[str, str], check: bool) -> list[str]:
    changed = []
    for name, text in docs.items():
        p = out_dir / name
        old = p.read_text(encoding="utf-8") if p.is_file() else None
        if old != text:
            changed.append(name)
            if not check:
                out_dir.mkdir(parents=True, exist_ok=True)
                p.write_text(text, encoding="utf-8")
    if out_dir.is_dir():
        for p in sorted(out_dir.glob("IKMS*.md")):
            if p.name not in docs:
                changed.append(p.name)
                if not check:
                    p.unlink()
    return changed


# --- docs/configuration.md ---------------------------------------------------------


def configuration_markdown() -> str:
    """Every configuration key, from :data:`iackms.vocab.OPTIONS`."""
    from .vocab import OPTIONS

    out = ["# Configuration", "",
           "Generated by `python -m iackms.docgen` from `src/iackms/vocab.py` (`OPTIONS`); do not edit.", "",
           "iackms reads `.iackms.yaml` (or `.iackms.yml`, or a `[tool.iackms]` table in `pyproject.toml`), found from "
           "the first scanned path upward to the repository root (the directory holding `.git`), or the file given with "
           "`--config FILE`. Keys may be written with `-` or `_` (`fail-on`, `fail_on`). Wherever a rule is named, its ID "
           "(`IKMS202`, any case) or its name (`public-principal`) may be used. Command-line options win over the file.", "",
           "| key | type | default | meaning |", "|---|---|---|---|"]
    for o in OPTIONS.values():
        out.append(f"| `{o.name}` | {o.type} | {_default(o.default)} | {o.doc} |")
    out += ["", "Example:", "", "```yaml",
            "profile: default",
            "fail_on: medium",
            "disable: [IKMS104]",
            "severity: {public-principal: high, IKMS201: medium}",
            "rotation_max_days: 180",
            "deletion_window_min_days: 30",
            "required_tags: [Owner, DataClassification]",
            'alias_pattern: "^alias/(prod|dev)-"',
            'trusted_accounts: ["111122223333"]',
            'exclude: ["test/**", "examples/"]   # relative to this file\'s directory',
            "```", ""]
    return "\n".join(out)


def sync_configuration(path: Path, check: bool = False) -> bool:
    """Write `docs/configuration.md` (or only compare); True when it differs."""
    text = configuration_markdown()
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    if old == text:
        return False
    if not check:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m iackms.docgen", description="Generate docs/rules/*.md, the rule pages shipped in the package (src/iackms/data/rules/) and docs/configuration.md.")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file would change")
    ap.add_argument("--root", type=Path, default=REPO_ROOT, help="the repository (holding fixtures/ and docs/rules/)")
    args = ap.parse_args(argv)
    out_dir = args.root / "docs" / "rules"
    changed = [out_dir / n for n in sync_docs(out_dir, args.root / "fixtures", check=args.check)]
    data_dir = args.root / "src" / "iackms" / "data" / "rules"
    changed += [data_dir / n for n in sync_packaged(data_dir, args.root / "fixtures", check=args.check)]
    conf = args.root / "docs" / "configuration.md"
    if sync_configuration(conf, check=args.check):
        changed.append(conf)
    for path in changed:
        print(f"{'out of date' if args.check else 'wrote'}: {path}")
    if args.check and changed:
        print("run `python -m iackms.docgen` and commit the result")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
