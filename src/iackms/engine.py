"""The one engine: files → parsers → model → rules → findings. The CLI, the
pre-commit hook, the GitHub Action and the Checkov checks all go through
:func:`scan` (or :func:`evaluate` for an already-built model)."""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .config import Config
from .context import ScanContext, size_limit_message
from .findings import Finding, ModuleCall, RemoteModules, Report, Scope
from . import linker
from .model import INSTANCES, Attr, Consumer, CustomKeyStore, Delivery, Grant, Key, Location, Note, Resource, ScanUnit, key_variants
from .rules import REGISTRY, profile_rules, resolve_rule, rules_for
from .rules.base import Fail, Unresolved
from .vocab import (
    CFN_ALIAS_PROPS,
    CFN_KEY_PROPS,
    PARSE_ERROR,
    SEVERITY_RANK,
    TARGET_CONSUMER,
    TARGET_DELIVERY,
    TARGET_GRANT,
    TARGET_KEY,
    TARGET_POLICY_ONLY,
    TARGET_STORE,
    TF_CONFIG_SUFFIXES,
    TF_KEY_ATTRS,
    UNRESOLVED,
    WRITTEN,
    checkov_id,
    replaced_by_tofu,
    tf_enabled_argument,
)

SKIP_DIRS = {".git", ".terraform", "node_modules", ".terragrunt-cache", "__pycache__", ".venv", "venv"}
TF_SUFFIXES = TF_CONFIG_SUFFIXES  # Terraform's and OpenTofu's
TFVARS_SUFFIXES = (".tfvars", ".tfvars.json")
DOC_SUFFIXES = (".yaml", ".yml", ".json", ".template")
SNIFF_BYTES = 65536


@dataclass
class Inputs:
    """What discovery found."""

    tf_dirs: dict[Path, list[Path]] = field(default_factory=dict)
    docs: list[Path] = field(default_factory=list)
    oversized: list[Path] = field(default_factory=list)
    #: files and directories the user named (relative paths), for filtering
    requested_files: set[str] = field(default_factory=set)
    requested_dirs: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _is_tf(name: str) -> bool:
    return name.endswith(TF_SUFFIXES)


def _is_doc(name: str) -> bool:
    return name.endswith(DOC_SUFFIXES) and not name.endswith((".tf.json", ".tofu.json", ".tfvars.json"))


def _repo_root(real: Path) -> Path | None:
    """The git work tree holding ``real`` (a resolved path): the nearest
    directory, from it upward, with a `.git` directory or file."""
    d = real if real.is_dir() else real.parent
    for cand in [d, *d.parents]:
        if (cand / ".git").exists():
            return cand
    return None


def boundary_of(path: Path, config_dir: str | None = None) -> Path:
    """What a scan of ``path`` may read (modules, ``file()``, tfvars): the git
    work tree that holds it, else the directory of the configuration file
    when it holds it, else the path itself (a file's directory). Resolved."""
    real = Path(os.path.realpath(path))
    repo = _repo_root(real)
    if repo is not None:
        return repo
    d = real if real.is_dir() else real.parent
    if config_dir:
        c = Path(os.path.realpath(config_dir))
        if d == c or c in d.parents:
            return c
    return d


def _walk(top: str, enter: Callable[[str], bool]) -> Iterator[tuple[str, list[str]]]:
    """``(directory, sorted file names)`` under ``top``, depth first in sorted
    order, following links, for the directories ``enter`` accepts (the others
    are not listed or descended into). Iterative: ``os.walk`` recurses once
    per level before Python 3.12, so a tree nested ~1000 directories deep
    raised RecursionError and lost the whole scan. Unreadable directories
    are skipped."""
    stack = [top]
    while stack:
        d = stack.pop()
        if not enter(d):
            continue
        try:
            with os.scandir(d) as it:
                entries = list(it)
        except OSError:
            continue
        dirs: list[str] = []
        files: list[str] = []
        for e in entries:
            try:
                is_dir = e.is_dir()  # follows links; False for a broken link or a loop
            except OSError:
                is_dir = False
            if not is_dir:
                files.append(e.name)
            elif e.name not in SKIP_DIRS and not e.name.startswith("."):
                dirs.append(e.name)
        yield d, sorted(files)
        stack.extend(os.path.join(d, n) for n in sorted(dirs, reverse=True))


