"""`iackms fix`: apply the fixes rules declare (:class:`iackms.rules.base.Fix`)
to the files they are written in.

The fixer knows no rule. It asks the engine for findings, turns each
finding's declared fix into an edit of one file — only where the value is a
literal written at the resource (or in its policy resource) — and hands the
edit to the editor of the file's format (:mod:`.hcl`, :mod:`.yaml_doc`,
:mod:`.json_doc`). Then it scans again with the edited texts standing for
the files (nothing is written yet), because one fix can reveal the next
(rotation turned on, the rotation period is judged), until nothing more can
be fixed. The files are written once, at the end (or shown as a diff).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from ..config import Config
from ..findings import Finding, Report
from ..model import Attr, Choice, Location, Unknown
from ..vocab import CFN_KEY_PROPS, TF_KEY_ATTRS, WRITTEN, tf_enabled_argument
from . import hcl, json_doc, yaml_doc
from .edits import Edit, NotFixed, NotLiteral, apply, unified_diff

#: scans (and rounds of edits) before giving up on reaching a fixed point
MAX_PASSES = 5


@dataclass
class Change:
    """One edit made (for one or more findings)."""

    file: str
    line: int
    rule_ids: tuple[str, ...]
    resources: tuple[str, ...]
    what: str


@dataclass
class Result:
    #: the edits, in the order they were made
    changes: list[Change] = field(default_factory=list)
    #: findings left after the fix that have a fix, and why it was not made
    not_fixed: dict[Finding, str] = field(default_factory=dict)
    #: relative path -> (text before, text after), for every file changed
    files: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: the scan of the fixed files (what `iackms scan` will report after the fix)
    report: Report = field(default_factory=Report)

    def diff(self) -> str:
        return "".join(unified_diff(path, a, b) for path, (a, b) in sorted(self.files.items()))

    def as_before(self) -> tuple[list[Change], list[Finding]]:
        """The changes and the findings left, with their lines in the files as
        they are on disk before the fix (what `--diff`, which writes nothing,
        shows); otherwise both are in the fixed files' lines."""
        back = {rel: line_map(before, after) for rel, (before, after) in self.files.items()}  # fixed line -> line on disk
        changes = [replace(c, line=back[c.file](c.line)) if c.file in back else c for c in self.changes]
        findings = [replace(f, line=back[f.file](f.line), end_line=back[f.file](f.end_line)) if f.file in back else f
                    for f in self.report.findings]
        return changes, findings

    def fixed_findings(self) -> int:
        return sum(len(c.rule_ids) for c in self.changes)


def line_map(old: str, new: str) -> Callable[[int], int]:
    """Line numbers of ``new`` to those of ``old``: a line kept is where it
    was; a line changed is at the line it replaces; a line added is at the
    line it goes before."""
    a, b = old.splitlines(), new.splitlines()
    table: dict[int, int] = {}
    for _, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        for k in range(j2 - j1):
            table[j1 + k + 1] = min(i1 + k + 1 if k < i2 - i1 else i2 + 1, max(len(a), 1))
    return lambda line: table.get(line, line)


@dataclass(frozen=True)
class _Request:
    """One edit to make: ``op`` is ``set``, ``remove``, ``insert`` (an
    attribute added to the resource at ``at``), ``replace_reference`` or
    ``add_statement``."""

    op: str
    file: str
    at: Location
    name: str = ""
    value: Any = None
    after: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    container: str | None = None


# --- planning: from a finding's declared fix to a request --------------------------------


def _written(res: Any, name: str) -> str:
    """An attribute's name as the resource's source writes it."""
    if res.source == "cloudformation":
        if name in WRITTEN:
            return WRITTEN[name][1]
        return next((p for p, n in CFN_KEY_PROPS.items() if n == name), name)
    if name == "enabled":
        return tf_enabled_argument(res.resource_type)
    if name in WRITTEN:
        return WRITTEN[name][0]
    return next((a for a, n in TF_KEY_ATTRS.items() if n == name), name)


