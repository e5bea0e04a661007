#!/usr/bin/env python3
"""Copy a corpus N times under distinct paths (`copy-000/`, `copy-001/`...),
to check that scanning cost grows linearly with the number of files.

    python benchmarks/multiply.py ../shared/corpus/perf benchmarks/.work/perf-x10 10
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def multiply(src: Path, dst: Path, factor: int) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for i in range(factor):
        shutil.copytree(src, dst / f"copy-{i:03d}", symlinks=True)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    multiply(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
