"""A resource as a Checkov resource check is shown it, found in the files
iackms reads.

Checkov renders a resource its own way before a check sees it: an unquoted
YAML ``Version: 2012-10-17`` becomes a date, ``${}`` inside strings is
dropped, ``aws_kms_key_policy`` and ``data.aws_iam_policy_document`` are bare
reference strings, variables are rendered by Checkov's rules. No conversion of
those values can agree with ``iackms scan``, so iackms never reads them. This
module turns what Checkov tells a check into what iackms's own parsers read:
the paths ``iackms scan`` is given (Checkov's root folder, or the files of
``checkov -f``), the file declaring the resource, and the names iackms gives
the resource there. The Checkov front end (:mod:`iackms.checkov_adapter`)
has the engine scan those paths and answers from that resource's findings.

What Checkov 3 tells a check, and where:

- ``check.entity_path``: ``"/<file relative to the root folder>:<type>:<name>"``,
  set before ``scan_resource_conf`` is called;
- Terraform ``conf["__address__"]``: the instance address as Checkov writes it
  (``aws_kms_key.fe["a"]``, ``module.kms[0].aws_kms_key.this``); CloudFormation
  names a resource by its logical ID;
- the runner's ``run(root_folder, external_checks_dir, files, runner_filter, ...)``,
  Checkov's runner interface, is on the call stack of every check: with
  ``-d DIR`` its ``root_folder`` is the directory (the Terraform runner makes it
  absolute); with ``-f FILE`` its ``files`` are the files, and the entity path is
  relative to their common directory (Terraform) or to the current directory
  (CloudFormation, whose ``root_folder`` stays None).

Nothing here imports Checkov: the runner is recognised by its interface.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from types import FrameType
from typing import Any, Mapping

TERRAFORM = "terraform"
CLOUDFORMATION = "cloudformation"

#: an instance key in an address: ``[0]``, ``["a"]`` (a quoted key may hold ``]``)
_INDEX = re.compile(r'\[(?:"(?:[^"\\]|\\.)*"|[^\]"]*)\]')
#: more instance keys than this in one address: only the address and the block address
_MAX_INDEXES = 6


@dataclass(frozen=True)
class RunnerScope:
    """What the Checkov runner running a check was asked to scan."""

    check_type: str
    root_folder: str | None
    files: tuple[str, ...]

    @property
    def paths(self) -> tuple[str, ...]:
        """What `iackms scan` is given for this run: the files of `checkov -f`,
        else the root folder of `checkov -d` (none when there is neither)."""
        return self.files or ((self.root_folder,) if self.root_folder else ())


@dataclass(frozen=True)
class Located:
    """A Checkov resource in iackms's terms."""

    #: what `iackms scan` is given: Checkov's root folder, or its `-f` files
    paths: tuple[str, ...]
    #: the file declaring the resource (absolute, links resolved)
    file: str
    #: the names iackms may report the resource under (see :func:`instance_names`)
    names: frozenset[str]


def runner_scope(frame: FrameType | None = None) -> RunnerScope | None:
    """The nearest Checkov runner ``run()`` on the call stack above ``frame``
    (default: the caller), or None when there is none."""
    f = frame if frame is not None else sys._getframe(1)
    while f is not None:
        here = f.f_locals
        runner = here.get("self")
        check_type = getattr(runner, "check_type", None)
        if isinstance(check_type, str) and "root_folder" in here and "files" in here:
            root, files = here["root_folder"], here["files"]
            if root is not None and not isinstance(root, str):
                return None
            if files is not None and not (isinstance(files, (list, tuple)) and all(isinstance(x, str) for x in files)):
                return None
            return RunnerScope(check_type, root, tuple(files or ()))
        f = f.f_back
    return None


def instance_names(address: str) -> frozenset[str]:
    """The names iackms may report a Terraform instance under: the instance
    address as Checkov writes it, and the address with some or all instance
    keys removed (a finding that holds for every instance of a block names the
    block: ``module.kms.aws_kms_key.this`` stands for ``module.kms[0].aws_kms_key.this``
    and ``module.kms[1].aws_kms_key.this``)."""
    keys = list(_INDEX.finditer(address))
    if len(keys) > _MAX_INDEXES:
        return frozenset({address, _INDEX.sub("", address)})
    names = set()
    for mask in range(1 << len(keys)):
        out, last = [], 0
        for i, m in enumerate(keys):
            out.append(address[last : m.start()])
            if mask & (1 << i):
                out.append(m.group(0))
            last = m.end()
        out.append(address[last:])
        names.add("".join(out))
    return frozenset(names)


def locate(framework: str, entity_path: str, entity_type: str, conf: Mapping[str, Any], scope: RunnerScope) -> Located | None:
    """Where the resource a check is shown is written, and what iackms scans
    and calls it; None when that cannot be worked out."""
    sep = f":{entity_type}:"
    cut = entity_path.find(sep)
    if cut < 0:
        return None
    scanned_file = entity_path[:cut].lstrip("/" + os.sep)
    name = entity_path[cut + len(sep):]
    if framework == TERRAFORM:
        address = conf.get("__address__")
        if not isinstance(address, str) or not address:
            return None
        names = instance_names(address)
    elif framework == CLOUDFORMATION:
        if not name:
            return None
        names = frozenset({name})
    else:
        return None
    base = os.path.abspath(scope.root_folder or os.curdir)
    path = os.path.realpath(os.path.join(base, scanned_file))
    if not os.path.isfile(path):
        return None
    if not scope.paths:
        return None
    return Located(scope.paths, path, names)
