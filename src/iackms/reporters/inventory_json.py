"""The inventory as JSON: the data :func:`iackms.inventory.build` returns,
as is. A stable contract, documented in docs/inventory.md (fields are only
ever added; ``format_version`` changes for anything else)."""

from __future__ import annotations

import orjson


def render(inv: dict, **_: object) -> str:
    return orjson.dumps(inv, option=orjson.OPT_INDENT_2).decode() + "\n"
