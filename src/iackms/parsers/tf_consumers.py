"""Terraform resources that use a KMS key or send data into one: the
consumer table's Terraform side read from blocks (``dynamic`` blocks and
``.tf.json`` objects included) with the module's evaluator."""

from __future__ import annotations

from typing import Any

from ..consumer_table import table
from ..model import Attr, Choice, Consumer, Delivery, KeyLookup, Location, Unknown
from ..vocab import CONSUMER_FACTS, TF_KEY_LOOKUPS
from .consumer_paths import Node, Step, UnknownNode, ValueNode, build
from .tf_hcl import Block, suppressions_in
from .tf_module import with_branches
from .tf_policydoc import expand_blocks
from .tf_scope import Scope
from .tf_values import to_bool

#: Terraform's conversion of "true"/"false" for boolean arguments the consumer
#: table reads (`encrypted`, `storage_encrypted`, `enabled`, ...)
_BOOL_NAMES = frozenset({"encrypted", "storage_encrypted", "enabled", "performance_insights_enabled",
                         "manage_master_user_password", "sqs_managed_sse_enabled", "at_rest_encryption_enabled"})


class BlockNode(Node):
    """A Terraform block (a resource, or a nested block) with the bindings
    its expressions see (``each``/``count``, a dynamic block's iterator)."""

    def __init__(self, scope: Scope, blk: Block, env: dict[str, Any], res: Block | None = None) -> None:
        self.scope = scope
        self.blk = blk
        self.env = env
        self.loc = blk.loc
        #: the resource block this block is written in (itself at the top)
        self.res = res if res is not None else blk

    def children(self, step: Step) -> "list[Node] | None":
        found = expand_blocks(self.blk, step.name, self.scope.ev, self.env)
        if found:
            out: list[Node] = []
            for it in found:
                if isinstance(it, tuple):
                    out.append(BlockNode(self.scope, it[0], it[1], self.res))
                else:
                    out.append(UnknownNode(it if isinstance(it, Unknown) else Unknown(f"dynamic {step.name}"), self.loc))
            return out if step.many else out[:1]
        a = self.blk.attrs.get(step.name)
        if a is None:
            return None
        v = self.scope.ev.attr(a, dict(self.env))
        if v is None:
            return None
        return ValueNode({step.name: v}, a.loc).children(step)

    def leaf(self, name: str) -> Attr | None:
        a = self.blk.attrs.get(name)
        if a is None:
            return None
        v = self.scope.ev.attr(a, dict(self.env))
        if v is None:
            return None
        if name in _BOOL_NAMES:
            v = _bools(v)
        # written elsewhere (a module argument, tfvars, a default): findings are reported there
        return Attr(v, a.loc, True, a.text(), self.scope.origin(a))


    def key_leaf(self, name: str) -> Attr | None:
        """The key attribute, with its value in every branch of the boolean
        root variables with a default of false it depends on
        (``var.use_aws_managed_key ? "alias/aws/sns" : aws_kms_key.k.arn``):
        a key used only when a switch is turned on is followed there too."""
        a = self.blk.attrs.get(name)
        if a is None:
            return None
        top = self.blk is self.res

        def compute(t: Scope) -> Any:
            env = dict(self.env)
            if top and t is not self.scope:
                env.update(t.instance_env(self.res))
            return t.ev.attr(a, env)

        v = with_branches(self.scope, self.res, compute, _same)
        if v is None:
            return None
        return Attr(v, a.loc, True, a.text(), self.scope.origin(a))


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - values that do not compare are different
        return False


def _bools(v: Any) -> Any:
    if isinstance(v, Choice):
        return Choice(tuple(_bools(o) for o in v.options), v.expr, v.loc)
    if isinstance(v, str):
        b = to_bool(v)
        return v if b is None else b
    return v


def relevant_types() -> frozenset[str]:
    """Every Terraform resource type the consumer table reads."""
    return table().types("terraform")


def extract(scope: Scope, rtype: str, addr: str, blk: Block, identity: dict[str, Any]) -> tuple[list[Consumer], list[Delivery]]:
    """The consumers and delivery paths of one resource block (``identity``:
    its root module and the module blocks that instantiate it)."""
    node = BlockNode(scope, blk, dict(scope.instance_env(blk)))
    cs, ds = build("terraform", rtype, addr, blk.loc, node, suppressions_in(blk), identity.get("root", ""))
    for r in (*cs, *ds):
        r.calls = identity.get("calls", ())
        r.exists_when = scope.exists_when
        r.opened = scope.opened
    return cs, ds


def lookup(scope: Scope, dtype: str, dname: str, blk: Block, root: str) -> KeyLookup | None:
    """A ``data.aws_kms_alias`` / ``data.aws_kms_key`` block: what it looks up."""
    if dtype not in TF_KEY_LOOKUPS:
        return None
    arg = "name" if dtype == "aws_kms_alias" else "key_id"
    kl = KeyLookup(f"{scope.prefix}data.{dtype}.{dname}", f"data.{dtype}", blk.loc, "terraform")
    kl.root = root
    a = blk.attrs.get(arg)
    if a is not None:
        v = scope.ev.attr(a, dict(scope.instance_env(blk)))
        if v is not None:
            kl.attrs["name"] = Attr(v, a.loc, True, a.text())
    return kl


def loc_of(blk: Block) -> Location:
    return blk.loc


__all__ = ["CONSUMER_FACTS", "extract", "lookup", "relevant_types"]