def discover(paths: Iterable[str], ctx: ScanContext, cfg: Config) -> Inputs:
    """The files to scan: those under the directories given (links to
    directories followed only while they stay under one of them) and the
    files given. Each file once, however often it is reached."""
    inp = Inputs()
    visited: set[str] = set()
    seen_files: set[str] = set()
    real_dirs: dict[str, str] = {}
    walk_roots = [os.path.realpath(p) for p in paths if os.path.isdir(p)]

    def enter(dirpath: str) -> bool:
        """Not a directory seen before (a link loop), nor one out of the
        directories given (discovery walks only what was asked)."""
        real = os.path.realpath(dirpath)
        if real in visited or not any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in walk_roots):
            return False
        visited.add(real)
        return True

    def add_file(p: Path, dir_checked: bool = False, siblings: set[str] | None = None) -> None:
        name = p.name
        tfvars = name.endswith(TFVARS_SUFFIXES)
        if not (_is_tf(name) or _is_doc(name) or tfvars):
            return
        if cfg.exclude and cfg.excluded(ctx.rel(p)):
            return
        # inside a directory already known to be inside the boundary, only a link can lead out
        if (not dir_checked or os.path.islink(p)) and not ctx.inside_roots(p):
            return  # a link pointing out of the boundary
        try:
            if not p.is_file():
                return
        except OSError:
            return
        parent = str(p.parent)
        real_parent = real_dirs.get(parent)
        if real_parent is None:
            real_parent = real_dirs[parent] = os.path.realpath(parent)
        key = real_parent + os.sep + name
        if key in seen_files:
            return  # given twice, or both given and under a directory given
        seen_files.add(key)
        if _is_tf(name):
            if replaced_by_tofu(name, siblings if siblings is not None else (lambda other: os.path.isfile(p.parent / other))):
                return  # OpenTofu reads x.tofu instead of x.tf
            inp.tf_dirs.setdefault(p.parent.absolute(), []).append(p)
        elif tfvars:
            # a variables file belongs to its module: the module is scanned for it (given alone, it
            # still decides values: pre-commit with only terraform.tfvars staged)
            inp.tf_dirs.setdefault(p.parent.absolute(), []).append(p)
        else:
            inp.docs.append(p)

    for raw in paths:
        p = Path(raw)
        if not os.path.lexists(p):
            inp.missing.append(raw)
            continue
        if p.is_dir():
            inp.requested_dirs.append(ctx.rel(p))
            for dirpath, filenames in _walk(str(p), enter):
                siblings = set(filenames)
                for fn in filenames:
                    if fn.endswith(TFVARS_SUFFIXES):
                        continue  # found with its module directory
                    add_file(Path(dirpath) / fn, dir_checked=True, siblings=siblings)
        else:
            inp.requested_files.add(ctx.rel(p))
            add_file(p)
    return inp


def _note_finding(n: Note, sev: dict[str, str]) -> Finding:
    meta = REGISTRY[n.rule_id].meta
    return Finding(
        rule_id=n.rule_id,
        title=meta.title,
        severity=sev.get(n.rule_id, meta.severity),
        file=n.loc.file,
        line=max(1, n.loc.line),
        end_line=max(n.loc.line, n.loc.end_line, 1),
        column=max(1, n.loc.column),
        resource=n.resource,
        resource_type=n.resource_type,
        message=_one_line(n.message),
        resource_file=n.loc.file,
        root=n.root,
    )


def target_of(res: Resource) -> str:
    """What kind of resource a rule is asked to judge (:data:`iackms.vocab.TARGETS`)."""
    if isinstance(res, Key):
        return TARGET_POLICY_ONLY if res.kind == "policy_only" else TARGET_KEY
    if isinstance(res, Grant):
        return TARGET_GRANT
    if isinstance(res, CustomKeyStore):
        return TARGET_STORE
    if isinstance(res, Consumer):
        return TARGET_CONSUMER
    if isinstance(res, Delivery):
        return TARGET_DELIVERY
    return type(res).__name__.lower()


def link(unit: ScanUnit) -> None:
    """Grants know their key when it is in the same model (the same root
    module, template or plan: an address alone names one resource per root);
    consumers know their key and delivery paths their destinations
    (:mod:`iackms.linker`)."""
    by_address = {(k.root, k.address): k for k in unit.keys}
    for g in unit.grants:
        if g.key is None and (g.root, g.target) in by_address:
            g.key = by_address[(g.root, g.target)]
    linker.link(unit)


def judged(unit: ScanUnit) -> list[Resource]:
    """The resources the rules are asked about."""
    return [*unit.keys, *unit.grants, *unit.stores, *unit.consumers, *unit.deliveries]


def evaluate(unit: ScanUnit, cfg: Config, enabled: set[str] | None = None) -> list[Finding]:
    """Run the enabled rules over a model: each rule of the catalog on each
    resource of the kinds it declares. Pure: no I/O."""
    if enabled is None:
        enabled = enabled_rules(cfg)
    out: list[Finding] = []
    link(unit)
    for n in unit.notes:
        if n.rule_id in enabled:
            out.append(_note_finding(n, cfg.severity))
    by_target: dict[str, list] = {}
    for res in judged(unit):
        target = target_of(res)
        if target not in by_target:
            by_target[target] = rules_for(target, enabled)
        rules = by_target[target]
        if isinstance(res, Key):
            out.extend(judge_key(rules, res, cfg, enabled))
        else:
            out.extend(_exists_when(res, _judge_branches(rules, res, cfg, enabled)))
    return out


