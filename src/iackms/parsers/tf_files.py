"""The Terraform functions that read files: ``file()``, ``filebase64()``,
``fileexists()`` and ``templatefile()``. A path outside the scan roots is
never read (the check is :meth:`ScanContext.inside_roots`, text is read by
:meth:`ScanContext.read_text`), nor is a file over the size limit."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..context import ScanContext
from ..model import OPAQUE_OPEN, THIS_ACCOUNT, UNK_OPEN, Choice, LDict, Location, Unknown
from .tf_hcl import SrcFile
from .tf_template import template_string
from .tf_values import LStr, err

if TYPE_CHECKING:
    from .tf_expr import Ev

FILE_FUNCTIONS = frozenset({"file", "templatefile", "fileexists", "filebase64"})


def file_call(ev: "Ev", name: str, args: list[Any], whole: str) -> Any:
    """One of :data:`FILE_FUNCTIONS` on evaluated arguments (no Choice);
    ``whole`` is the call as written. A path is relative to the root
    module's directory, as Terraform reads it."""
    if any(isinstance(a, (Unknown, Choice)) for a in args) or not args:
        return Unknown(whole)
    p = args[0]
    if not isinstance(p, str):
        return err(whole)
    if UNK_OPEN in p or OPAQUE_OPEN in p or THIS_ACCOUNT in p:
        return Unknown(whole)
    sc = ev.scope
    ctx = sc.ctx
    path = Path(p) if os.path.isabs(p) else sc.root_dir / p
    if name == "fileexists":
        if not ctx.inside_roots(path):
            return Unknown(whole, "outside the scan roots")
        return path.is_file()
    if not ctx.inside_roots(path):
        return Unknown(whole, f"{p} is outside the scan root and is never read")
    rel = ctx.rel(path)
    if not path.is_file():
        return Unknown(whole, f"{rel} does not exist")
    if name == "filebase64":
        return _filebase64(ctx, path, rel, whole)
    content = ctx.read_text(path)
    if content is None:
        return Unknown(whole, f"{rel} cannot be read as UTF-8 text within the size limit")
    loc = Location(rel, 1, content.count("\n") + 1, 1)
    if name == "file":
        return LStr(content, loc, "file")
    vars_ = args[1] if len(args) > 1 else LDict()
    if not isinstance(vars_, dict):
        return err(whole)
    env = {str(k): v for k, v in vars_.items()}
    env["__tpl__"] = True
    tf = SrcFile(path, rel)
    return template_string(ev, content, tf, env, loc, tf)


def _filebase64(ctx: ScanContext, path: Path, rel: str, whole: str) -> Any:
    """filebase64(): the bytes of a file inside the scan roots (checked by
    the caller), within the size limit, as base64 text."""
    try:
        if path.stat().st_size > ctx.max_file_size:
            return Unknown(whole, f"{rel} is over the size limit and is not read")
        data = ctx.read_bytes(path)
    except OSError:
        return Unknown(whole, f"{rel} cannot be read")
    if len(data) > ctx.max_file_size:
        return Unknown(whole, f"{rel} is over the size limit and is not read")
    return base64.b64encode(data).decode("ascii")
