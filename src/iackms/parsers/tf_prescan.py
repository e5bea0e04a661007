"""A byte-level look at Terraform directories before any parsing: which
module directories can hold KMS resources (themselves or through the local
modules they call), so that the others are never parsed. Decided per
directory, never per file. Skipped directories still get their cheap notes:
IKMS001 for a file that is not UTF-8 text, IKMS002 for remote modules."""

from __future__ import annotations

import os
import re
from pathlib import Path

from functools import lru_cache

from ..consumer_table import table
from ..context import ScanContext
from ..model import Location, Note
from .tf_module import MAX_MODULE_DEPTH, _config_files, is_local_source


#: a KMS resource or data source (`aws_kms_key`, `data "aws_kms_alias"`)
_KMS_RESOURCE = re.compile(rb"[\"\s]aws_kms_")
#: how a consumer can name a KMS key without a KMS resource of its own: an
#: alias name (`alias/aws/sns`, `"alias/app"`), a key or alias ARN (`:kms:`), a
#: multi-Region key ID (`mrk-`), or the S3 algorithm `aws:kms` (a default
#: encryption whose key is omitted uses `aws/s3`). A bare key ID (a UUID) is
#: not looked for: written alone it is rare, and matching every UUID costs more
#: than all the rest.
_KEY_SPELLINGS = (b"alias/", b"aws:kms", b":kms:", b"mrk-")
#: lines whose text is never a value (a variable's description, a comment)
_NOT_A_VALUE = (b"description", b"#", b"//", b"/*", b"*")


def names_a_key(data: bytes) -> bool:
    """The bytes write a KMS key in a form a consumer can use, outside a
    description or a comment (module variables describe `aws:kms` and
    `alias/aws/dynamodb` in prose)."""
    for token in _KEY_SPELLINGS:
        i = data.find(token)
        while i != -1:
            start = data.rfind(b"\n", 0, i) + 1
            if not data[start:i].lstrip().startswith(_NOT_A_VALUE):
                return True
            i = data.find(token, i + 1)
    return False


@lru_cache(maxsize=1)
def _stores() -> "re.Pattern[bytes]":
    """Any resource type the consumer table calls a data store."""
    stores = table().types("terraform", data_stores_only=True)
    return re.compile(rb"[\"\s](?:" + b"|".join(re.escape(t.encode()) for t in sorted(stores, key=len, reverse=True)) + rb")[\"\s]")


def worth_evaluating(data: bytes, data_stores: bool) -> bool:
    """What makes a directory worth evaluating: a KMS resource or data source,
    or a KMS key written in a form a consumer can name one (:func:`names_a_key`).
    A consumer whose key comes only from a variable or a remote module has
    nothing a rule can judge (every answer would be "unknown"), so its directory
    is evaluated only through a caller that passes a key. With ``data_stores``
    (a rule that reports stores without any key is on), also any data store type
    of the consumer table."""
    return bool(_KMS_RESOURCE.search(data)) or names_a_key(data) or (data_stores and bool(_stores().search(data)))


_MODULE = re.compile(rb'(?m)^[ \t]*module[ \t]+"([^"]+)"[ \t]*\{')
_SOURCE = re.compile(rb'(?m)^[ \t]*"?source"?[ \t]*[=:][ \t]*"([^"]*)"')
_JSON_MODULE = re.compile(rb'"module"\s*:')


class Prescan:
    def __init__(self, ctx: ScanContext) -> None:
        self.ctx = ctx
        self._files: dict[Path, list[tuple[Path, bytes]]] = {}
        self._kms: dict[Path, bool] = {}

    def files(self, d: Path) -> list[tuple[Path, bytes]]:
        if d not in self._files:
            out = []
            for p in _config_files(d):
                if os.path.islink(p) and not self.ctx.inside_roots(p):
                    continue  # never read out of the scan root (the loader skips it too)
                try:
                    if p.stat().st_size > self.ctx.max_file_size:
                        out.append((p, b" aws_kms_"))  # let the parser report the size limit
                        continue
                    out.append((p, self.ctx.read_bytes(p)))
                except OSError:
                    out.append((p, b" aws_kms_"))  # let the parser report it
            self._files[d] = out
        return self._files[d]

    def local_calls(self, d: Path) -> list[Path]:
        out = []
        for _, data in self.files(d):
            for m in _SOURCE.finditer(data):
                src = m.group(1).decode("utf-8", "replace")
                if is_local_source(src):
                    out.append(Path(os.path.normpath(os.path.join(str(d), src.replace("\\", "/")))))
        return out

    def has_kms(self, d: Path, stack: tuple[Path, ...] = ()) -> bool:
        """True when ``d`` or a local module it calls mentions a KMS resource.
        Errs on the side of parsing: anything unclear counts as True."""
        if d in self._kms:
            return self._kms[d]
        res = any(worth_evaluating(data, self.ctx.data_stores) for _, data in self.files(d))
        if not res and len(stack) <= MAX_MODULE_DEPTH:
            for t in self.local_calls(d):
                if t == d or t in stack:
                    continue
                if not self.ctx.inside_roots(t) or not t.is_dir() or self.has_kms(t, stack + (d,)):
                    res = True  # an unreadable module gets its note from the parser
                    break
        self._kms[d] = res
        return res

    def skipped_notes(self, d: Path) -> list[Note]:
        """The notes a skipped directory still deserves."""
        notes: list[Note] = []
        for p, data in self.files(d):
            rel = self.ctx.rel(p)
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as e:
                line = data.count(b"\n", 0, e.start) + 1
                notes.append(Note("IKMS001", f"{rel} is not valid UTF-8 (byte {e.start}, line {line}); it is not scanned", Location(rel, 1, 1, 1)))
                continue
            if p.name.endswith(".json") and not _JSON_MODULE.search(data):
                continue
            for m in _MODULE.finditer(data):
                name = m.group(1).decode("utf-8", "replace")
                body_start = m.end()
                nxt = _MODULE.search(data, body_start)
                body = data[body_start: nxt.start() if nxt else len(data)]
                s = _SOURCE.search(body)
                if not s:
                    continue
                src = s.group(1).decode("utf-8", "replace")
                if is_local_source(src):
                    continue
                line = data.count(b"\n", 0, m.start()) + 1
                loc = Location(rel, line, line, 1)
                notes.append(Note("IKMS002", f"module {name} uses remote source {src!r}; its keys are not scanned", loc, f"module.{name}", "module"))
        return notes

    def forget(self, d: Path) -> None:
        self._files.pop(d, None)
