"""Command line: `iackms scan`, `iackms fix`, `iackms baseline`, `iackms
inventory`, `iackms rules`, `iackms explain`, `iackms checkov-dir`. Exit
codes: 0 clean, 1 findings at or above --fail-on (for `fix`: left after the
fix), 2 usage or internal error (one line, never a traceback)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from . import __version__

ISSUES_URL = "https://github.com/iackms/iackms/issues"


class _FormatAction(argparse.Action):
    """--format and --output pair up in the order given."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[override]
        outputs = getattr(namespace, "outputs", None) or []
        if self.dest == "format":
            outputs.append([values, None])
        else:
            if not outputs:
                outputs.append(["text", values])
            elif outputs[-1][1] is None:
                outputs[-1][1] = values
            else:
                parser.error(f"--output {values}: give a --format before each further --output")
        namespace.outputs = outputs


def _size(text: str) -> int:
    t = text.strip().upper()
    mult = 1
    for suffix, m in (("KB", 1024), ("MB", 1024**2), ("GB", 1024**3), ("K", 1024), ("M", 1024**2), ("G", 1024**3), ("B", 1)):
        if t.endswith(suffix):
            t, mult = t[: -len(suffix)], m
            break
    try:
        n = int(float(t) * mult)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 100MB)") from None
    if n <= 0:
        raise argparse.ArgumentTypeError("the size must be positive")
    return n


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("--jobs must be 1 or more")
    return n


