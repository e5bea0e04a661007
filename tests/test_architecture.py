"""The import rules of docs/architecture.md, checked on the source: the model
and the vocabulary import nothing of the project; rules never import parsers,
reporters, the engine or a front end; reporters never import parsers or the
engine; parsers never import rules, reporters or the engine; no module but
the engine runs a rule."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "src" / "iackms"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The iackms modules a file imports (relative imports resolved), at any depth of the file."""
    mod = _module_name(path)
    pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("iackms"):
                out.add(target)
                out.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("iackms"))
    return out


def _files(sub: str) -> list[Path]:
    p = PKG / sub
    return sorted(p.glob("*.py")) if p.is_dir() else [p]


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


FORBIDDEN = [
    ("model.py", ("iackms",), ()),
    ("vocab.py", ("iackms",), ()),
    ("rules", ("iackms.parsers", "iackms.reporters", "iackms.engine", "iackms.cli", "iackms.checkov_adapter",
               "iackms.config", "iackms.docgen"), ()),
    ("semantics.py", ("iackms",), ("iackms.model", "iackms.vocab")),
    ("reporters", ("iackms.parsers", "iackms.engine", "iackms.cli"), ()),
    ("parsers", ("iackms.rules", "iackms.reporters", "iackms.engine", "iackms.cli", "iackms.checkov_adapter"), ()),
    # the inventory is a pure function of the model and the findings: it never parses or scans
    ("inventory.py", ("iackms.parsers", "iackms.engine", "iackms.reporters", "iackms.cli", "iackms.config"), ()),
]


@pytest.mark.parametrize("sub,banned,allowed", FORBIDDEN, ids=[f[0] for f in FORBIDDEN])
def test_import_rules(sub, banned, allowed):
    bad = []
    for f in _files(sub):
        for name in _imports(f):
            if name in ("iackms", "iackms.__future__"):
                continue
            if _under(name, banned) and not _under(name, allowed):
                bad.append(f"{f.relative_to(PKG)} imports {name}")
    # the rules package imports its own modules, and the model/vocab import nothing at all
    bad = [b for b in bad if not (sub == "rules" and " imports iackms.rules" in b)]
    assert not bad, bad


def test_only_the_engine_runs_rules():
    """`<rule>.check(` is called in the engine only (front ends ask the engine)."""
    callers = []
    for f in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "check" \
                    and f.name != "engine.py":
                callers.append(f"{f.relative_to(PKG)}:{node.lineno}")
    assert not callers, callers


def test_no_rule_id_in_the_engine():
    import re

    text = (PKG / "engine.py").read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    code = re.sub(r'"""(?:.|\n)*?"""', "", code)
    assert not re.findall(r"IKMS\d{3}", code)


def test_the_fixer_knows_no_rule():
    """`iackms fix` applies what rules declare: no rule ID in its code, and it
    runs no rule (it asks the engine)."""
    import re

    for f in sorted((PKG / "fix").glob("*.py")):
        text = f.read_text(encoding="utf-8")
        code = re.sub(r'"""(?:.|\n)*?"""', "", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")))
        assert not re.findall(r"IKMS\d{3}", code), f.name
        assert not any(name.startswith("iackms.rules.ikms") for name in _imports(f)), f.name