def _judge_branches(rules, res: Resource, cfg: Config, enabled: set[str]) -> list[Finding]:
    """Every rule on a consumer or delivery path, once per branch its key was
    followed into (``KeyRef.when``: a switch off by default turned on): in
    each, the keys of that branch only, and its findings end with the branch
    (`(when var.use_aws_managed_key is true)`) unless the default branch has
    them too; IKMS002 notes come from the default branch only."""
    whens = list(dict.fromkeys(r.when for t in _refs_holders(res) for r in t.refs if r.when))
    if not whens:
        return [f for r in rules for f in judge(r, res, cfg, enabled)]
    out = [f for r in rules for f in judge(r, _in_branch(res, ()), cfg, enabled)]
    seen = {(f.rule_id, f.line, f.message) for f in out}
    for w in whens:
        for f in (f for r in rules for f in judge(r, _in_branch(res, w), cfg, enabled)):
            # a branch is followed for what fails there: what cannot be known in a branch
            # nobody deploys by default (a parameter opened to turn it on) is no note
            if f.rule_id != UNRESOLVED and (f.rule_id, f.line, f.message) not in seen:
                seen.add((f.rule_id, f.line, f.message))
                out.append(_with_branch(f, list(w)))
    return out


def _refs_holders(res: Resource) -> list:
    """The consumers whose key values a rule on ``res`` reads."""
    if isinstance(res, Consumer):
        return [res]
    if isinstance(res, Delivery):
        return list(res.targets)
    return []


def _in_branch(res: Resource, when: tuple[str, ...]) -> Resource:
    """``res`` with only the key values of one branch (a consumer with none
    there keeps those of the defaults)."""

    def narrow(c: Consumer) -> Consumer:
        refs = [r for r in c.refs if r.when == when] or [r for r in c.refs if not r.when]
        if len(refs) == len(c.refs):
            return c
        n = copy.copy(c)
        n.refs = refs
        return n

    if isinstance(res, Consumer):
        return narrow(res)
    if isinstance(res, Delivery):
        n = copy.copy(res)
        n.targets = [narrow(t) for t in res.targets]
        return n
    return res


#: a key is judged per variant up to this many variants (combinations of its
#: instances and undecidable conditions); beyond, per attribute
MAX_VARIANTS = 64


def judge_key(rules, key: Key, cfg: Config, enabled: set[str]) -> list[Finding]:
    """Every rule on one key, judged as a whole per coherent variant (one per
    static instance, one per combination of the conditions its settings
    depend on): a finding of every variant is reported once at the key's
    block address; a finding of some variants names the instances (the
    resource is the instance address) and the branches (`when IsProd is
    true`) it holds for."""
    vs = key_variants(key, MAX_VARIANTS)
    if vs is None:
        out = [f for r in rules for f in judge(r, key, cfg, enabled)]
        if UNRESOLVED in enabled:
            m = REGISTRY[UNRESOLVED].meta
            out.append(_finding(UNRESOLVED, m.title, cfg.severity.get(UNRESOLVED, m.severity), key.loc, key,
                                f"{key.address} has more than {MAX_VARIANTS} combinations of instances and conditions; "
                                "each setting is judged on its own, across all of them", "variants"))
        return _exists_when(key, out)
    if len(vs) == 1:
        return _exists_when(key, [f for r in rules for f in judge(r, vs[0].key, cfg, enabled)])
    per = [[f for r in rules for f in judge(r, v.key, cfg, enabled)] for v in vs]
    return _exists_when(key, merge_variants(key, vs, per))


def _exists_when(res: Resource, findings: list[Finding]) -> list[Finding]:
    """A resource that exists only when a switch off by default is on says
    so in every finding. Where that branch gives inputs any value (a
    ``for_each`` empty by default), what cannot be known comes from that
    opening, not from the code: no IKMS002 note for it."""
    if not res.exists_when:
        return findings
    return [_with_branch(f, list(res.exists_when)) for f in findings if not (res.opened and f.rule_id == UNRESOLVED)]


def _with_branch(f: Finding, phrases: list[str]) -> Finding:
    """The finding said to hold only ``when`` the phrases do (an IKMS002
    note's unresolved value too, so that only notes of the same branch merge)."""

    return replace(f, message=_when(f.message, phrases), subject=_when(f.subject, phrases) if f.subject else "")


def _when(msg: str, phrases: list[str]) -> str:
    if msg.endswith(")") and " (when " in msg and msg.rsplit(" (when ", 1)[1].count("(") == 0:
        head, tail = msg.rsplit(" (when ", 1)
        return f"{head} (when {' and '.join(phrases)} and {tail}"
    return f"{msg} (when {' and '.join(phrases)})"


def merge_variants(key: Key, vs: list, per: list[list[Finding]]) -> list[Finding]:
    """The findings of a key's variants, merged (see :func:`judge_key`)."""
    axes = list(vs[0].chosen)
    classes = [list(dict.fromkeys(v.chosen[s] for v in vs)) for s in axes]
    coords = [tuple(classes[i].index(v.chosen[s]) for i, s in enumerate(axes)) for v in vs]
    groups: dict[tuple, tuple[Finding, set]] = {}
    for c, fs in zip(coords, per):
        for f in fs:
            k = (f.rule_id, f.file, f.line, f.end_line, f.column, f.message, f.ident, f.about, f.severity)
            if k in groups:
                groups[k][1].add(c)
            else:
                groups[k] = (f, {c})
    out: list[Finding] = []
    total = len(set(coords))
    for f, where in groups.values():
        if len(where) == total:
            out.append(f)
            continue
        for term in _cover(where, [len(c) for c in classes]):
            fixed = {axes[i]: classes[i][x] for i, x in enumerate(term) if x is not None}
            inst = {s: ks for s, ks in fixed.items() if s.kind == INSTANCES and _on_path(s.name, key.address)}
            phrases = [" or ".join(s.phrase(k) for k in ks) for s, ks in fixed.items() if s not in inst]
            g = f
            if phrases:
                g = replace(_with_branch(f, phrases), ident=f"{f.ident}|{' and '.join(phrases)}" if f.ident else "")
            for addr in _instance_addresses(key.address, inst):
                only = " ".join(([f"for {addr}"] if addr != key.address else []) + ([f"when {' and '.join(phrases)}"] if phrases else []))
                out.append(replace(g, resource=addr, only=only or "for some instances"))
    return out


