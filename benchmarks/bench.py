#!/usr/bin/env python3
"""iackms against Checkov, in one run, on the same inputs.

    python benchmarks/bench.py [--reps 5] [--no-checkov] [--corpus ../shared/corpus]

Alternates iackms and Checkov (restricted to its KMS checks) on:
  - the real-world corpus (`realworld/`),
  - one Terraform module directory,
  - one single file (the pre-commit case),
and reports the median wall time, the peak RSS and the ratio. Then runs
iackms alone on the whole performance corpus: the default and strict
profiles and the inventory against the scan it is built on; and on copies
of the corpus multiplied x10 and x50 (benchmarks/multiply.py), reporting
files per second.

Checkov goes into its own virtualenv (benchmarks/.work/checkov-venv), built
by this script on first use. Nothing here is a test: the figures go to
docs/performance.md by hand, with the machine they came from."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
CHECKOV_CHECKS = "CKV_AWS_7,CKV_AWS_33,CKV_AWS_227,CKV2_AWS_64"


def run(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of one child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024.0, p.returncode


def checkov_venv() -> Path:
    venv = WORK / "checkov-venv"
    exe = venv / "bin" / "checkov"
    if not exe.exists():
        print("building Checkov's virtualenv (once)...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "checkov"], check=True)
    return exe


def iackms_cmd(target: Path) -> list[str]:
    return [sys.executable, "-m", "iackms", "scan", str(target), "--format", "json", "--output", os.devnull]


def iackms_env() -> dict:
    """iackms as installed: pip compiles a package's bytecode (Checkov's virtualenv has it), so iackms runs
    from cached bytecode too, kept under benchmarks/.work/pycache. Run from a source checkout with
    PYTHONDONTWRITEBYTECODE set, every run would compile every module again (about 0.1 s)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    return env


def warm_bytecode() -> None:
    empty = WORK / "empty"
    empty.mkdir(exist_ok=True)
    run(iackms_cmd(empty), env=iackms_env())


def checkov_cmd(exe: Path, target: Path) -> list[str]:
    flag = "-f" if target.is_file() else "-d"
    return [str(exe), flag, str(target), "--framework", "terraform", "cloudformation", "--check", CHECKOV_CHECKS,
            "-o", "json", "--quiet", "--skip-download"]


def compare(name: str, target: Path, reps: int, ckv: Path | None) -> dict:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    ours, theirs = [], []
    for _ in range(reps):
        ours.append(run(iackms_cmd(target), env=iackms_env()))
        if ckv is not None:
            theirs.append(run(checkov_cmd(ckv, target), env=env))
    row = {"input": name, "iackms_s": statistics.median(w for w, _, _ in ours), "iackms_mb": max(m for _, m, _ in ours)}
    if theirs:
        row["checkov_s"] = statistics.median(w for w, _, _ in theirs)
        row["checkov_mb"] = max(m for _, m, _ in theirs)
        row["ratio"] = row["checkov_s"] / row["iackms_s"]
    return row


def count_files(target: Path) -> int:
    n = 0
    for p in target.rglob("*"):
        if p.is_file() and p.suffix in (".tf", ".yaml", ".yml", ".json", ".template"):
            n += 1
    return n


def scaling(perf: Path, reps: int) -> list[dict]:
    from multiply import multiply  # type: ignore[import-not-found]

    rows = []
    for factor in (1, 10, 50):
        target = perf if factor == 1 else WORK / f"perf-x{factor}"
        if factor > 1 and not target.exists():
            print(f"writing the x{factor} copy...", file=sys.stderr)
            multiply(perf, target, factor)
        files = count_files(target)
        runs = [run(iackms_cmd(target), env=iackms_env()) for _ in range(max(1, reps if factor < 50 else min(reps, 3)))]
        wall = statistics.median(w for w, _, _ in runs)
        rows.append({"input": f"perf x{factor}", "files": files, "wall_s": wall, "peak_mb": max(m for _, m, _ in runs),
                     "files_per_s": files / wall})
    return rows


def profiles_and_inventory(perf: Path, reps: int) -> list[dict]:
    """The whole performance corpus: the default and strict profiles, and the
    inventory (scan + inventory, JSON) against the scan it is built on."""
    cmds = {
        "scan, default profile": iackms_cmd(perf),
        "scan, strict profile": [*iackms_cmd(perf), "--profile", "strict"],
        "inventory (JSON)": [sys.executable, "-m", "iackms", "inventory", str(perf), "--format", "json", "--output", os.devnull],
    }
    runs: dict[str, list] = {k: [] for k in cmds}
    for _ in range(reps):  # interleaved, so that other load on the machine falls on all alike
        for name, cmd in cmds.items():
            runs[name].append(run(cmd))
    base = statistics.median(w for w, _, _ in runs["scan, default profile"])
    return [{"input": name, "wall_s": statistics.median(w for w, _, _ in rs), "peak_mb": max(m for _, m, _ in rs),
             "vs_scan": statistics.median(w for w, _, _ in rs) / base} for name, rs in runs.items()]


def table(rows: list[dict], cols: list[tuple[str, str, str]]) -> str:
    out = ["| " + " | ".join(h for h, _, _ in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        out.append("| " + " | ".join((fmt.format(r[k]) if k in r else "—") for _, k, fmt in cols) + " |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    ap.add_argument("--no-checkov", action="store_true", help="measure iackms only")
    ap.add_argument("--no-scaling", action="store_true", help="skip the x1/x10/x50 performance-corpus runs")
    ap.add_argument("--no-profiles", action="store_true", help="skip the strict-profile and inventory runs on the performance corpus")
    args = ap.parse_args()
    WORK.mkdir(exist_ok=True)
    sys.path.insert(0, str(HERE))
    realworld = args.corpus / "realworld"
    module = realworld / "terraform-aws-kms"
    single = realworld / "terraform-aws-kms-key" / "main.tf"
    ckv = None if args.no_checkov else checkov_venv()
    warm_bytecode()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {platform.platform()}")
    rows = [compare("realworld (%d files)" % count_files(realworld), realworld, args.reps, ckv),
            compare("one module (terraform-aws-kms)", module, args.reps, ckv),
            compare("one file (pre-commit)", single, args.reps, ckv)]
    print()
    print(table(rows, [("input", "input", "{}"), ("iackms wall", "iackms_s", "{:.2f} s"), ("iackms peak RSS", "iackms_mb", "{:.0f} MB"),
                       ("Checkov wall", "checkov_s", "{:.2f} s"), ("Checkov peak RSS", "checkov_mb", "{:.0f} MB"), ("Checkov / iackms", "ratio", "{:.0f}×")]))
    perf = args.corpus / "perf"
    if not args.no_profiles:
        print()
        print(table(profiles_and_inventory(perf, args.reps), [("on perf", "input", "{}"), ("wall", "wall_s", "{:.2f} s"),
                                                             ("peak RSS", "peak_mb", "{:.0f} MB"), ("/ scan", "vs_scan", "{:.2f}")]))
    if not args.no_scaling:
        print()
        print(table(scaling(perf, args.reps), [("input", "input", "{}"), ("files", "files", "{}"), ("wall", "wall_s", "{:.2f} s"),
                                                ("peak RSS", "peak_mb", "{:.0f} MB"), ("files/s", "files_per_s", "{:.0f}")]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