def build_parser() -> argparse.ArgumentParser:
    from .vocab import FAIL_ON, PROFILES
    from .reporters import FORMATS

    p = argparse.ArgumentParser(prog="iackms", description="Check AWS KMS keys in Terraform and CloudFormation before they are deployed.")
    p.add_argument("--version", action="version", version=f"iackms {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("scan", help="scan files and directories", description="Scan Terraform (.tf, .tf.json, plan JSON) and CloudFormation (YAML/JSON) for KMS problems.")
    s.add_argument("paths", nargs="*", default=["."], metavar="PATH", help="files or directories (default: .)")
    s.add_argument("-f", "--format", choices=FORMATS, action=_FormatAction, dest="format", help="output format (repeatable; each pairs with the --output after it)")
    s.add_argument("-o", "--output", action=_FormatAction, dest="output", metavar="FILE", help="write the preceding --format to FILE instead of stdout")
    s.add_argument("--fail-on", choices=FAIL_ON, default=None,
                   help="lowest severity that makes the exit code 1 (default: low, or the config's); IKMS002 notes never do")
    s.add_argument("-p", "--profile", choices=PROFILES, default=None, help="rule profile (default: default, or the config's)")
    s.add_argument("-c", "--config", metavar="FILE", help="configuration file (default: .iackms.yaml or [tool.iackms] found upward)")
    s.add_argument("--show-suppressed", action="store_true", help="also report suppressed findings")
    s.add_argument("--no-suppress", action="store_true", help="ignore every suppression (central enforcement)")
    s.add_argument("--max-file-size", type=_size, default=None, metavar="SIZE", help="skip (and report) larger files (default: 100MB)")
    s.add_argument("--sarif-category", metavar="NAME", help="SARIF runAutomationDetails.id, to upload several runs for one commit")
    s.add_argument("--no-color", action="store_true", help="no colour in text output")
    s.add_argument("-j", "--jobs", type=_jobs, default=0, metavar="N",
                   help="worker processes for large trees (default: one per CPU, up to 4; 1: no workers)")

    s.add_argument("--baseline", metavar="FILE",
                   help="report and fail on only the findings not in this baseline (default: the config's `baseline`)")
    s.add_argument("--no-baseline", action="store_true", help="ignore the config's `baseline`: report every finding")

    fx = sub.add_parser("fix", help="fix, in place, what can be fixed",
                        description="Rewrite, in place, the findings whose fix is unambiguous and local (a literal written at "
                                    "the resource), keeping the files' style; say why the others are not fixed. The exit code "
                                    "is what `iackms scan` would return after the fix.")
    fx.add_argument("paths", nargs="*", default=["."], metavar="PATH", help="files or directories (default: .)")
    fx.add_argument("--diff", action="store_true", help="print a unified diff of the fixes and write nothing")
    fx.add_argument("--rule", "--select", action="append", dest="rules", metavar="RULE",
                    help="fix only these rules (IDs or names; repeatable, or comma-separated)")
    fx.add_argument("--fail-on", choices=FAIL_ON, default=None,
                    help="lowest severity left after the fix that makes the exit code 1 (default: low, or the config's)")
    fx.add_argument("-p", "--profile", choices=PROFILES, default=None, help="rule profile (default: default, or the config's)")
    fx.add_argument("-c", "--config", metavar="FILE", help="configuration file (default: .iackms.yaml or [tool.iackms] found upward)")
    fx.add_argument("--baseline", metavar="FILE", help="for the exit code, the findings left that are not in this baseline (default: the config's)")
    fx.add_argument("--no-baseline", action="store_true", help="ignore the config's `baseline`")
    fx.add_argument("--max-file-size", type=_size, default=None, metavar="SIZE", help="skip (and report) larger files (default: 100MB)")
    fx.add_argument("--no-color", action="store_true", help="no colour in text output")
    fx.add_argument("-j", "--jobs", type=_jobs, default=0, metavar="N", help="worker processes for large trees")

    b = sub.add_parser("baseline", help="record today's findings, so that scans report only new ones",
                       description="Write the findings of a scan to a baseline file; `iackms scan --baseline FILE` (or "
                                   "`baseline:` in the configuration) then reports and fails on only the findings not in it.")
    b.add_argument("paths", nargs="*", default=["."], metavar="PATH", help="files or directories (default: .)")
    b.add_argument("-o", "--output", metavar="FILE", help="the baseline file (default: the config's `baseline`, else .iackms-baseline.json)")
    b.add_argument("-p", "--profile", choices=PROFILES, default=None, help="rule profile (default: default, or the config's)")
    b.add_argument("-c", "--config", metavar="FILE", help="configuration file (default: .iackms.yaml or [tool.iackms] found upward)")
    b.add_argument("--max-file-size", type=_size, default=None, metavar="SIZE", help="skip (and report) larger files (default: 100MB)")
    b.add_argument("-j", "--jobs", type=_jobs, default=0, metavar="N", help="worker processes for large trees")

    from .reporters import INVENTORY_FORMATS

    i = sub.add_parser("inventory", help="list every key: its configuration, who may administer and use it, its findings",
                       description="An inventory of the KMS keys in Terraform (.tf, .tf.json, plan JSON) and CloudFormation: "
                                   "settings, aliases, tags, who may administer, use and create grants, the findings on each key "
                                   "and the controls they bear on (docs/inventory.md).")
    i.add_argument("paths", nargs="*", default=["."], metavar="PATH", help="files or directories (default: .)")
    i.add_argument("-f", "--format", choices=INVENTORY_FORMATS, action=_FormatAction, dest="format",
                   help="markdown (default), csv, json, html (one self-contained file), github (append the Markdown to the job "
                        "summary); repeatable, each pairs with the --output after it")
    i.add_argument("-o", "--output", action=_FormatAction, dest="output", metavar="FILE", help="write the preceding --format to FILE instead of stdout")
    i.add_argument("-p", "--profile", choices=PROFILES, default=None, help="rule profile for the findings (default: default, or the config's)")
    i.add_argument("-c", "--config", metavar="FILE", help="configuration file (default: .iackms.yaml or [tool.iackms] found upward)")
    i.add_argument("--no-suppress", action="store_true", help="ignore every suppression (suppressed findings are listed otherwise)")
    i.add_argument("--max-file-size", type=_size, default=None, metavar="SIZE", help="skip (and report) larger files (default: 100MB)")
    i.add_argument("--link-base", metavar="URL", help="HTML: link source lines to URL/<path>#L<line> (e.g. a repository's blob URL at a commit) "
                                                      "instead of relative paths")
    i.add_argument("-j", "--jobs", type=_jobs, default=0, metavar="N",
                   help="worker processes for large trees (default: one per CPU, up to 4; 1: no workers)")

    sub.add_parser("rules", help="list every rule with its severity, profiles and the controls it supports")
    e = sub.add_parser("explain", help="show a rule's documentation")
    e.add_argument("rule_id", metavar="RULE", help="e.g. IKMS101 or rotation-disabled")
    sub.add_parser("checkov-dir", help="print the directory of the Checkov external checks shipped with iackms")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("iackms: interrupted", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 2
    except Exception as e:  # never a traceback
        # one line, whatever the exception's text holds (a path, a parser message)
        what = " ".join(str(e).split())
        print(f"iackms: internal error: {type(e).__name__}: {what} — please report it at {ISSUES_URL}", file=sys.stderr)
        return 2


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "scan":
        return cmd_scan(args)
    if args.command == "inventory":
        return cmd_inventory(args)
    if args.command == "fix":
        return cmd_fix(args)
    if args.command == "baseline":
        return cmd_baseline(args)
    if args.command == "rules":
        return cmd_rules()
    if args.command == "explain":
        return cmd_explain(args.rule_id)
    if args.command == "checkov-dir":
        from importlib import resources

        print(resources.files("iackms").joinpath("checkov_checks"))
        return 0
    parser.print_help()
    return 2


def _config(args: argparse.Namespace):
    """The configuration for a scan's paths, or None after saying why not."""
    from . import config as config_mod

    try:
        if args.config:
            cfg = config_mod.load_file(Path(args.config))
        else:
            cfg = config_mod.for_path(Path(args.paths[0]) if args.paths else Path.cwd())
    except config_mod.ConfigError as e:
        print(f"iackms: {e}", file=sys.stderr)
        return None
    if args.profile:
        cfg.profile = args.profile
    missing = [p for p in args.paths if not os.path.lexists(p)]
    if missing:
        print(f"iackms: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return None
    return cfg


def _apply_baseline(args: argparse.Namespace, cfg, report) -> bool:
    """Compare the report with `--baseline` or the config's; False (after
    saying why) when the baseline cannot be read."""
    from . import baseline

    name = None if args.no_baseline else (args.baseline or cfg.baseline_path())
    if not name:
        return True
    try:
        baseline.apply(report, baseline.load(Path(name)), name)
    except baseline.BaselineError as e:
        print(f"iackms: {e}", file=sys.stderr)
        return False
    return True


def _outputs(args: argparse.Namespace, default: str) -> list[list] | None:
    """The (format, file) pairs, or None after saying why they cannot all be written."""
    outputs = getattr(args, "outputs", None) or [[default, None]]
    outputs = [[default if fmt == "text" and default != "text" else fmt, out] for fmt, out in outputs]
    to_stdout = [fmt for fmt, out in outputs if out is None]
    if len(to_stdout) > 1:
        print(f"iackms: --format {' and '.join(to_stdout)} would both go to standard output; give all but one an --output FILE", file=sys.stderr)
        return None
    files = [os.path.abspath(out) for _, out in outputs if out is not None]
    if len(set(files)) != len(files):
        print("iackms: two formats would be written to the same --output file", file=sys.stderr)
        return None
    return outputs


def _write(text: str, out: str | None) -> bool:
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return True
    try:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")
    except OSError as e:
        print(f"iackms: cannot write {out}: {e.strerror or e}", file=sys.stderr)
        return False
    return True


def cmd_inventory(args: argparse.Namespace) -> int:
    from .engine import run
    from .inventory import build
    from .reporters import render_inventory

    cfg = _config(args)
    if cfg is None:
        return 2
    outputs = _outputs(args, "markdown")
    if outputs is None:
        return 2
    jobs = args.jobs or min(os.cpu_count() or 1, 4)
    result = run(list(args.paths), cfg, max_file_size=args.max_file_size, no_suppress=args.no_suppress, jobs=jobs)
    for w in result.report.warnings:
        print(f"iackms: warning: {w}", file=sys.stderr)
    inv = build(result.unit, result.report, result.keys(), trusted_accounts=cfg.trusted_accounts)
    for fmt, out in outputs:
        out_dir = os.path.dirname(out) or "." if out is not None else "."
        text = render_inventory(fmt, inv, out_dir=out_dir, link_base=args.link_base)
        if not _write(text, out):
            return 2
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    from .engine import exit_code, scan
    from .reporters import render

    cfg = _config(args)
    if cfg is None:
        return 2
    fail_on = args.fail_on or cfg.fail_on or "low"
    jobs = args.jobs or min(os.cpu_count() or 1, 4)
    report = scan(list(args.paths), cfg, max_file_size=args.max_file_size, no_suppress=args.no_suppress, jobs=jobs)
    if not _apply_baseline(args, cfg, report):
        return 2
    for w in report.warnings:
        print(f"iackms: warning: {w}", file=sys.stderr)
    outputs = _outputs(args, "text")
    if outputs is None:
        return 2
    for fmt, out in outputs:
        colour = fmt == "text" and out is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR") and not args.no_color
        text = render(fmt, report, colour=colour, show_suppressed=args.show_suppressed, sarif_category=args.sarif_category, fail_on=fail_on)
        if not _write(text, out):
            return 2
    if all(out is not None for _, out in outputs):  # every format went to a file: a person still sees the result
        from .reporters.text import summary

        print(f"iackms: {summary(report)}", file=sys.stderr)
        if report.remote_summary():
            print(f"iackms: {report.remote_summary()}", file=sys.stderr)
    return exit_code(report, fail_on)


def _rule_ids(values: list[str] | None) -> set[str] | None:
    """`--rule` values (IDs or names, repeated or comma-separated) as rule
    IDs; raises ValueError naming an unknown one."""
    if not values:
        return None
    from .rules import resolve_rule

    out = set()
    for v in values:
        for part in v.split(","):
            if not part.strip():
                continue
            rid = resolve_rule(part)
            if rid is None:
                raise ValueError(f"unknown rule {part.strip()!r} (see `iackms rules`)")
            out.add(rid)
    return out


def cmd_fix(args: argparse.Namespace) -> int:
    from .engine import exit_code
    from .fix import fix, write
    from .reporters.text import line, summary

    cfg = _config(args)
    if cfg is None:
        return 2
    try:
        rules = _rule_ids(args.rules)
    except ValueError as e:
        print(f"iackms: {e}", file=sys.stderr)
        return 2
    fail_on = args.fail_on or cfg.fail_on or "low"
    jobs = args.jobs or min(os.cpu_count() or 1, 4)
    result = fix(list(args.paths), cfg, rules=rules, jobs=jobs, max_file_size=args.max_file_size)
    report = result.report
    if not _apply_baseline(args, cfg, report):
        return 2
    for w in report.warnings:
        print(f"iackms: warning: {w}", file=sys.stderr)
    # with --diff, standard output is the diff alone (for `git apply`); the rest goes to standard error
    out = sys.stderr if args.diff else sys.stdout
    if args.diff:
        sys.stdout.write(result.diff())
        sys.stdout.flush()
    else:
        errors = write(result)
        for e in errors:
            print(f"iackms: {e}", file=sys.stderr)
        if errors:
            return 2
    colour = not args.diff and sys.stdout.isatty() and not os.environ.get("NO_COLOR") and not args.no_color
    verb = "would fix" if args.diff else "fixed"
    # with --diff nothing is written: lines are those of the files as they are; else of the fixed files
    changes, left = result.as_before() if args.diff else (result.changes, report.findings)
    for c in changes:
        print(f"{c.file}:{c.line}: {verb} {','.join(c.rule_ids)} {', '.join(c.resources)}: {c.what}", file=out)
    for f, shown in zip(report.findings, left):
        why = result.not_fixed.get(f)
        print(line(shown, colour) + (f" [not fixed: {why}]" if why else ""), file=out)
    n, files = result.fixed_findings(), len(result.files)
    done = (f"{n} finding{'s' if n != 1 else ''} {'would be ' if args.diff else ''}fixed in {files} file{'s' if files != 1 else ''}"
            if n else "nothing to fix")
    if result.changes or report.findings:
        print("", file=out)
    print(f"{done}; {'after the fix, ' if n else ''}{summary(report)}", file=out)
    remote = report.remote_summary()
    if remote:
        print(remote, file=out)
    return exit_code(report, fail_on)


def cmd_baseline(args: argparse.Namespace) -> int:
    from . import baseline
    from .engine import scan

    cfg = _config(args)
    if cfg is None:
        return 2
    jobs = args.jobs or min(os.cpu_count() or 1, 4)
    report = scan(list(args.paths), cfg, max_file_size=args.max_file_size, jobs=jobs)
    for w in report.warnings:
        print(f"iackms: warning: {w}", file=sys.stderr)
    target = args.output or cfg.baseline_path() or baseline.DEFAULT_FILE
    # a baseline of some files (pre-commit, one directory) keeps the entries of the files it did not scan
    keep: list[dict] = []
    if os.path.lexists(target):
        try:
            keep = baseline.not_scanned(report, baseline.load(Path(target)))
        except baseline.BaselineError as e:
            print(f"iackms: warning: {e}; writing a new baseline", file=sys.stderr)
    try:
        n = baseline.write(report, Path(target), keep)
    except OSError as e:
        print(f"iackms: cannot write {target}: {e.strerror or e}", file=sys.stderr)
        return 2
    kept = f"; kept {len(keep)} entr{'ies' if len(keep) != 1 else 'y'} of files not scanned" if keep else ""
    print(f"iackms: {n} finding{'s' if n != 1 else ''} recorded in {target}{kept}", file=sys.stderr)
    return 0


def cmd_rules() -> int:
    from .rules import REGISTRY, profile_rules

    from .vocab import PROFILES as profiles

    members = {p: profile_rules(p) for p in profiles}
    rows = []
    for rid in sorted(REGISTRY):
        m = REGISTRY[rid].meta
        rows.append((rid, m.name, m.severity, ",".join(p for p in profiles if rid in members[p]),
                     "yes" if m.autofix else "", controls_text(m.controls)))
    width = max(len(r[3]) for r in rows)
    print(f"{'ID':<8} {'NAME':<40} {'SEVERITY':<9} {'PROFILES':<{width}} {'FIX':<4} CONTROLS")
    for rid, name, sev, on, fixable, ctl in rows:
        print(f"{rid:<8} {name:<40} {sev:<9} {on:<{width}} {fixable:<4} {ctl}".rstrip())
    return 0


def controls_text(controls) -> str:
    """`CIS 3.6 (v3.0+), 3.8 (v1.4–v2.0); NIST 3.13.10; CMMC SC.L2-3.13.10`."""
    groups: dict[str, list[str]] = {}
    for c in controls:
        groups.setdefault(c.framework.split()[0], []).append(c.id + (f" ({c.versions})" if c.versions else ""))
    return "; ".join(f"{fw} {', '.join(ids)}" for fw, ids in groups.items())


def cmd_explain(rule_id: str) -> int:
    from .docgen import rule_text
    from .rules import REGISTRY

    rid = rule_id.upper()
    if rid not in REGISTRY:
        by_name = {r.meta.name: k for k, r in REGISTRY.items()}
        rid = by_name.get(rule_id.lower(), rid)
    if rid not in REGISTRY:
        print(f"iackms: unknown rule {rule_id!r} (see `iackms rules`)", file=sys.stderr)
        return 2
    sys.stdout.write(rule_text(REGISTRY[rid].meta))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