def _cover(where: set, sizes: list[int]) -> list[tuple]:
    """The combinations in ``where`` (one class index per axis), described
    with as few terms as possible: an axis is left open (None) where every
    class of it is in."""
    terms = set(where)
    for i, n in enumerate(sizes):
        rest: dict[tuple, set] = {}
        for t in terms:
            rest.setdefault(t[:i] + t[i + 1 :], set()).add(t[i])
        terms = set()
        for r, vals in rest.items():
            if None in vals or len(vals) == n:
                terms.add(r[:i] + (None,) + r[i:])
            else:
                terms |= {r[:i] + (v,) + r[i:] for v in vals}
    return sorted(terms, key=lambda t: tuple(-1 if x is None else x for x in t))


def _on_path(name: str, address: str) -> bool:
    """``module.kms`` or ``aws_kms_key.this`` is the key ``address`` or one of its modules."""
    return address == name or address.startswith(name + ".")


def _instance_addresses(address: str, inst: dict) -> list[str]:
    """The instance addresses of a key: ``aws_kms_key.this["jwt"]``,
    ``module.kms[0].aws_kms_key.this``, one per combination of the chosen
    instances."""
    out = [address]
    for s in sorted(inst, key=lambda s: -len(s.name)):
        nxt = []
        for a in out:
            nxt.extend(s.name + k + a[len(s.name):] for k in inst[s])
        out = list(dict.fromkeys(nxt))
    return out


_INDEX = re.compile(r'\[(?:"(?:[^"\\]|\\.)*"|\d+)\]')


def block_address(resource: str) -> str:
    """An instance address without its instance keys: ``module.kms[0].aws_kms_key.this["a"]``
    is ``module.kms.aws_kms_key.this``."""
    return _INDEX.sub("", resource) if "[" in resource else resource


def judge(r, res: Resource, cfg: Config, enabled: set[str]) -> list[Finding]:
    """One rule on one resource: its failures, and its unresolved values as
    IKMS002 notes (when IKMS002 is on). A rule that raises does not hide the
    other findings: the error becomes a note."""
    sev = cfg.severity
    rid = r.meta.id
    try:
        produced = list(r.check(res, cfg))
    except Exception as e:  # a rule bug must not hide the other findings
        produced = [Unresolved(f"rule {rid} could not evaluate {res.address}: internal error {type(e).__name__}: {e}", res.loc)]
    out: list[Finding] = []
    seen: set[tuple] = set()
    for item in produced:
        loc = item.loc or res.loc
        k = (type(item), loc, item.message)
        if k in seen:
            continue
        seen.add(k)
        if isinstance(item, Fail):
            # a finding's own severity (e.g. a profile's), unless configured
            severity = sev.get(rid, item.severity or r.meta.severity)
            f = _finding(rid, r.meta.title, severity, loc, res, item.message, item.ident)
            if item.related:  # the rule's own related places (a consumer's key policy), then the engine's
                mine = tuple((rl.file, max(1, rl.line), what) for rl, what in item.related if rl is not None)
                f = replace(f, related=mine + tuple(r for r in f.related if r not in mine))
            # the rule's declared fix and the resource it is about: what `iackms fix` works from
            out.append(replace(f, fix=item.fix, model=res))
        elif UNRESOLVED in enabled:
            m2 = REGISTRY[UNRESOLVED].meta
            out.append(_finding(UNRESOLVED, m2.title, sev.get(UNRESOLVED, m2.severity), loc, res,
                                f"{rid} {r.meta.name}: {item.message}", item.ident, about=rid, subject=item.value))
    return out


def merge_notes(findings: list[Finding]) -> list[Finding]:
    """One IKMS002 note per unresolved value, line and resource: the notes of
    every rule blocked by the same value become one, naming the rules
    (`IKMS203, IKMS204, IKMS207 could not decide: ...`). Run after
    suppressions, so that a suppression of one rule (or of IKMS002) hides that
    rule's part exactly as before. The merged note keeps the fingerprint of its
    first rule's note (its ``about`` starts with that rule, its ``ident`` is that note's)."""
    from dataclasses import replace

    groups: dict[tuple, list[Finding]] = {}
    order: list[tuple | Finding] = []
    for f in findings:
        if f.rule_id != UNRESOLVED or not f.subject:
            order.append(f)
            continue
        k = (f.file, f.line, f.root, f.resource, f.resource_file, f.subject, f.suppressed)
        if k not in groups:
            groups[k] = []
            order.append(k)
        groups[k].append(f)
    out: list[Finding] = []
    for item in order:
        if isinstance(item, Finding):
            out.append(item)
            continue
        fs = sorted(groups[item], key=lambda f: f.about)
        if len(fs) == 1:
            out.append(fs[0])
            continue
        rules = list(dict.fromkeys(r for f in fs for r in f.about.split(",") if r))
        first = fs[0]
        out.append(replace(first, message=f"{', '.join(rules)} could not decide: {first.subject}", about=",".join(rules),
                           end_line=max(f.end_line for f in fs), column=min(f.column for f in fs)))
    return out


