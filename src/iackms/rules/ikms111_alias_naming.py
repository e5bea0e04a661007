"""IKMS111 alias-naming: an alias of the key does not follow the naming pattern."""

from __future__ import annotations

import re
from typing import Iterator

from ..model import THIS_ACCOUNT, Key, display, is_known
from ..vocab import CMMC, OPTIONS
from .base import Fail, Result, RuleMeta, Unresolved, known_prefix, options, rule, shown
from .sources import ALIAS_DOC, KMS_BP


@rule(RuleMeta(
    id="IKMS111",
    name="alias-naming",
    title="An alias of the key does not follow the naming pattern",
    severity="low",
    profiles=CMMC,
    targets=("key",),
    what=(
        "Checks each alias that targets the key against `alias_pattern` (cmmc and strict profiles: "
        "`^alias/cmmc-`). A key without any alias is flagged only when `require_alias` is true."
    ),
    why="A naming convention makes keys recognisable in logs, policies and audits, and lets IAM policies scope by alias.",
    sources=(ALIAS_DOC, KMS_BP),
    fix_tf='Name the alias after the pattern: `name = "alias/cmmc-payments"`.',
    fix_cfn="Name the alias after the pattern: `AliasName: alias/cmmc-payments`.",
    options=(OPTIONS["alias_pattern"], OPTIONS["require_alias"]),
))
def alias_naming(key: Key, cfg) -> Iterator[Result]:
    pat = cfg.alias_regex()
    if not key.aliases:
        if cfg.require_alias:
            yield Fail(f"{key.address} has no alias", key.loc)
        return
    if not pat:
        return
    rx = re.compile(pat)
    for alias in key.aliases:
        attr = alias.attr("name") if alias.attr("name").present else alias.attr("name_prefix")
        if not attr.present:
            continue
        for o in options(attr):
            if isinstance(o, str) and is_known(o):
                # "this account" stands for 12 digits: judge the name only when the digits cannot matter
                verdicts = {bool(rx.search(o.replace(THIS_ACCOUNT, digits))) for digits in ("000000000000", "999999999999")}
                if verdicts == {False}:
                    yield Fail(f"alias '{display(o)}' of {key.address} does not match {pat}", attr.loc or alias.loc, ident=display(o))
                    break
                if verdicts == {True}:
                    continue
            prefix = known_prefix(o)
            if prefix and rx.match(prefix):
                continue  # the part that is written already satisfies the pattern
            yield Unresolved(f"cannot tell the alias name of {alias.address}: {shown(attr)}", attr.loc or alias.loc)
            break

