"""IKMS105 replica-key: a replica of a multi-Region key is created."""

from __future__ import annotations

from typing import Iterator

from ..model import Key
from ..vocab import DEFAULT_ON
from .base import Fail, Result, RuleMeta, rule
from .sources import KMS_BP, MRK_DOC


@rule(RuleMeta(
    id="IKMS105",
    name="replica-key",
    title="A replica of a multi-Region key is created",
    severity="medium",
    profiles=DEFAULT_ON,
    targets=("key",),
    what="Flags `aws_kms_replica_key`, `aws_kms_replica_external_key` and `AWS::KMS::ReplicaKey`.",
    why="A replica copies the key material into another Region; make sure each replication is intended and allowed by your data-residency rules.",
    sources=(MRK_DOC, KMS_BP),
    fix_tf="Remove the replica, or suppress with a reason naming the approved Region.",
    fix_cfn="Remove the `AWS::KMS::ReplicaKey`, or suppress with a reason naming the approved Region.",
    checkov=True,
))
def replica_key(key: Key, cfg) -> Iterator[Result]:
    if key.is_replica:
        yield Fail(f"{key.address} replicates a multi-Region key into another Region", key.loc)