def _finding(rid: str, title: str, severity: str, loc: Location, res: Resource, message: str, ident: str, about: str = "",
             subject: str = "") -> Finding:
    primary, related = locate(res, loc)
    return Finding(
        rule_id=rid,
        title=title,
        severity=severity,
        file=primary.file,
        line=max(1, primary.line),
        end_line=max(1, primary.line, primary.end_line),
        column=max(1, primary.column),
        resource=res.address,
        resource_type=res.resource_type,
        message=_one_line(message),
        ident=ident,
        about=about,
        subject=subject,
        resource_file=res.loc.file,
        root=res.root,
        related=related,
    )


def locate(res: Resource, loc: Location) -> tuple[Location, tuple[tuple[str, int, str], ...]]:
    """Where a finding that a rule located at ``loc`` is reported, and its
    related locations. Rules locate at the attribute (``where(attr, key)``);
    when that attribute's value is written elsewhere (its ``origin``: a module
    argument, a tfvars line, a variable or parameter default), the finding is
    reported there, the attribute being related. The module blocks that call
    the resource's module are related too (except one holding the report's
    own line)."""
    primary = loc
    related: list[tuple[str, int, str]] = []
    # a delivery path's destination names where data goes, not a bad value: its finding stays at the
    # resource that sends (the destination's key is a related location the rule gives)
    found = _attr_at(res, loc) if not isinstance(res, Delivery) else None
    if found is not None:
        name, a = found
        assert a.origin is not None
        primary = a.origin
        expr = " ".join(a.expr.split())
        expr = expr if len(expr) <= 60 else expr[:59] + "…"
        written = _written_name(res, name)
        related.append((loc.file, max(1, loc.line), f"{written} = {expr}" if expr else written))
    for call, name in res.calls:
        if call.file == primary.file and call.line <= primary.line <= call.end_line:
            continue  # the report is inside this module block (a module argument)
        related.append((call.file, max(1, call.line), f"call of {name}"))
    return primary, tuple(related)


def _attr_at(res: Resource, loc: Location) -> tuple[str, Attr] | None:
    """The attribute located at ``loc`` whose value has an origin elsewhere."""
    for name, a in res.attrs.items():
        if a.origin is not None and a.loc == loc and a.origin != loc:
            return name, a
    pol = getattr(res, "policy", None)
    if isinstance(pol, Attr) and pol.origin is not None and pol.loc == loc and pol.origin != loc:
        return "policy", pol
    return None


_TF_NAME = {norm: tf for tf, norm in reversed(list(TF_KEY_ATTRS.items()))}
_CFN_NAME = {norm: prop for prop, norm in [*CFN_KEY_PROPS.items(), *CFN_ALIAS_PROPS.items()]}


def _written_name(res: Resource, name: str) -> str:
    """An attribute's name as written in the resource's source."""
    if res.source == "cloudformation":
        if name == "policy":
            return "KeyPolicy"
        return WRITTEN[name][1] if name in WRITTEN else _CFN_NAME.get(name, name)
    if name == "enabled" and isinstance(res, Key):
        return tf_enabled_argument(res.resource_type)
    if isinstance(res, Key):
        return WRITTEN[name][0] if name in WRITTEN else _TF_NAME.get(name, name)
    return name


def _one_line(text: str) -> str:
    """Messages are one line in every format (a Sid or value may hold line breaks)."""
    return " ".join(text.split()) if ("\n" in text or "\r" in text) else text


def enabled_rules(cfg: Config) -> set[str]:
    return (profile_rules(cfg.profile) | cfg.enable) - cfg.disable


# --- suppressions ---------------------------------------------------------------


#: a written suppression: (file, line, rule ID)
SuppressionKey = tuple[str, int, str]