def _neighbours(res: Any, name: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Where a new attribute goes: after the nearest attribute written before
    it in the vocabulary's order, else before the nearest written after it."""
    order = list(CFN_KEY_PROPS) if res.source == "cloudformation" else list(dict.fromkeys(TF_KEY_ATTRS))
    written = _written(res, name)
    if written not in order:
        return (), ()
    i = order.index(written)
    return tuple(reversed(order[:i])), tuple(order[i + 1:])


def _where_set(attr: Attr) -> str:
    """``set by var.rotate, variables.tf:3``: the expression, and where the
    value is written when the scan knows it (its origin)."""
    expr = " ".join(attr.expr.split()) or "an expression"
    expr = expr if len(expr) <= 80 else expr[:79] + "…"
    origin = getattr(attr, "origin", None)
    where = f", {origin.file}:{origin.line}" if isinstance(origin, Location) else ""
    return f"set by {expr}{where}"


def _maybe_literal(source: str, expr: str) -> bool:
    """False when the attribute's source text is certainly not a literal (a
    reference, a function call, an intrinsic function)."""
    e = expr.strip()
    if source == "cloudformation":
        return not e.startswith(("!", "{", "["))
    if "${" in e:
        return False
    # HCL: a bool, a number or a quoted string; .tf.json: the JSON value as written (a string unquoted)
    return re.fullmatch(r'true|false|-?[0-9]+(?:\.[0-9]+)?|"(?:[^"\\]|\\.)*"|[A-Za-z0-9_-]*', e) is not None


def _attr_named(res: Any, name: str) -> Attr:
    """The attribute a fix names: an entry of ``attrs``, or an Attr field of
    the resource (``policy``)."""
    field_ = getattr(res, name, None) if name not in ("attrs", "loc") else None
    return field_ if isinstance(field_, Attr) else res.attr(name)


def _whole(f: Finding) -> None:
    """A literal is edited for a finding about every instance and branch of
    its block: for some of them only, the edit would reach the others too."""
    if f.only:
        raise NotFixed(f"it holds only {f.only}, and an edit of the block reaches every instance and branch; "
                       "set the value per instance or branch")


def plan(f: Finding) -> _Request:
    """The edit a finding's fix asks for; NotFixed says why there is none."""
    fx = f.fix
    res = fx.on if fx.on is not None else f.model
    if res is None:
        raise NotFixed("the finding is not about a resource")
    if res.source not in ("terraform", "cloudformation"):
        raise NotFixed(f"a {res.source} file is not edited; fix the configuration it was made from")
    attr = _attr_named(res, fx.attr)
    if fx.kind == "replace_reference":
        # a reference is what is written: it is edited in every branch where it is written as such
        if not attr.present or attr.loc is None:
            raise NotFixed("the attribute is not written")
        if getattr(attr, "origin", None) is not None:
            raise NotFixed(_where_set(attr))
        key, to = fx.value
        return _Request("replace_reference", attr.loc.file, attr.loc, key, to)
    if fx.kind == "add_statement":
        return _plan_statement(res, attr, fx.value)
    if attr.present:
        if getattr(attr, "origin", None) is not None or isinstance(attr.value, (Unknown, Choice)) \
                or not _maybe_literal(res.source, attr.expr):
            raise NotFixed(_where_set(attr))
        if attr.loc is None:
            raise NotFixed("where the attribute is written is not known")
        if res.source == "cloudformation" and attr.loc.file == res.loc.file \
                and not res.loc.line <= attr.loc.line <= res.loc.end_line:
            # a YAML merge key (<<: *defaults) brings it from a mapping other resources may share
            raise NotFixed(f"written outside the resource, at {attr.loc.file}:{attr.loc.line} (a YAML anchor it merges)")
        _whole(f)
        if fx.kind == "set":
            return _Request("set", attr.loc.file, attr.loc, value=fx.value)
        if fx.kind == "remove":
            return _Request("remove", attr.loc.file, attr.loc)
    elif fx.kind == "set":
        _whole(f)
        name = _written(res, fx.attr)
        after, before = _neighbours(res, fx.attr)
        container = "Properties" if res.source == "cloudformation" else None
        return _Request("insert", res.loc.file, res.loc, name, fx.value, after, before, container)
    elif fx.kind == "remove":
        raise NotFixed("the attribute is not written")
    raise NotFixed(f"this iackms does not know the fix {fx.kind!r}")


def _plan_statement(res: Any, pol: Attr, statement: dict) -> _Request:
    """Add a statement where the key policy is a structure written in the
    scanned files; the statement travels as JSON text (requests are hashed)."""
    if not pol.present or pol.loc is None:
        raise NotFixed("the key has no key policy written (AWS applies its default policy): write one with this statement")
    if getattr(pol, "origin", None) is not None or isinstance(pol.value, (Unknown, Choice)):
        raise NotFixed(_where_set(pol))
    text = json.dumps(statement, ensure_ascii=False)
    if res.source == "terraform":
        _declared(pol.loc.file, text)
        doc = next((p for p in getattr(res, "policies", []) if p.source == "policy_document"), None)
        loc = getattr(doc.raw, "loc", None) if doc is not None else None
        if isinstance(loc, Location):
            return _Request("add_statement", loc.file, loc, "document", text)
        if not pol.expr.lstrip().startswith("jsonencode("):
            expr = " ".join(pol.expr.split())
            raise NotFixed(f"the key policy is `{expr if len(expr) <= 60 else expr[:59] + '…'}`: only a jsonencode() "
                           "structure or an aws_iam_policy_document is edited")
    return _Request("add_statement", pol.loc.file, pol.loc, "", text)


def _declared(rel: str, statement: str) -> None:
    """A statement for Terraform may interpolate data sources
    (``${data.aws_region.current.name}``): the module that receives it must
    declare them, else the fix would break the configuration."""
    wanted = set(re.findall(r"\$\{\s*data\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)", statement))
    if not wanted:
        return
    d = Path(rel).parent
    texts = []
    for p in sorted(d.glob("*.tf")) + sorted(d.glob("*.tofu")):
        try:
            texts.append(p.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            pass
    code = "\n".join(texts)
    for typ, name in sorted(wanted):
        if not re.search(rf'(?m)^\s*data\s+"?{re.escape(typ)}"?\s+"?{re.escape(name)}"?\s*\{{', code):
            raise NotFixed(f'the statement needs data.{typ}.{name}, which {d.as_posix() or "."} does not declare: add '
                           f'`data "{typ}" "{name}" {{}}` and run iackms fix again')


# --- editing ---------------------------------------------------------------------------------


def editor_for(rel: str, text: str) -> Any:
    if rel.endswith((".tf", ".tofu")):
        return hcl.Editor(text, rel)
    if rel.endswith((".tf.json", ".tofu.json")):
        return json_doc.Editor(text, rel, terraform=True)
    if text.lstrip("\ufeff \t\r\n").startswith("{"):
        return json_doc.Editor(text, rel)
    return yaml_doc.Editor(text, rel)


def _parses(editor: Any, text: str) -> bool:
    mod = {hcl.Editor: hcl, json_doc.Editor: json_doc, yaml_doc.Editor: yaml_doc}[type(editor)]
    return mod.parses(text)


def _edit(editor: Any, req: _Request) -> tuple[list[Edit], str]:
    if req.op == "set":
        return editor.set(req.at, req.value)
    if req.op == "remove":
        return editor.remove(req.at)
    if req.op == "replace_reference":
        return editor.replace_reference(req.at, req.name, req.value)
    if req.op == "add_statement":
        statement = json.loads(req.value)
        if isinstance(editor, hcl.Editor):
            return editor.add_statement(req.at, statement, document=req.name == "document")
        return editor.add_statement(req.at, statement)
    if isinstance(editor, hcl.Editor):
        return editor.insert(req.at, req.name, req.value, list(req.after), list(req.before))
    return editor.insert(req.at, req.name, req.value, list(req.after), list(req.before), req.container)


class _Files:
    """The texts of the files being fixed: on disk until edited."""

    def __init__(self, cwd: Path):
        self.cwd = cwd
        self.original: dict[str, str] = {}
        self.current: dict[str, str] = {}

    def path(self, rel: str) -> Path:
        return self.cwd / rel

    def text(self, rel: str) -> str:
        if rel not in self.current:
            data = self.path(rel).read_bytes()
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise NotFixed(f"{rel} is not UTF-8 text") from None
            self.original[rel] = self.current[rel] = text
        return self.current[rel]

    def overlay(self) -> dict[str, bytes]:
        return {os.path.realpath(self.path(rel)): t.encode("utf-8") for rel, t in self.current.items() if t != self.original[rel]}


def _allowed(paths: list[str], cwd: Path) -> Callable[[Path], bool]:
    """Only the files given, or files under the directories given, are edited
    (pre-commit passes the staged files: a module they call is not edited)."""
    full = [cwd / p for p in paths]
    dirs = [os.path.realpath(p) for p in full if p.is_dir()]
    files = {os.path.realpath(p) for p in full if not p.is_dir()}

    def ok(path: Path) -> bool:
        real = os.path.realpath(path)
        return real in files or any(real == d or real.startswith(d.rstrip(os.sep) + os.sep) for d in dirs)

    return ok


def _pass(todo: list[Finding], files: _Files, allowed: Callable[[Path], bool]) -> tuple[list[Change], dict[Finding, str]]:
    """One round: the edits of these findings that do not overlap; the
    reasons of the findings not fixed (an overlapping one is tried again
    after the next scan)."""
    reasons: dict[Finding, str] = {}
    requests: dict[_Request, list[Finding]] = {}
    for f in todo:
        try:
            req = plan(f)
        except NotFixed as e:
            reasons[f] = e.reason
            continue
        if not allowed(files.path(req.file)):
            reasons[f] = f"written in {req.file}, which is not among the paths given"
            continue
        requests.setdefault(req, []).append(f)
    by_file: dict[str, list[_Request]] = {}
    for req in requests:
        by_file.setdefault(req.file, []).append(req)
    changes: list[Change] = []
    for rel in sorted(by_file):
        reqs = sorted(by_file[rel], key=lambda r: (r.at.line, r.at.column, min(f.rule_id for f in requests[r])))
        try:
            text = files.text(rel)
            editor = editor_for(rel, text)
            if editor.broken:
                raise NotFixed(f"{rel} has a syntax error")
        except (NotFixed, OSError) as e:
            why = e.reason if isinstance(e, NotFixed) else f"{rel} cannot be read ({e})"
            for r in reqs:
                for f in requests[r]:
                    reasons[f] = why
            continue
        accepted: list[Edit] = []
        made: list[tuple[_Request, list[Edit], str]] = []
        for r in reqs:
            try:
                edits, what = _edit(editor, r)
            except NotLiteral as e:
                attr = _attr_of(requests[r][0])
                for f in requests[r]:
                    reasons[f] = _where_set(attr) if attr is not None and attr.expr else e.reason
                continue
            except NotFixed as e:
                for f in requests[r]:
                    reasons[f] = e.reason
                continue
            if any(e.overlaps(a) for e in edits for a in accepted) or \
                    any(r.op == m.op == "insert" and r.at == m.at and r.name == m.name for m, _, _ in made):
                continue  # tried again after the next scan (one attribute is added once)
            accepted.extend(edits)
            made.append((r, edits, what))
        if not made:
            continue
        new = applied = apply(text, accepted)
        if hasattr(editor, "finish"):  # alignment: spaces within lines, never a line more or less
            new = editor.finish(new, accepted)
        if not _parses(editor, new):  # never write a file that no longer parses
            for r, _, _ in made:
                for f in requests[r]:
                    reasons[f] = "the edit would break the file's syntax (please report it)"
            continue
        files.current[rel] = new
        for r, edits, what in made:
            fs = requests[r]
            # the change's line in the edited text: where its first edit that writes something (not an alignment)
            # lands, after a line break it starts with
            first = min((e for e in edits if e.new.strip()), key=lambda e: e.start, default=min(edits, key=lambda e: e.start))
            shift = sum(len(x.new) - (x.end - x.start) for x in accepted if x.start < first.start)
            pos = first.start + shift + len(first.new) - len(first.new.lstrip("\r\n"))
            line = applied.count("\n", 0, pos) + 1
            changes.append(Change(rel, line, tuple(sorted({f.rule_id for f in fs})), tuple(sorted({f.resource for f in fs})), what))
    return changes, reasons


def _attr_of(f: Finding) -> Attr | None:
    if f.fix is None:
        return None
    res = f.fix.on if f.fix.on is not None else f.model
    return None if res is None else _attr_named(res, f.fix.attr)


def fix(
    paths: list[str],
    cfg: Config,
    *,
    rules: set[str] | None = None,
    cwd: Path | None = None,
    jobs: int = 1,
    max_file_size: int | None = None,
    scan: Callable[..., Report] | None = None,
) -> Result:
    """Fix what can be fixed under ``paths`` (only the rules in ``rules``,
    when given) in memory; :meth:`Result.write` writes the files."""
    if scan is None:
        from ..engine import scan
    cwd = cwd or Path.cwd()
    files = _Files(cwd)
    allowed = _allowed(paths, cwd)
    result = Result()
    reasons: dict[Finding, str] = {}
    report = Report()
    for n in range(MAX_PASSES + 1):
        report = scan(list(paths), cfg, cwd=cwd, jobs=jobs, max_file_size=max_file_size, overlay=files.overlay())
        todo = [f for f in report.findings if f.fix is not None and (rules is None or f.rule_id in rules)]
        if n == MAX_PASSES:
            reasons = {f: f"the fixes did not settle after {MAX_PASSES} rounds (please report it)" for f in todo}
            break
        before = dict(files.current)
        changes, reasons = _pass(todo, files, allowed)
        if not changes:
            break
        # the earlier rounds' changes in the text as it is now (this round's are already)
        for rel in {c.file for c in changes}:
            forward = line_map(files.current[rel], before.get(rel, files.original[rel]))  # old line -> new line
            for c in result.changes:
                if c.file == rel:
                    c.line = forward(c.line)
        result.changes.extend(changes)
    result.report = report
    result.not_fixed = {f: reasons.get(f, "not fixed") for f in report.findings if f in reasons}
    result.files = {rel: (files.original[rel], t) for rel, t in files.current.items() if t != files.original[rel]}
    return result


def write(result: Result, cwd: Path | None = None) -> list[str]:
    """Write the fixed files; returns the errors (one line each)."""
    cwd = cwd or Path.cwd()
    errors = []
    for rel, (_, after) in sorted(result.files.items()):
        try:
            (cwd / rel).write_bytes(after.encode("utf-8"))
        except OSError as e:
            errors.append(f"cannot write {rel}: {e.strerror or e}")
    return errors


__all__ = ["Change", "MAX_PASSES", "Result", "fix", "plan", "write"]
