"""Output formats. Each reporter turns a Report into text."""

from __future__ import annotations

from typing import Callable

from ..findings import Report

FORMATS = ("text", "json", "sarif", "github")


def render(fmt: str, report: Report, **opts) -> str:
    fn: Callable[..., str]
    if fmt == "text":
        from .text import render as fn
    elif fmt == "json":
        from .jsonfmt import render as fn
    elif fmt == "sarif":
        from .sarif import render as fn
    elif fmt == "github":
        from .github import render as fn
    else:  # pragma: no cover - argparse restricts the choices
        raise ValueError(fmt)
    return fn(report, **opts)
