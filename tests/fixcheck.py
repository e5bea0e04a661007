"""What every `iackms fix` test checks of a fixed tree (shared by
tests/test_fix.py and tests/test_fix_properties.py):

- every file the fix changed still parses (tree-sitter without errors for
  Terraform, cfn-flip for CloudFormation YAML and JSON), and a Terraform file
  `terraform fmt` accepted before is still accepted (when terraform is
  installed);
- a scan after the fix reports nothing that was not reported before (by the
  baseline fingerprint), and none of the fixed rules' findings that the
  fixer did not explain ("not fixed: …");
- the diff touches only the lines of the fixed attributes, plus whitespace
  (`=` and comment alignment) and the braces of a block that was `{}`;
- a second fix changes nothing.
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

from iackms.config import Config
from iackms.findings import fingerprint
from iackms.fix import Result, fix, hcl, write

TERRAFORM = shutil.which("terraform")


def fmt_clean(path: Path) -> bool | None:
    """`terraform fmt -check` of one file (None without terraform)."""
    if TERRAFORM is None:
        return None
    r = subprocess.run([TERRAFORM, "fmt", "-check", "-no-color", str(path)], capture_output=True, timeout=60)
    return r.returncode == 0


def parses(rel: str, text: str) -> bool:
    if rel.endswith((".tf", ".tofu")):
        return hcl.parses(text)
    from cfn_flip import load

    try:
        load(text)
    except Exception:  # noqa: BLE001 - any failure to load is the answer
        return False
    return True


def _names(result: Result) -> set[str]:
    """The attribute names the fixes wrote (from "added X = …", "X: …")."""
    out = set()
    for c in result.changes:
        m = re.match(r'(?:added |removed )?"?([A-Za-z_]+)', c.what)
        if m:
            out.add(m.group(1))
    return out


def intended(before: str, after: str, names: set[str], statements: bool = False) -> list[str]:
    """The changed lines a fix should not have touched (with ``statements``,
    a policy statement was added: added lines are its own, but no line
    written before may change beyond its spacing, its comma or a brace)."""
    a, b = before.splitlines(), after.splitlines()
    bad = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        old, new = a[i1:i2], b[j1:j2]

        def norm(x: str) -> str:  # spacing (alignment) and a JSON member's comma
            return " ".join(x.split()).rstrip(",")

        squeeze, squeeze_new = {norm(x) for x in old}, {norm(x) for x in new}
        for line in old + ([] if statements else new):
            s = line.strip()
            if any(n in line for n in names) or "Properties" in line:
                continue
            if norm(line) in (squeeze_new if line in old else squeeze):
                continue  # only its spacing or its comma changed
            if s in ("{", "}", "},", "") or s.endswith("{") or s.endswith("{}"):
                continue  # the braces of a block or object a member was added to
            if re.fullmatch(r"(?:Ref|Fn::GetAtt):\s*\S.*", s) and len(old) == len(new) == 1:
                continue  # a reference written on the line under its attribute, replaced in place
            bad.append(line)
    return bad


def scan_fingerprints(root: Path, cfg: Config) -> tuple[Counter, list]:
    from iackms.engine import scan

    report = scan(["."], cfg, cwd=root)
    return Counter(fingerprint(f) for f in report.findings), report.findings


def fix_and_check(root: Path, cfg: Config | None = None, rules: set[str] | None = None) -> Result:
    """Fix the tree at ``root`` (the current directory) and check it; returns
    the fix's result."""
    cfg = cfg or Config()
    files = {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in root.rglob("*")
             if p.is_file() and ".git" not in p.parts}
    fmt_before = {rel: fmt_clean(root / rel) for rel in files if rel.endswith(".tf")}
    before, _ = scan_fingerprints(root, cfg)
    result = fix(["."], cfg, rules=rules, cwd=root)
    assert not write(result, root)
    names = _names(result)
    statements = any(c.what.startswith("added statement") or c.what.startswith("added a statement") for c in result.changes)
    for rel, (old, new) in result.files.items():
        assert files[rel] == old
        assert (root / rel).read_text(encoding="utf-8") == new
        assert parses(rel, new) or not parses(rel, old), f"{rel} no longer parses:\n{new}"
        bad = intended(old, new, names, statements)
        assert not bad, f"{rel}: lines changed that no fix is about: {bad}"
        if rel.endswith(".tf") and fmt_before.get(rel):
            assert fmt_clean(root / rel), f"{rel} was formatted as `terraform fmt` does and no longer is:\n{new}"
    after, findings = scan_fingerprints(root, cfg)
    new_ones = after - before
    assert not new_ones, [f for f in findings if fingerprint(f) in new_ones]
    left = [f for f in findings if f.fix is not None and (rules is None or f.rule_id in rules)]
    assert {(f.rule_id, f.file, f.line) for f in left} == {(f.rule_id, f.file, f.line) for f in result.not_fixed}, \
        "every fixable finding left is explained"
    again = fix(["."], cfg, rules=rules, cwd=root)
    assert not again.changes and not again.files, f"a second fix changed {again.changes}"
    return result


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, dirs_exist_ok=True)
    (dst / ".git").mkdir(exist_ok=True)  # the repository root: configuration search stops here
    return dst
