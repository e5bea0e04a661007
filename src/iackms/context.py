"""What every parser is given: the scan roots (nothing outside them is ever
read), the directory paths are printed relative to, and the limits."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MAX_FILE_SIZE = 100 * 1024 * 1024


def format_size(n: int) -> str:
    """``512 bytes``, ``2.0 KB``, ``100 MB``: readable at any limit."""
    if n < 1024:
        return f"{n} bytes"
    for unit, m in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= m:
            v = n / m
            return f"{v:.0f} {unit}" if v == int(v) else f"{v:.1f} {unit}"
    return f"{n} bytes"  # pragma: no cover


def size_limit_message(size: int, limit: int) -> str:
    """The IKMS001 message of a file over ``--max-file-size``."""
    return f"the file is {format_size(size)}, over the --max-file-size limit of {format_size(limit)}; it is not scanned"


@dataclass
class ScanContext:
    #: the boundary: absolute, resolved directories nothing outside of which is
    #: ever read (modules, file(), templatefile(), tfvars); for each path
    #: scanned, the git work tree holding it, else the configuration file's
    #: directory, else the path itself (see engine.boundary_of)
    roots: list[Path]
    #: paths are printed relative to this directory
    cwd: Path = field(default_factory=lambda: Path.cwd())
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    #: Terraform variables given on the command line (not used by default)
    tf_vars: dict = field(default_factory=dict)
    #: directory as given -> its resolved path relative to the resolved current directory
    _rel_dirs: dict = field(default_factory=dict, repr=False, compare=False)
    #: a rule judges data stores that mention no KMS at all (a table without a
    #: key): Terraform directories holding one are evaluated too
    data_stores: bool = False
    #: contents that stand for files on disk (resolved path -> bytes): `iackms
    #: fix` scans its edits before (or instead of, with --diff) writing them
    overlay: dict = field(default_factory=dict)

    def rel(self, path: Path | str) -> str:
        """``path`` relative to the current directory, with forward slashes.
        Computed on resolved paths on both sides, so that a current directory
        or an argument reached through a link (macOS ``/tmp``) never gives
        ``../../tmp/...``; the file's own name is kept as written (a linked
        file is shown under its link's name)."""
        d, name = os.path.split(os.path.abspath(str(path)))
        rd = self._rel_dirs.get(d)
        if rd is None:
            real_cwd = self._rel_dirs.get("\0cwd")
            if real_cwd is None:
                real_cwd = self._rel_dirs["\0cwd"] = os.path.realpath(str(self.cwd))
            real = os.path.realpath(d)
            try:
                rd = os.path.relpath(real, real_cwd).replace(os.sep, "/")
            except ValueError:  # another drive on Windows
                rd = real.replace(os.sep, "/")
            self._rel_dirs[d] = rd
        if not name:
            return rd
        if rd == ".":
            return name
        if rd == ".." or rd.startswith("../"):  # above the current directory: `../x` may be `.` itself
            cwd = self._rel_dirs["\0cwd"]
            return os.path.relpath(os.path.join(cwd, rd, name), cwd).replace(os.sep, "/")
        return f"{rd}/{name}"

    def inside_roots(self, path: Path | str) -> bool:
        """True when ``path`` (after resolving links) is inside a scan root."""
        try:
            real = os.path.realpath(str(path))
        except (OSError, RuntimeError):
            return False
        return self.real_inside_roots(real)

    def real_inside_roots(self, real: str) -> bool:
        """``real`` is an already resolved path."""
        for root in self.roots:
            r = str(root)
            if real == r or real.startswith(r.rstrip(os.sep) + os.sep):
                return True
        return False

    def root_of(self, path: Path | str) -> Path | None:
        """The scan root (boundary) that holds ``path``, after resolving links."""
        real = os.path.realpath(str(path))
        for root in self.roots:
            r = str(root)
            if real == r or real.startswith(r.rstrip(os.sep) + os.sep):
                return root
        return None

    def read_bytes(self, path: Path | str) -> bytes:
        """The bytes of a file (from :attr:`overlay` when it holds the file).
        Raises OSError as reading the file would."""
        if self.overlay:
            data = self.overlay.get(os.path.realpath(str(path)))
            if data is not None:
                return data
        return Path(path).read_bytes()

    def read_text(self, path: Path | str) -> str | None:
        """The text of a file inside the scan roots, or None when it is outside,
        missing, too large or not UTF-8."""
        if not self.inside_roots(path):
            return None
        try:
            p = Path(path)
            if not p.is_file() or p.stat().st_size > self.max_file_size:
                return None
            return self.read_bytes(p).decode("utf-8-sig")
        except (OSError, UnicodeDecodeError):
            return None
