"""CloudFormation (and SAM) templates, YAML or JSON, to the common model.

:func:`sniff` is a cheap byte test; :func:`parse_file` returns a
:class:`~iackms.model.ScanUnit` for a template, None for anything else, and
never raises: unreadable templates give one IKMS001 note.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .. import cfnyaml, jsonload
from ..context import ScanContext
from ..model import LDict, Location, Note, ScanUnit
from . import cfn_rain
from .cfn_resources import build_unit, key_from_resource
from .cfn_foreach import expand_resources
from .cfn_intrinsics import Template

_SNIFF_RE = re.compile(
    rb"AWSTemplateFormatVersion"
    rb"|[\"']?\bType[\"']?[ \t]*:[ \t]*[\"']?(?:AWS|Alexa|Custom)::"
    rb"|[\"']?\bTransform[\"']?[ \t]*:[ \t\[\-\n]*[\"']?AWS::Serverless"
)
#: stricter than the sniff: decides whether an unreadable file is reported
#: (IKMS001), so the marker must look like a template key, not text in a string
_MARKER_RE = re.compile(
    r"^[ \t]*[\"']?AWSTemplateFormatVersion[\"']?[ \t]*:"
    r"|\"AWSTemplateFormatVersion\"\s*:"
    r"|^[ \t]*(?:-[ \t]+)?[\"']?Type[\"']?[ \t]*:[ \t]*[\"']?AWS::"
    r"|[{,][ \t]*[\"']?Type[\"']?[ \t]*:[ \t]*[\"']?AWS::"
    r"|^[ \t]*[\"']?Transform[\"']?[ \t]*:[ \t\[\-\n]*[\"']?AWS::Serverless",
    re.M,
)
_TEMPLATE_TYPE_PREFIXES = ("AWS::", "Alexa::", "Custom::")


def sniff(data: bytes) -> bool:
    """Could these bytes be a CloudFormation template?"""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = _decode(data)[0]
        return text is not None and _SNIFF_RE.search(text.encode("utf-8", "replace")) is not None
    return _SNIFF_RE.search(data) is not None


def _decode(data: bytes) -> tuple[str | None, int]:
    """The text, or None and the 1-based line of the first bad byte."""
    try:
        if data[:3] == b"\xef\xbb\xbf":
            return data[3:].decode("utf-8"), 0
        if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
            return data.decode("utf-32"), 0
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return data.decode("utf-16"), 0
        return data.decode("utf-8"), 0
    except UnicodeDecodeError as e:
        return None, data.count(b"\n", 0, e.start) + 1


def _has_marker(text: str) -> bool:
    return _MARKER_RE.search(text) is not None


def parse_file(path: Path, data: bytes, ctx: ScanContext) -> ScanUnit | None:
    """The KMS resources of one CloudFormation template; None when the file
    is not a template. Never raises."""
    try:
        file = ctx.rel(path)
    except Exception:  # pragma: no cover - defensive
        file = str(path)
    try:
        return _parse(path, data, file, ctx)
    except RecursionError:
        return _error_unit(file, "template nested too deeply to analyse", 1, 1) if _raw_marker(data) else None
    except Exception as e:  # never raise: an internal problem is reported, not fatal
        if not _raw_marker(data):
            return None
        return _error_unit(file, f"could not analyse the template ({type(e).__name__}: {e})", 1, 1)


def _raw_marker(data: bytes) -> bool:
    try:
        text = _decode(data)[0]
        if text is None:
            text = data.decode("utf-8", "replace")
        return _has_marker(text)
    except Exception:  # pragma: no cover
        return False


def _error_unit(file: str, message: str, line: int, column: int) -> ScanUnit:
    return ScanUnit(notes=[Note("IKMS001", message, Location(file, line, line, column))])


def _within(text: str, line: int, column: int) -> tuple[int, int]:
    """An error position inside the file: the parsers report an error at the
    end of the input on the line after the last one; point at the end of the
    last line that holds something instead."""
    lines = text.split("\n")
    if line < 1:
        return 1, max(column, 1)
    if line <= len(lines) and (line < len(lines) or lines[-1].strip()):
        return line, column
    last = len(lines)
    while last > 1 and not lines[last - 1].strip():
        last -= 1
    return last, len(lines[last - 1].rstrip("\r")) + 1


def load_template(text: str, file: str, is_json: bool, duplicates: list) -> Any:
    """Parse a template's text. Raises cfnyaml.YamlError / jsonload.JsonError /
    cfnyaml.MultipleDocuments."""
    if is_json:
        return jsonload.load(text, file, duplicates=duplicates)
    if text.lstrip()[:1] == "{":
        try:
            return jsonload.load(text, file, duplicates=duplicates)
        except jsonload.JsonError as je:
            del duplicates[:]
            try:
                return cfnyaml.load(text, file, duplicates)
            except cfnyaml.YamlError:
                raise je from None
    return cfnyaml.load(text, file, duplicates)


def is_template(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    if "AWSTemplateFormatVersion" in data:
        return True
    res = data.get("Resources")
    if isinstance(res, dict):
        for r in res.values():
            if isinstance(r, dict):
                t = r.get("Type")
                if isinstance(t, str) and t.startswith(_TEMPLATE_TYPE_PREFIXES):
                    return True
    tr = data.get("Transform")
    trs = tr if isinstance(tr, list) else [tr]
    # AWS::Serverless-..., AWS::LanguageExtensions (a template of Fn::ForEach loops)
    return isinstance(res, dict) and any(isinstance(t, str) and t.startswith("AWS::") for t in trs)


def _parse(path: Path, data: bytes, file: str, ctx: ScanContext | None = None) -> ScanUnit | None:
    text, bad_line = _decode(data)
    if text is None:
        if not _raw_marker(data):
            return None
        return _error_unit(file, f"the file is not valid UTF-8 (first bad byte on line {bad_line})", 1, 1)
    if "AWSTemplateFormatVersion" not in text and "::" not in text:
        return None
    is_json = path.suffix.lower() == ".json"
    duplicates: list = []
    try:
        tpl_data = load_template(text, file, is_json, duplicates)
    except cfnyaml.MultipleDocuments:
        return None
    except (cfnyaml.YamlError, jsonload.JsonError) as e:
        if not _has_marker(text):
            return None
        return _error_unit(file, e.message, *_within(text, e.line, e.column))
    if not is_template(tpl_data):
        return None
    assert isinstance(tpl_data, dict)
    unit = ScanUnit()
    for key, loc in duplicates:
        unit.notes.append(Note("IKMS002", f"duplicate key {key!r}: the later value is used", loc))
    texts: dict[str, tuple[str, bool]] = {file: (text, is_json)}
    origins: dict[str, Location] = {}
    if ctx is not None and isinstance(tpl_data, LDict):
        cfn_rain.expand(tpl_data, path, ctx, unit, texts, origins=origins)  # Rain modules: their resources become the template's
    tpl = Template.from_data(tpl_data)
    tpl.resources = expand_resources(tpl.resources, tpl, file, unit)
    build_unit(tpl_data if isinstance(tpl_data, LDict) else LDict(tpl_data), tpl, file, text, is_json, unit, texts, origins)
    return unit


__all__ = ["is_template", "key_from_resource", "load_template", "parse_file", "sniff"]