def _suppression_map(unit: ScanUnit, warnings: list[str]) -> dict[tuple[str, str], dict[str, tuple[str, SuppressionKey]]]:
    """(root, resource address) → {rule id → (reason, where it is written)}."""
    by_checkov: dict[str, list[str]] = {}
    by_nag: dict[str, list[str]] = {}
    for rid, r in REGISTRY.items():
        for c in (*r.meta.checkov_ids, checkov_id(rid)):  # a skip of the rule's own Checkov check counts too
            by_checkov.setdefault(c.upper(), []).append(rid)
        for c in r.meta.cfn_nag_ids:
            by_nag.setdefault(c.upper(), []).append(rid)
    out: dict[tuple[str, str], dict[str, tuple[str, SuppressionKey]]] = {}
    warned: set[tuple] = set()
    done: set[tuple] = set()
    for res in unit.resources():
        if res.suppressions:
            k = (res.root, res.address, res.suppressions[0].loc)
            if k in done:  # one resource, several consumer rows or delivery paths
                continue
            done.add(k)
        for s in res.suppressions:
            written = (s.written_id or s.rule_id).upper()
            if s.origin == "checkov":
                ids = by_checkov.get(written, [])
            elif s.origin == "cfn_nag":
                ids = by_nag.get(written, [])
            else:
                rid = resolve_rule(s.written_id or s.rule_id)
                ids = [rid] if rid else []
                if not ids:
                    msg = f"{s.loc.file}:{s.loc.line}: suppression of unknown rule {s.written_id or written} on {res.address} ignored"
                    if msg not in warned:
                        warned.add(msg)
                        warnings.append(msg)
                    continue
            if not ids:
                continue  # a Checkov/cfn_nag ID that maps to no iackms rule
            if not s.reason.strip():
                msg = f"{s.loc.file}:{s.loc.line}: suppression of {s.written_id or written} on {res.address} has no reason and is ignored (write one after the ID)"
                if msg not in warned:
                    warned.add(msg)
                    warnings.append(msg)
                continue
            for rid in ids:
                where = (s.loc.file, s.loc.line, rid) if s.origin == "iackms" else ("", 0, rid)
                out.setdefault((res.root, res.address), {})[rid] = (s.reason.strip(), where)
    return out


def apply_suppressions(findings: list[Finding], unit: ScanUnit, warnings: list[str],
                       used: set[SuppressionKey] | None = None) -> tuple[list[Finding], list[Finding]]:
    """(kept, suppressed). The written suppressions that matched a finding are
    added to ``used``."""
    smap = _suppression_map(unit, warnings)
    kept: list[Finding] = []
    gone: list[Finding] = []
    # a finding written inside another resource's block (a key's alias, its aws_kms_key_policy) can also be
    # suppressed there, above that block
    blocks: dict[tuple[str, str], list[tuple[int, int, str]]] = {}
    for res in unit.resources():
        if res.suppressions and res.loc is not None:
            blocks.setdefault((res.root, res.loc.file), []).append((res.loc.line, res.loc.end_line, res.address))
    for f in findings:
        rules = smap.get((f.root, f.resource)) or smap.get((f.root, block_address(f.resource)))
        hit = None
        if rules:
            hit = rules.get(f.rule_id) or (rules.get(f.about) if f.about else None)
        if hit is None:
            for start, end, addr in blocks.get((f.root, f.file), ()):
                if start <= f.line <= end and addr != f.resource:
                    there = smap.get((f.root, addr)) or {}
                    hit = there.get(f.rule_id) or (there.get(f.about) if f.about else None)
                    if hit is not None:
                        break
        if hit is not None:
            if used is not None:
                used.add(hit[1])
            gone.append(replace(f, suppressed=True, suppression_reason=hit[0]))
        else:
            kept.append(f)
    return kept, gone


def stale_suppressions(unit: ScanUnit, enabled: set[str], used: set[SuppressionKey], wanted: Callable[[str], bool]) -> list[tuple[str, int, str, str]]:
    """iackms suppressions (comments, `Metadata.iackms`) of rules that were on
    and that matched no finding, in the files ``wanted`` (pre-commit: the
    staged ones): (file, line, rule, resource). Those written for other tools
    (`checkov:skip`, cfn_nag) are left alone: that tool may still need them."""
    out: dict[SuppressionKey, str] = {}
    for res in [*unit.keys, *unit.grants, *unit.aliases, *unit.stores]:
        for s in res.suppressions:
            if s.origin != "iackms" or not s.reason.strip():
                continue
            rid = resolve_rule(s.written_id or s.rule_id)
            if rid is None or rid not in enabled:
                continue
            k = (s.loc.file, s.loc.line, rid)
            if k in used or not wanted(s.loc.file):
                continue
            out.setdefault(k, res.address)
    return sorted((f, line, rid, addr) for (f, line, rid), addr in out.items())


# --- the scan ----------------------------------------------------------------------


@dataclass
class ScanResult:
    """A scan's report with the model it was made from: what the inventory
    (and any other view of the scanned keys) is built from, without parsing
    or evaluating twice."""

    report: Report
    unit: ScanUnit
    inputs: Inputs

    def keys(self) -> list[Key]:
        """The keys of the scan that belong to the files asked about, as the
        findings do (with explicit files: the keys written in them, or in a
        local module they instantiate)."""
        wanted = _wanted(self.inputs)
        return [k for k in self.unit.keys
                if wanted(k.loc.file) or any(wanted(loc.file) for loc, _ in k.calls)]


def scan(paths: list[str], cfg: Config, **kw: Any) -> Report:
    """Scan ``paths``: the report of :func:`run` (same keyword arguments)."""
    return run(paths, cfg, **kw).report


