"""IKMS102 rotation-period-above-max: the rotation period is longer than the configured maximum."""

from __future__ import annotations

from typing import Iterator

from ..model import Key
from ..vocab import DEFAULT_ON, OPTIONS
from .base import Fail, Result, RuleMeta, Source, Unresolved, as_bool, as_int, describe, options, rule, set_attr, shown, where
from .keyspec import rotation_ineligibility
from .sources import KEY_MANAGEMENT, NIST_SC_10, ROTATE_DOC


@rule(RuleMeta(
    id="IKMS102",
    name="rotation-period-above-max",
    title="The rotation period is longer than the configured maximum",
    severity="low",
    profiles=DEFAULT_ON,
    targets=("key",),
    what=(
        "When automatic rotation is on, checks that the rotation period (`rotation_period_in_days` / "
        "`RotationPeriodInDays`, 365 days when unset) does not exceed `rotation_max_days` (default 365). "
        "A key with rotation off is IKMS101's concern, not this rule's."
    ),
    why="A cryptoperiod longer than your key-management policy allows leaves more data under one key version.",
    sources=(ROTATE_DOC, Source("NIST SP 800-57 Part 1 (cryptoperiods)", "https://csrc.nist.gov/pubs/sp/800/57/pt1/r5/final"), NIST_SC_10),
    controls=KEY_MANAGEMENT,
    fix_tf="Set `rotation_period_in_days` to at most the configured maximum.",
    fix_cfn="Set `RotationPeriodInDays` to at most the configured maximum.",
    autofix="`iackms fix` lowers the rotation period to `rotation_max_days`.",
    options=(OPTIONS["rotation_max_days"],),
    checkov=True,
))
def rotation_period_above_max(key: Key, cfg) -> Iterator[Result]:
    reason, unknown, _ = rotation_ineligibility(key)
    if reason or unknown:
        return
    rot = key.attr("rotation")
    if not any(as_bool(o) is True for o in options(rot)):
        return
    per = key.attr("rotation_period")
    limit = cfg.rotation_max_days
    for o in options(per):
        days = 365 if o is None else as_int(o)
        if days is None:
            yield Unresolved(f"cannot tell the rotation period: {shown(per)}", where(per, key))
            return
        if days > limit:
            what = describe(key, "rotation_period", days) if per.present else "the default period of 365 days"
            yield Fail(f"{key.address} rotates every {days} days, more than the maximum of {limit} ({what})", where(per, key),
                       fix=set_attr("rotation_period", limit))
            return

