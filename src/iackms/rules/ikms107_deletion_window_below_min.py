"""IKMS107 deletion-window-below-min: the deletion waiting period is shorter than the configured minimum."""

from __future__ import annotations

from typing import Iterator

from ..model import Key
from ..vocab import DEFAULT_ON, OPTIONS
from .base import Fail, Result, RuleMeta, Unresolved, as_int, describe, options, rule, set_attr, shown, where
from .sources import DELETE_DOC, KMS_BP


@rule(RuleMeta(
    id="IKMS107",
    name="deletion-window-below-min",
    title="The deletion waiting period is shorter than the configured minimum",
    severity="low",
    profiles=DEFAULT_ON,
    targets=("key",),
    what=(
        "Checks `deletion_window_in_days` / `PendingWindowInDays` against `deletion_window_min_days` "
        "(default 30). An unset window passes: AWS then waits 30 days."
    ),
    why="The waiting period is the only way back from an accidental or malicious ScheduleKeyDeletion; data encrypted under a deleted key is lost.",
    sources=(DELETE_DOC, KMS_BP),
    fix_tf="Set `deletion_window_in_days = 30` (or remove it).",
    fix_cfn="Set `PendingWindowInDays: 30` (or remove it).",
    autofix="`iackms fix` raises the deletion window to `deletion_window_min_days`.",
    options=(OPTIONS["deletion_window_min_days"],),
    checkov=True,
))
def deletion_window_below_min(key: Key, cfg) -> Iterator[Result]:
    win = key.attr("deletion_window")
    if not win.present:
        return
    for o in options(win):
        d = as_int(o)
        if d is None:
            yield Unresolved(f"cannot tell the deletion window: {shown(win)}", where(win, key))
            return
        if d < cfg.deletion_window_min_days:
            yield Fail(f"{key.address} has a deletion window of {d} days, below the minimum of {cfg.deletion_window_min_days} ({describe(key, 'deletion_window', d)})", where(win, key),
                       fix=set_attr("deletion_window", cfg.deletion_window_min_days))
            return