def run(
    paths: list[str],
    cfg: Config,
    *,
    cwd: Path | None = None,
    max_file_size: int | None = None,
    no_suppress: bool = False,
    jobs: int = 1,
    overlay: dict[str, bytes] | None = None,
) -> ScanResult:
    """The scan: discover, parse, evaluate once; the report and its model.
    ``overlay`` (resolved path -> bytes) stands for the contents of those
    files (`iackms fix` scans its edits before writing them)."""
    cwd = cwd or Path.cwd()
    roots: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if os.path.lexists(p):
            b = boundary_of(p.absolute(), cfg.base_dir)
            if b not in roots:
                roots.append(b)
    if not roots:
        roots = [boundary_of(Path(cwd), cfg.base_dir)]
    ctx = ScanContext(roots=roots, cwd=cwd)
    if max_file_size is not None:
        ctx.max_file_size = max_file_size
    if overlay:
        ctx.overlay = overlay
    inp = discover(paths, ctx, cfg)
    report = Report(profile=cfg.profile, boundary=[ctx.rel(r) for r in roots])
    # a rule that judges data stores without any KMS setting widens what the parsers read
    ctx.data_stores = any(REGISTRY[r].meta.all_stores for r in enabled_rules(cfg) if r in REGISTRY)
    for m in inp.missing:
        report.warnings.append(f"{m}: no such file or directory")
    unit = parse_inputs(inp, ctx, jobs)
    # Terraform files, and the YAML/JSON files that are templates or plans (not every YAML/JSON looked at)
    report.files_scanned = sum(len(v) for v in inp.tf_dirs.values()) + unit.documents
    report.keys_checked = len(unit.keys)
    report.resources = frozenset((r.address, r.loc.file) for r in judged(unit))
    enabled = enabled_rules(cfg)
    report.rules = tuple(sorted(enabled))
    findings = evaluate(unit, cfg, enabled)
    used: set[SuppressionKey] = set()
    if no_suppress:
        kept, gone = findings, []
    else:
        kept, gone = apply_suppressions(findings, unit, report.warnings, used)
    wanted = _wanted(inp)
    report.remote_modules = remote_modules(unit, inp, cfg)
    report.findings = sorted(set(merge_notes([f for f in kept if _belongs(f, wanted, cfg)])), key=Finding.sort_key)
    report.suppressed = sorted(set(merge_notes([f for f in gone if _belongs(f, wanted, cfg)])), key=Finding.sort_key)
    report.scope = _scope(inp, unit, findings, [*report.findings, *report.suppressed], wanted, cfg, ctx)
    if not no_suppress:
        report.stale_suppressions = stale_suppressions(unit, enabled, used, lambda file: wanted(file) and not cfg.excluded(file))
        for file, line, rid, addr in report.stale_suppressions:
            report.warnings.append(f"{file}:{line}: suppression of {rid} on {addr} matches no finding; remove it if it is no longer needed")
    return ScanResult(report, unit, inp)


def _scope(inp: Inputs, unit: ScanUnit, findings: list[Finding], reported: list[Finding], wanted: Callable[[str], bool],
           cfg: Config, ctx: ScanContext) -> Scope:
    """What the scan covered, for baselines: the directories and files given
    (a path given that no longer exists too), and the files read whose
    findings are reported (a module outside the directories given)."""
    read = {ctx.rel(p) for files in inp.tf_dirs.values() for p in files} | {ctx.rel(p) for p in inp.docs} | unit.module_files
    for res in unit.resources():
        read.add(res.loc.file)
    for f in findings:
        read.update((f.file, f.resource_file))
    files = {f for f in read if f and wanted(f) and not cfg.excluded(f)} | set(inp.requested_files)
    # the files of the findings reported (a module's, reported for the module call in a file given)
    files.update(f.file for f in reported)
    dirs = (*inp.requested_dirs, *(ctx.rel(Path(m)) for m in inp.missing))
    return Scope(tuple(dict.fromkeys(dirs)), frozenset(files))


def remote_modules(unit: ScanUnit, inp: Inputs, cfg: Config) -> list[RemoteModules]:
    """The remote module calls of the scan by source, in the files the user
    asked about and not excluded."""
    wanted = _wanted(inp)
    by_source: dict[str, RemoteModules] = {}
    for r in sorted(unit.remote_modules, key=lambda r: (r.source, r.loc.file, r.loc.line)):
        if not wanted(r.loc.file) or cfg.excluded(r.loc.file):
            continue
        entry = by_source.setdefault(r.source, RemoteModules(r.source))
        call = ModuleCall(r.loc.file, max(1, r.loc.line), r.name)
        if call not in entry.calls:
            entry.calls.append(call)
    return list(by_source.values())


#: below this many YAML/JSON files a worker pool costs more than it saves
PARALLEL_MIN_DOCS = 64


def _parse_chunk(args: tuple[list[Path], ScanContext]) -> list[ScanUnit]:
    paths, ctx = args
    return [parse_document(p, ctx) for p in paths]


