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


#: `iackms inventory --format`: github appends the Markdown to the job summary
INVENTORY_FORMATS = ("markdown", "csv", "json", "html", "github")


def render_inventory(fmt: str, inv: dict, **opts) -> str:
    """The inventory (:func:`iackms.inventory.build`) in one format."""
    fn: Callable[..., str]
    if fmt == "markdown":
        from .inventory_md import render as fn
    elif fmt == "csv":
        from .inventory_csv import render as fn
    elif fmt == "json":
        from .inventory_json import render as fn
    elif fmt == "html":
        from .inventory_html import render as fn
    elif fmt == "github":
        from .inventory_md import write_summary

        return write_summary(inv)
    else:  # pragma: no cover - argparse restricts the choices
        raise ValueError(fmt)
    return fn(inv, **opts)
