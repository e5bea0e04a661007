"""What iackms knows of AWS resources when it meets a reference to one:
the KMS resource types (whose references link aliases, grants and policies
to their key), the ARNs of IAM roles and users defined in the module, the
caller's account and partition, and ``data.aws_iam_policy_document``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..consumer_table import table
from ..model import OPAQUE_CLOSE, OPAQUE_OPEN, THIS_ACCOUNT, Unknown, unknown_piece
from ..vocab import TF_KEY_LOOKUPS, TF_KMS_TYPES, TF_PRINCIPAL_TYPES
from .tf_policydoc import convert_document
from .tf_values import err

if TYPE_CHECKING:
    from .tf_scope import Scope

#: resource types whose references stay linked to the resource (Unknown.ref):
#: the KMS resources, and the resources of the consumer table (a log group's key,
#: an alarm's topic)
LINKABLE = TF_KMS_TYPES | table().types("terraform")
#: resource types whose ARN is built from their name and path
IAM_PRINCIPALS = TF_PRINCIPAL_TYPES


def data_ref(scope: "Scope", dtype: str, dname: str, attr: str | None, expr: str) -> Any:
    """The value of ``data.<dtype>.<dname>.<attr>`` (``expr`` as written)."""
    if dtype == "aws_caller_identity" and attr == "account_id":
        return THIS_ACCOUNT
    if dtype == "aws_caller_identity" and attr == "arn":
        # whoever runs Terraform: a principal of this account, of a kind known only at apply
        return f"arn:aws:iam::{THIS_ACCOUNT}:" + unknown_piece(expr)
    if dtype == "aws_partition" and attr == "partition":
        return "aws"
    if dtype == "aws_partition" and attr == "dns_suffix":
        return "amazonaws.com"
    if dtype == "aws_region" and attr in ("name", "region", "id"):
        return f"{OPAQUE_OPEN}data.aws_region.{dname}.{attr}{OPAQUE_CLOSE}"
    if dtype == "aws_iam_policy_document" and attr in ("json", "minified_json"):
        return policy_doc(scope, dname, expr)
    if dtype in TF_KEY_LOOKUPS and (dtype, dname) in scope.mod.data:
        # a key looked up by name: the linker tells an AWS managed key (alias/aws/...) from the rest
        return Unknown(expr, ref=f"{scope.prefix}data.{dtype}.{dname}", attr=attr)
    return Unknown(expr)


def resource_ref(scope: "Scope", rtype: str, rname: str, attr: str | None, expr: str, indexed: bool) -> Any:
    """The value of ``<rtype>.<rname>[...].<attr>``: a KMS resource of the
    scan is an Unknown that refers to it; a role's or user's ARN and name
    are built from its arguments; anything else is Unknown."""
    blk = scope.mod.resources.get((rtype, rname))
    if blk is None:
        return Unknown(expr)
    if indexed and scope.absent(blk):
        return err(expr)  # an instance of a resource with no instances
    if rtype in LINKABLE:
        return Unknown(expr, ref=f"{scope.prefix}{rtype}.{rname}", attr=attr)
    if rtype in IAM_PRINCIPALS:
        if attr == "arn":
            return principal_arn(scope, rtype, rname)
        if attr in ("name", "id"):
            v = principal_name(scope, rtype, rname, "name")
            return v if isinstance(v, str) else Unknown(expr)
    return Unknown(expr)


def principal_name(scope: "Scope", rtype: str, rname: str, attr: str) -> Any:
    """``name`` / ``path`` of an aws_iam_role or aws_iam_user defined in the
    module (None when unknown)."""

    def compute() -> Any:
        blk = scope.mod.resources.get((rtype, rname))
        if blk is None:
            return None
        if attr in blk.attrs:
            return scope.ev.attr(blk.attrs[attr], {})
        return "/" if attr == "path" else None

    return scope.once("principal", (rtype, rname, attr), compute, lambda: None)


def principal_arn(scope: "Scope", rtype: str, rname: str) -> str:
    """The ARN of an aws_iam_role or aws_iam_user defined in the module (its
    unknown name or path marked as such)."""
    kind = "role" if rtype == "aws_iam_role" else "user"
    name = principal_name(scope, rtype, rname, "name")
    if not isinstance(name, str):
        name = unknown_piece(f"{rtype}.{rname}.name")
    path = principal_name(scope, rtype, rname, "path")
    if not isinstance(path, str):
        path = unknown_piece(f"{rtype}.{rname}.path")
    return f"arn:aws:iam::{THIS_ACCOUNT}:{kind}{path}{name}"


def policy_doc(scope: "Scope", name: str, expr: str) -> Any:
    """``data.aws_iam_policy_document.<name>.json``: the document as a policy
    structure (see :mod:`.tf_policydoc`)."""
    blk = scope.mod.data.get(("aws_iam_policy_document", name))
    if blk is None:
        return err(expr)
    return scope.once("policy_doc", name, lambda: convert_document(blk, scope.ev, expr), lambda: Unknown(expr, "cycle"))