def _start_docs(docs: list[Path], ctx: ScanContext, jobs: int):
    """Start parsing documents in worker processes; returns a function that
    waits for the results (in input order), or None to parse serially."""
    if jobs <= 1 or len(docs) < PARALLEL_MIN_DOCS:
        return None
    import multiprocessing as mp

    try:
        mpctx = mp.get_context("fork")  # workers inherit the imported parsers
    except ValueError:  # no fork on this platform: serial is faster than spawning
        return None
    n = min(jobs, len(docs) // (PARALLEL_MIN_DOCS // 2) or 1)
    size = -(-len(docs) // (n * 4))
    chunks = [(docs[i : i + size], ctx) for i in range(0, len(docs), size)]
    try:
        pool = mpctx.Pool(n)
        pending = pool.map_async(_parse_chunk, chunks)
    except OSError:
        return None

    def wait() -> list[ScanUnit]:
        try:
            return [u for part in pending.get() for u in part]
        finally:
            pool.close()
            pool.join()

    return wait


def parse_inputs(inp: Inputs, ctx: ScanContext, jobs: int = 1) -> ScanUnit:
    unit = ScanUnit()
    docs_wait = _start_docs(inp.docs, ctx, jobs)
    if inp.tf_dirs:
        from .parsers import terraform

        try:
            unit.extend(terraform.parse_modules(sorted(inp.tf_dirs), ctx))
        except Exception as e:  # never a traceback: one note, the rest still scanned
            first = sorted(inp.tf_dirs)[0]
            unit.notes.append(Note(PARSE_ERROR, f"internal error while reading Terraform: {type(e).__name__}: {e} (please report it)",
                                   Location(ctx.rel(inp.tf_dirs[first][0]), 1, 1)))
    docs: list[ScanUnit] | None = None
    if docs_wait is not None:
        try:
            docs = docs_wait()
        except Exception:  # a worker failed: parse serially, which reports per file
            docs = None
    if docs is None:
        docs = [parse_document(path, ctx) for path in inp.docs]
    # a template read as a Rain module of another one is checked through it only
    # (as a Terraform module directory is evaluated through its callers)
    modules = set().union(*(u.module_files for u in docs)) if docs else set()
    for path, u in zip(inp.docs, docs):
        if modules and ctx.rel(path) in modules:
            unit.documents += u.documents  # read, as a part of the template that uses it
            continue
        unit.extend(u)
    return unit


def parse_document(path: Path, ctx: ScanContext) -> ScanUnit:
    """A YAML/JSON file: a Terraform plan, a CloudFormation template, or
    something else (skipped silently)."""
    from .parsers import plan

    rel = ctx.rel(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
            if size > ctx.max_file_size:
                if plan.sniff(head) or _cfn().sniff(head):
                    return ScanUnit(notes=[Note(PARSE_ERROR, size_limit_message(size, ctx.max_file_size), Location(rel, 1, 1))])
                return ScanUnit()
            data = head + fh.read()
        if ctx.overlay:  # `iackms fix`: the edited text stands for the file
            data = ctx.overlay.get(os.path.realpath(path), data)
    except OSError as e:
        if any(m in path.name for m in ("template", "cfn", "plan")):
            return ScanUnit(notes=[Note(PARSE_ERROR, f"cannot read file: {e.strerror or e}", Location(rel, 1, 1))])
        return ScanUnit()
    try:
        if path.name.endswith(".json") and plan.sniff(data):
            res = plan.parse_file(path, data, ctx)
            if res is not None:
                res.documents = 1
                return _rooted(res, rel)
        cloudformation = _cfn()
        if cloudformation.sniff(data):
            res = cloudformation.parse_file(path, data, ctx)
            if res is not None:
                res.documents = 1
                return _rooted(res, rel)
    except Exception as e:  # pragma: no cover - parsers catch their own errors
        return ScanUnit(notes=[Note(PARSE_ERROR, f"internal error while reading this file: {type(e).__name__}: {e} (please report it)", Location(rel, 1, 1))])
    return ScanUnit()


def _rooted(unit: ScanUnit, root: str) -> ScanUnit:
    """A template's or plan's resources are identified by the file and their
    logical ID or address: two templates may both have a `Key`."""
    for r in (*unit.keys, *unit.aliases, *unit.grants, *unit.stores, *unit.consumers, *unit.deliveries, *unit.lookups):
        r.root = r.root or root
    for n in unit.notes:
        if n.resource:
            # where the resource is written (a Rain module file read for several templates is one place)
            n.root = n.root or n.loc.file or root
    return unit


def _cfn():
    from .parsers import cloudformation

    return cloudformation


def _wanted(inp: Inputs) -> Callable[[str], bool]:
    """Whether this file is one the user asked about: when files were given
    (pre-commit), one of them or a file under a directory given; else any."""
    dirs = [d.rstrip("/") + "/" if d not in (".", "") else "" for d in inp.requested_dirs]

    def wanted(file: str) -> bool:
        if not inp.requested_files or file in inp.requested_files:
            return True
        return any(d == "" and not file.startswith("../") or (d and file.startswith(d)) for d in dirs)

    return wanted


def _belongs(f: Finding, wanted: Callable[[str], bool], cfg: Config) -> bool:
    """A finding is reported when it is not in an excluded file and its
    location, or one of its related locations (the attribute that uses a
    value, the module block that calls the resource's module), is wanted."""
    if cfg.exclude and cfg.excluded(f.file):
        return False
    return wanted(f.file) or any(wanted(r[0]) for r in f.related)


def exit_code(report: Report, fail_on: str) -> int:
    threshold = SEVERITY_RANK[fail_on]
    for f in report.findings:
        if f.rule_id == UNRESOLVED:
            continue  # informational: never fails a run
        if f.rank >= threshold:
            return 1
    return 0


__all__ = ["Key", "Grant", "CustomKeyStore", "ScanResult", "scan", "run", "evaluate", "exit_code", "discover"]
