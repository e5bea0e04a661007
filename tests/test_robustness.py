"""Hostile, broken and huge inputs (issue #8): never a traceback, one IKMS001
at most per broken file, and the findings of every other file unchanged.

Each input case runs the real CLI (``python -m iackms scan --format json``)
in a subprocess on a tree holding the hostile file(s) under ``h/`` and, under
``good/``, a Terraform and a CloudFormation key with known findings. The
safety guarantees (nothing executed, nothing read outside the root, no
network, no subprocess, nothing written but ``--output``) are checked
in-process where a spy is needed. See docs/security.md.
"""

from __future__ import annotations

import builtins
import json
import os
import pathlib
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from iackms import cfnyaml, cli, engine, jsonload
from iackms.config import Config

BAD_TF = 'resource "aws_kms_key" "bad" {\n  enable_key_rotation = false\n}\n'
BAD_CFN = 'AWSTemplateFormatVersion: "2010-09-09"\nResources:\n  Bad:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: false\n'
#: what good/ gives on its own: (rule, file, line)
GOOD = [
    ("IKMS101", "good/main.tf", 2),
    ("IKMS101", "good/t.yaml", 6),
    ("IKMS201", "good/main.tf", 1),
    ("IKMS201", "good/t.yaml", 3),
]
HDR = 'AWSTemplateFormatVersion: "2010-09-09"\n'
KEY_TF = 'resource "aws_kms_key" "h" {\n  enable_key_rotation = true\n}\n'
KEY_CFN = HDR + "Resources:\n  H:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: true\n"

def make_tree(root: Path, files: dict[str, Any]) -> Path:
    (root / "good").mkdir(parents=True)
    (root / "good" / "main.tf").write_text(BAD_TF)
    (root / "good" / "t.yaml").write_text(BAD_CFN)
    for name, data in files.items():
        p = root / "h" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if callable(data):
            data(p)
        else:
            p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return root


def _limits(address_space: int | None) -> Callable[[], None] | None:
    if address_space is None:
        return None

    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    return apply


def cli_scan(root: Path, *args: str, timeout: float = 120, address_space: int | None = None) -> tuple[int, dict, str]:
    """Run the CLI in ``root``; (exit code, JSON report, stderr)."""
    r = subprocess.run(
        [sys.executable, "-m", "iackms", "scan", "--format", "json", *args, "."],
        cwd=root, capture_output=True, text=True, timeout=timeout, preexec_fn=_limits(address_space),
    )
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode in (0, 1), (r.returncode, r.stderr)
    return r.returncode, json.loads(r.stdout), r.stderr


def check(tmp_path: Path, files: dict[str, Any], *args: str, **kw: Any) -> list[dict]:
    """The common assertions; returns the findings outside good/."""
    make_tree(tmp_path, files)
    rc, rep, _ = cli_scan(tmp_path, *args, **kw)
    assert rc == 1  # good/ has medium findings; --fail-on defaults to low
    good = sorted((f["rule_id"], f["file"], f["line"]) for f in rep["findings"] if f["file"].startswith("good/"))
    assert good == GOOD
    others = [f for f in rep["findings"] if not f["file"].startswith("good/")]
    per_file: dict[str, int] = {}
    for f in others:
        if f["rule_id"] == "IKMS001":
            per_file[f["file"]] = per_file.get(f["file"], 0) + 1
            assert f["message"].strip() and "Traceback" not in f["message"]
    assert all(n == 1 for n in per_file.values()), per_file
    return others


def ikms001(findings: list[dict]) -> list[tuple[str, int]]:
    return sorted((f["file"], f["line"]) for f in findings if f["rule_id"] == "IKMS001")


def rules(findings: list[dict], file: str) -> set[str]:
    return {f["rule_id"] for f in findings if f["file"] == file}


# --- encodings and odd bytes ---------------------------------------------------------


def test_invalid_utf8(tmp_path):
    out = check(tmp_path, {
        "x.tf": b'resource "aws_kms_key" "h" {\n  description = "\xff\xfe"\n}\n',
        "x.yaml": KEY_CFN.encode() + b"      Description: \xff\n",
    })
    assert ikms001(out) == [("h/x.tf", 1), ("h/x.yaml", 1)]
    msgs = {f["file"]: f["message"] for f in out}
    assert "not valid UTF-8" in msgs["h/x.tf"] and "line 2" in msgs["h/x.tf"]
    assert "not valid UTF-8" in msgs["h/x.yaml"] and "line 7" in msgs["h/x.yaml"]


@pytest.mark.parametrize("transform", [
    pytest.param(lambda s: b"\xef\xbb\xbf" + s.encode(), id="bom"),
    pytest.param(lambda s: s.replace("\n", "\r\n").encode(), id="crlf"),
])
def test_bom_and_crlf_are_read(tmp_path, transform):
    out = check(tmp_path, {"x.tf": transform(KEY_TF), "x.yaml": transform(KEY_CFN)})
    assert ikms001(out) == []
    assert rules(out, "h/x.tf") == {"IKMS201"} and rules(out, "h/x.yaml") == {"IKMS201"}
    assert [f["line"] for f in out if f["file"] == "h/x.yaml"] == [3]


def test_utf16(tmp_path):
    out = check(tmp_path, {"x.yaml": KEY_CFN.encode("utf-16"), "x.tf": KEY_TF.encode("utf-16")})
    assert rules(out, "h/x.yaml") == {"IKMS201"}  # CloudFormation reads UTF-16 templates
    assert ikms001(out) == [("h/x.tf", 1)]  # Terraform does not: reported, not a crash


def test_tabs(tmp_path):
    out = check(tmp_path, {"x.tf": KEY_TF.replace("  ", "\t"), "x.yaml": KEY_CFN.replace("      ", "\t\t")})
    assert rules(out, "h/x.tf") == {"IKMS201"}  # tabs are whitespace in HCL
    assert ikms001(out) == [("h/x.yaml", 6)]  # and not indentation in YAML


def test_empty_files(tmp_path):
    names = ["x.tf", "x.tf.json", "x.yaml", "x.yml", "x.json", "x.template", "terraform.tfvars"]
    out = check(tmp_path, {n: b"" for n in names})
    assert out == []


def test_binary_data(tmp_path):
    rnd = bytes(range(256)) * 40
    out = check(tmp_path, {
        "x.tf": rnd, "y.tf.json": rnd, "x.yaml": rnd, "x.json": rnd,
        "m.yaml": b"AWSTemplateFormatVersion: x\n" + rnd,  # looks like a template, then is not
        "k.tf": b'resource "aws_kms_key" "a" {\n' + rnd,
        "nul.tf": b"\0" * 5000, "nul.yaml": b"\0" * 5000,
    })
    assert {f for f, _ in ikms001(out)} <= {"h/x.tf", "h/y.tf.json", "h/m.yaml", "h/k.tf", "h/nul.tf"}
    assert "h/m.yaml" in {f for f, _ in ikms001(out)} and "h/k.tf" in {f for f, _ in ikms001(out)}


def test_directory_named_like_a_file(tmp_path):
    out = check(tmp_path, {"x.tf/main.tf": KEY_TF, "y.yaml/readme": "hi", "z.json/a.txt": "x"})
    assert ikms001(out) == [] and rules(out, "h/x.tf/main.tf") == {"IKMS201"}


# --- the file system -----------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads chmod 000 files; see the simulated test below")
def test_unreadable_files_chmod(tmp_path):
    def unreadable(text: str) -> Callable[[Path], None]:
        def make(p: Path) -> None:
            p.write_text(text)
            p.chmod(0)
        return make

    try:
        out = check(tmp_path, {"x.tf": unreadable(KEY_TF), "cfn-template.yaml": unreadable(KEY_CFN), "t.yaml": unreadable(KEY_CFN)})
    finally:
        for p in (tmp_path / "h").iterdir():
            p.chmod(0o644)
    assert ikms001(out) == [("h/cfn-template.yaml", 1), ("h/x.tf", 1)]


def test_unreadable_files_simulated(tmp_path, monkeypatch):
    """Reads of h/* fail with EACCES (as chmod 000 does for non-root)."""
    make_tree(tmp_path, {"x.tf": KEY_TF, "cfn-template.yaml": KEY_CFN, "t.yaml": KEY_CFN})
    denied = str(tmp_path / "h") + os.sep

    def deny(path: Any) -> None:
        if isinstance(path, (str, os.PathLike)) and os.path.abspath(os.fspath(path)).startswith(denied):
            raise PermissionError(13, "Permission denied", os.fspath(path))

    real_open, real_read_bytes = builtins.open, pathlib.Path.read_bytes

    def fake_open(file: Any, *a: Any, **k: Any) -> Any:
        deny(file)
        return real_open(file, *a, **k)

    def fake_read_bytes(self: Path) -> bytes:
        deny(self)
        return real_read_bytes(self)

    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(pathlib.Path, "read_bytes", fake_read_bytes)
    rep = engine.scan([str(tmp_path)], Config(), cwd=tmp_path)
    good = sorted((f.rule_id, f.file, f.line) for f in rep.findings if f.file.startswith("good/"))
    assert good == GOOD
    bad = sorted((f.rule_id, f.file, f.line) for f in rep.findings if f.file.startswith("h/"))
    # a .tf is always reported; a .yaml only when its name says it is a template
    assert bad == [("IKMS001", "h/cfn-template.yaml", 1), ("IKMS001", "h/x.tf", 1)]
    assert all("Permission denied" in f.message for f in rep.findings if f.rule_id == "IKMS001")


def test_symlink_loops(tmp_path):
    out = check(tmp_path, {
        "sub/up": lambda p: os.symlink("..", p),
        "sub/self": lambda p: os.symlink(".", p),
        "self.tf": lambda p: os.symlink("self.tf", p),
        "a.yaml": lambda p: os.symlink("b.yaml", p),
        "b.yaml": lambda p: os.symlink("a.yaml", p),
        "real.tf": KEY_TF,
    })
    assert ikms001(out) == [] and rules(out, "h/real.tf") == {"IKMS201"}


def test_deeply_nested_directories(tmp_path):
    """Discovery does not recurse per directory level (os.walk did before
    Python 3.12: ~1000 levels lost the whole scan). Shown in-process with
    the recursion limit ~300 frames above the current depth and a tree 400
    directories deep, which is much faster than 1000+ real levels."""
    make_tree(tmp_path, {})
    d = tmp_path / "h"
    d.mkdir()
    cwd = os.getcwd()
    try:
        os.chdir(d)
        for _ in range(400):
            os.mkdir("d")
            os.chdir("d")
        Path("deep.tf").write_text(KEY_TF.replace("true", "false"))
    finally:
        os.chdir(cwd)
    depth = 0
    f = sys._getframe()
    while f is not None:
        depth, f = depth + 1, f.f_back
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 300)
    try:
        rep = engine.scan([str(tmp_path)], Config(), cwd=tmp_path)
    finally:
        sys.setrecursionlimit(old)
    assert sorted((f.rule_id, f.file, f.line) for f in rep.findings if f.file.startswith("good/")) == GOOD
    deep = [f for f in rep.findings if f.file.startswith("h/")]
    assert {f.rule_id for f in deep} == {"IKMS101", "IKMS201"} and deep[0].file.count("/") == 401


@pytest.fixture
def outside(tmp_path_factory):
    """A directory outside the scan root with a bad key, a bad policy and a tfvars."""
    d = tmp_path_factory.mktemp("outside")
    (d / "evil.tf").write_text('resource "aws_kms_key" "evil" {\n  enable_key_rotation = false\n}\n')
    (d / "evil.yaml").write_text(BAD_CFN.replace("Bad:", "Evil:"))
    (d / "terraform.tfvars").write_text("rot = false\n")
    (d / "pol.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}]}))
    (d / "sub").mkdir()
    (d / "sub" / "e.tf").write_text('resource "aws_kms_key" "evil2" {\n  enable_key_rotation = false\n}\n')
    return d


def test_symlinks_out_of_the_root_are_not_followed(tmp_path, outside):
    out = check(tmp_path, {
        "real.tf": 'variable "rot" {\n  default = true\n}\nresource "aws_kms_key" "h" {\n  enable_key_rotation = var.rot\n}\n',
        "l.tf": lambda p: os.symlink(outside / "evil.tf", p),  # next to a real .tf: same module
        "terraform.tfvars": lambda p: os.symlink(outside / "terraform.tfvars", p),
        "l.yaml": lambda p: os.symlink(outside / "evil.yaml", p),
        "ldir": lambda p: os.symlink(outside, p),
        "lsub": lambda p: os.symlink(outside / "sub", p),
        "dangling.tf": lambda p: os.symlink("/nonexistent/x.tf", p),
    })
    assert not any("evil" in f["resource"].lower() or "evil" in f["message"].lower() for f in out)
    assert [(f["rule_id"], f["file"]) for f in out] == [("IKMS201", "h/real.tf")]  # var.rot stays true


def test_file_and_templatefile_outside_the_root_are_never_read(tmp_path, outside, monkeypatch):
    tf = "".join(
        f'resource "aws_kms_key" "f{i}" {{\n  enable_key_rotation = true\n  policy = {expr}\n}}\n'
        for i, expr in enumerate([
            f'file("{outside / "pol.json"}")',
            'file("../../secret")',
            f'file("${{path.module}}/../../{outside.name}/pol.json")',
            f'templatefile("{outside / "pol.json"}", {{}})',
            'file("/etc/passwd")',
            'file("${path.module}/link.json")',
        ])
    )
    make_tree(tmp_path, {"f.tf": tf, "link.json": lambda p: os.symlink(outside / "pol.json", p)})
    opened: list[str] = []
    real_open, real_read_bytes = builtins.open, pathlib.Path.read_bytes

    def spy_open(file: Any, *a: Any, **k: Any) -> Any:
        if isinstance(file, (str, os.PathLike)):
            opened.append(os.path.realpath(os.fspath(file)))
        return real_open(file, *a, **k)

    def spy_read_bytes(self: Path) -> bytes:
        opened.append(os.path.realpath(self))
        return real_read_bytes(self)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(pathlib.Path, "read_bytes", spy_read_bytes)
    rep = engine.scan([str(tmp_path)], Config(), cwd=tmp_path)
    assert not [p for p in opened if p.startswith(str(outside)) or p in ("/etc/passwd",)]
    h = [f for f in rep.findings if f.file == "h/f.tf"]
    # every policy is unknown: one IKMS002 per key, no policy finding, no error
    assert sorted((f.rule_id, f.resource) for f in h) == [("IKMS002", f"aws_kms_key.f{i}") for i in range(6)]
    assert all("cannot be resolved statically" in f.message for f in h)


# --- limits ------------------------------------------------------------------------------


def test_yaml_alias_bomb(tmp_path):
    lines = [HDR.rstrip(), "Metadata:", "  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 12)]
    out = check(tmp_path, {"bomb.yaml": "\n".join(lines) + "\nResources:\n  K:\n    Type: AWS::KMS::Key\n"}, timeout=60)
    ((f, line),) = ikms001(out)
    assert f == "h/bomb.yaml" and 3 < line <= 14
    assert "alias expansion limit" in out[0]["message"]


N = 10_000


YAML_TOO_DEEP = cfnyaml.too_deep_message(cfnyaml.MAX_DEPTH)
JSON_TOO_DEEP = jsonload.too_deep_message(jsonload.MAX_DEPTH)


# (name, text, the lines of the nested region, words the message holds).
# Which parser stops the document, and so the exact line, depends on the library
# release (libyaml 0.2.6 in PyYAML 6.0.4 has a depth limit of its own, older
# releases do not; orjson stops at 1024 levels, tree-sitter-json is read to 512):
# the finding must be one IKMS001 inside the nested region, in our words.
@pytest.mark.parametrize("name,text,lines,words", [
    ("flow.yaml", HDR + "Metadata:\n  x: " + "[" * N + "]" * N + "\nResources: {}\n", (3, 3), YAML_TOO_DEEP),
    ("block.yaml", HDR + "Metadata:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(N)), (3, N + 2), YAML_TOO_DEEP),
    ("deep.json", '{"AWSTemplateFormatVersion": "2010-09-09", "Metadata": ' + "[" * N + "]" * N + "}", (1, 1), JSON_TOO_DEEP),
    ("deep.tf.json", '{"resource": {"aws_kms_key": {"n": {"description": ' + "[" * N + "]" * N + "}}}}", (1, 1), JSON_TOO_DEEP),
    ("list.tf", 'resource "aws_kms_key" "n" {\n  description = ' + "[" * N + "]" * N + "\n}\n", (2, 2), "nested too deeply"),
    ("obj.tf", 'resource "aws_kms_key" "n" {\n  tags = ' + "{a = " * N + "1" + "}" * N + "\n}\n", (2, 2), "nested too deeply"),
    ("paren.tf", 'resource "aws_kms_key" "n" {\n  description = ' + "(" * N + "1" + ")" * N + "\n}\n", (2, 2), "nested too deeply"),
])
def test_10000_levels_of_nesting(tmp_path, name, text, lines, words):
    out = check(tmp_path, {name: text}, timeout=60)  # no traceback, good/ still scanned
    ((file, line),) = ikms001(out)
    assert file == f"h/{name}" and lines[0] <= line <= lines[1]
    assert words in next(f["message"] for f in out if f["rule_id"] == "IKMS001")


@pytest.mark.parametrize("name,text", [
    ("million.json", '{"AWSTemplateFormatVersion": "2010-09-09", "Metadata": ' + "[" * 1_000_000 + "]" * 1_000_000 + "}"),
    ("million.tf.json", '{"resource": {"aws_kms_key": {"n": {"description": ' + "[" * 1_000_000 + "]" * 1_000_000 + "}}}}"),
])
def test_a_million_levels_of_json(tmp_path, name, text):
    """orjson before 3.9.15 has no depth limit and crashes the process on
    this (CVE-2024-27454): the floor in pyproject.toml keeps it out."""
    out = check(tmp_path, {name: text}, timeout=60)
    assert ikms001(out) == [(f"h/{name}", 1)]
    assert JSON_TOO_DEEP in next(f["message"] for f in out if f["rule_id"] == "IKMS001")


def test_deep_but_within_limits_is_scanned(tmp_path):
    """700 levels: within the YAML limit (1000), beyond the intrinsic
    resolution depth; the key is still checked."""
    n = 700
    text = KEY_CFN.replace("true", "false") + "      Tags: " + "[" * n + "]" * n + "\n"
    out = check(tmp_path, {"deep.yaml": text})
    assert ikms001(out) == [] and rules(out, "h/deep.yaml") == {"IKMS101", "IKMS201"}


GiB = 1024**3


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and the HCL memory budget are measured on Linux")
def test_50mb_files_bounded(tmp_path):
    """50 MB of YAML is scanned; 50 MB of HCL stops at the parser's memory
    budget (it would take ~30 GB) with an IKMS001 at the line reached."""
    big_yaml = KEY_CFN + "Metadata:\n  Big:\n" + f"    - {'x' * 200}\n" * (50 * 1024 * 1024 // 207)
    big_tf = KEY_TF + "\n" * (50 * 1024 * 1024)
    out = check(tmp_path, {"big.yaml": big_yaml, "big.tf": big_tf}, timeout=120, address_space=4 * GiB)
    assert rules(out, "h/big.yaml") == {"IKMS201"}
    ((f, line),) = ikms001(out)
    assert f == "h/big.tf" and line > 1
    assert "memory limit" in next(x["message"] for x in out if x["rule_id"] == "IKMS001")


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS")
def test_million_element_lists_bounded(tmp_path):
    million = ", ".join(["1"] * 1_000_000)
    out = check(tmp_path, {
        "m.yaml": KEY_CFN + f"Metadata:\n  M: [{million}]\n",
        "m.json": '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"H": {"Type": "AWS::KMS::Key"}}, '
                  f'"Metadata": {{"M": [{million}]}}}}',
        "tf/m.tf": f"locals {{\n  big = [{million}]\n}}\n" + KEY_TF,
    }, timeout=120, address_space=4 * GiB)
    assert ikms001(out) == []
    assert rules(out, "h/m.yaml") == {"IKMS201"} and rules(out, "h/tf/m.tf") == {"IKMS201"}
    assert rules(out, "h/m.json") == {"IKMS101", "IKMS201"}


def test_max_file_size(tmp_path):
    pad = "#" + "x" * 3000 + "\n"
    out = check(tmp_path, {
        "big.yaml": KEY_CFN + pad,
        "big.tf": KEY_TF + pad,
        "plan.json": '{"format_version": "1.2", "resource_changes": [], "x": "' + "a" * 3000 + '"}',
        "other.yaml": "name: not a template\n" + pad,  # not a template: nothing to say
        "small.yaml": KEY_CFN,  # within the limit: simply scanned
    }, "--max-file-size", "2KB")
    assert ikms001(out) == [("h/big.tf", 1), ("h/big.yaml", 1), ("h/plan.json", 1)]
    for f in out:
        if f["rule_id"] == "IKMS001":
            assert "over the --max-file-size limit of 2 KB" in f["message"] and "not scanned" in f["message"]
    assert rules(out, "h/small.yaml") == {"IKMS201"}


def test_max_file_size_usage_errors(tmp_path):
    make_tree(tmp_path, {})
    for bad in ("0", "-1", "lots"):
        r = subprocess.run([sys.executable, "-m", "iackms", "scan", "--max-file-size", bad, "."], cwd=tmp_path, capture_output=True, text=True)
        assert r.returncode == 2 and "Traceback" not in r.stderr and "--max-file-size" in r.stderr


# --- YAML and JSON semantics ---------------------------------------------------------------


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system", "!!python/object/new:os.system", "!!python/name:os.system"])
def test_python_tags_never_executed(tmp_path, tag):
    marker = tmp_path / "pwned"
    text = HDR + f'Metadata:\n  X: {tag} ["touch {marker}"]\nResources:\n  H:\n    Type: AWS::KMS::Key\n'
    out = check(tmp_path, {"p.yaml": text})
    assert not marker.exists()
    assert ikms001(out) == [("h/p.yaml", 3)] and "unsupported YAML tag" in out[0]["message"]


def test_duplicate_keys_later_wins_with_a_note(tmp_path):
    out = check(tmp_path, {
        "d.yaml": KEY_CFN + "      EnableKeyRotation: false\n",
        "d.json": '{"AWSTemplateFormatVersion": "2010-09-09",\n "Resources": {"H": {"Type": "AWS::KMS::Key",\n'
                  ' "Properties": {"EnableKeyRotation": true,\n "EnableKeyRotation": false}}}}',
    })
    assert ikms001(out) == []
    for f, line in (("h/d.yaml", 7), ("h/d.json", 4)):
        (note,) = [x for x in out if x["file"] == f and x["rule_id"] == "IKMS002"]
        assert note["line"] == line and "duplicate key 'EnableKeyRotation'" in note["message"]
        assert "IKMS101" in rules(out, f)  # false, the later value, is used


def test_resource_type_not_a_string(tmp_path):
    yaml = HDR + ("Resources:\n  Mod:\n    Type: !Rain::Module ../x.yml\n  M2:\n    Type: {a: 1}\n  M3:\n    Type: [AWS::KMS::Key]\n"
                  "  M4:\n    Type: 5\n  M5: 7\n  K:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: false\n")
    js = json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": {
        "M": {"Type": {"Rain::Module": "x"}}, "L": {"Type": ["a"]}, "K": {"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": False}}}})
    out = check(tmp_path, {"t.yaml": yaml, "t.json": js})
    assert ikms001(out) == []
    notes = sorted((x["file"], x["line"]) for x in out if x["rule_id"] == "IKMS002")
    assert notes == [("h/t.json", 1), ("h/t.json", 1), ("h/t.yaml", 3), ("h/t.yaml", 5), ("h/t.yaml", 7), ("h/t.yaml", 9), ("h/t.yaml", 11)]
    assert "IKMS101" in rules(out, "h/t.yaml") and "IKMS101" in rules(out, "h/t.json")


def _cfn_policy(body: str) -> str:
    return KEY_CFN + "      KeyPolicy:\n" + body


def _tf_policy(expr: str) -> str:
    return f'resource "aws_kms_key" "h" {{\n  enable_key_rotation = true\n  policy = {expr}\n}}\n'


@pytest.mark.parametrize("name,text,expect", [
    ("stmt_obj.yaml", _cfn_policy("        Version: '2012-10-17'\n        Statement:\n          Effect: Allow\n          Principal: '*'\n"
                                  "          Action: 'kms:*'\n          Resource: '*'\n"), "IKMS202"),  # a single statement object is valid
    ("principal_num.yaml", _cfn_policy("        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Principal: 5\n"
                                       "            Action: 'kms:*'\n            Resource: '*'\n"), "IKMS210"),
    ("action_nested.yaml", _cfn_policy("        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Principal: {AWS: 5}\n"
                                       "            Action: [['kms:*']]\n            Resource: '*'\n          - 7\n"), "IKMS210"),
    ("not_json.yaml", _cfn_policy("        '{\"Version\": '\n"), "IKMS210"),
    ("list/p.tf", _tf_policy("jsonencode([1, 2])"), "IKMS210"),
    ("text/p.tf", _tf_policy('"not json"'), "IKMS210"),
    ("shape/p.tf", _tf_policy('jsonencode({Statement = {Effect = "Allow", Principal = 5, Action = [["kms:*"]], Resource = "*"}})'), "IKMS210"),
    ("items/p.tf", _tf_policy('jsonencode({Version = "2012-10-17", Statement = [1, null, "x"]})'), "IKMS210"),
    ("number/p.tf", _tf_policy("5"), "IKMS210"),
])
def test_policies_of_the_wrong_shape(tmp_path, name, text, expect):
    out = check(tmp_path, {name: text})
    assert ikms001(out) == []
    assert expect in rules(out, f"h/{name}")


@pytest.mark.parametrize("name,text,expected", [
    ("data.json", '{"format_version": "1.0", "something": []}', []),
    ("list.json", "[1, 2, 3]", []),
    ("odd.json", '{"format_version": "1.0", "resource_changes": 5}', [1]),
    ("future.json", '{\n  "format_version": "2.0",\n  "resource_changes": []\n}\n', [2]),
    ("weird_version.json", '{\n  "format_version": {"a": 1},\n  "planned_values": {}\n}\n', [2]),
    ("cut.json", '{"format_version": "1.2", "resource_changes": [{"type": "aws_kms_key"', [1]),
    ("shape.json", '{"format_version": "1.2", "resource_changes": [{"type": "aws_kms_key", "address": 5, "change": 7}]}', [1]),
])
def test_plan_json_not_a_plan_or_unsupported(tmp_path, name, text, expected):
    out = check(tmp_path, {name: text})
    assert [line for _, line in ikms001(out)] == expected
    assert all(f["rule_id"] == "IKMS001" for f in out)


# --- exit codes and internal errors -------------------------------------------------------


def test_exit_codes_for_a_broken_file_alone(tmp_path):
    (tmp_path / "broken.tf").write_text('resource "aws_kms_key" "k" {\n')
    r = subprocess.run([sys.executable, "-m", "iackms", "scan", "."], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 1 and "IKMS001" in r.stdout  # IKMS001 is high: at or above the default --fail-on
    r = subprocess.run([sys.executable, "-m", "iackms", "scan", "--fail-on", "critical", "."], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0 and "Traceback" not in r.stderr


def test_internal_error_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    make_tree(tmp_path, {})

    def boom(*a: Any, **k: Any) -> Any:
        raise ValueError("something\nunexpected")

    monkeypatch.setattr(engine, "scan", boom)
    assert cli.main(["scan", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "internal error" in err and "something unexpected" in err and cli.ISSUES_URL in err


def test_internal_error_in_a_parser_is_one_finding(tmp_path, monkeypatch):
    """A bug while reading one file is that file's IKMS001; the rest is scanned."""
    from iackms.parsers import cloudformation

    make_tree(tmp_path, {"x.yaml": KEY_CFN})
    real = cloudformation.build_unit

    def flaky(data: Any, tpl: Any, file: str, *a: Any) -> Any:
        if file.startswith("h/"):
            raise KeyError("bug")
        return real(data, tpl, file, *a)

    monkeypatch.setattr(cloudformation, "build_unit", flaky)
    rep = engine.scan([str(tmp_path)], Config(), cwd=tmp_path)
    assert sorted((f.rule_id, f.file, f.line) for f in rep.findings if f.file.startswith("good/")) == GOOD
    assert [(f.rule_id, f.file) for f in rep.findings if f.file.startswith("h/")] == [("IKMS001", "h/x.yaml")]


# --- no network, no subprocess, nothing written ---------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
TREES = [ROOT / "fixtures", ROOT / "examples"]


def test_no_network_and_no_subprocess(monkeypatch):
    """A whole scan of the fixtures and examples (Terraform, CloudFormation,
    plans) with every way out to the network or to a program blocked."""
    calls: list[str] = []

    def blocked(what: str) -> Callable[..., Any]:
        def f(*a: Any, **k: Any) -> Any:
            calls.append(what)
            raise AssertionError(f"iackms used {what}")
        return f

    for name in ("socket", "create_connection", "getaddrinfo", "gethostbyname"):
        monkeypatch.setattr(socket, name, blocked(f"socket.{name}"))
    monkeypatch.setattr(subprocess, "Popen", blocked("subprocess.Popen"))
    for name in ("system", "popen", "execv", "execve", "execvp", "execvpe", "spawnv", "spawnve", "posix_spawn", "posix_spawnp", "fork"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, blocked(f"os.{name}"))
    rep = engine.scan([str(t) for t in TREES if t.exists()], Config(), cwd=ROOT)
    assert rep.files_scanned > 20 and rep.findings
    assert calls == []


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns)
    return out


def test_nothing_written_except_output(tmp_path):
    import shutil

    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "fixtures", tree / "fixtures", symlinks=True)
    make_tree(tree, {"broken.tf": 'resource "aws_kms_key" "k" {\n', "broken.yaml": HDR + "Resources: [\n"})
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    before = _snapshot(tree)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    r = subprocess.run(
        [sys.executable, "-m", "iackms", "scan", "--format", "json", "--output", str(out_dir / "r.json"),
         "--format", "sarif", "--output", str(out_dir / "r.sarif"), "."],
        cwd=tree, capture_output=True, text=True, env=env,
    )
    assert r.returncode == 1 and "Traceback" not in r.stderr and r.stdout == ""
    assert _snapshot(tree) == before
    assert sorted(os.listdir(out_dir)) == ["r.json", "r.sarif"]
    assert json.loads((out_dir / "r.json").read_text())["findings"]


# --- the loaders' own limits, directly ------------------------------------------------------


def test_loader_limits_are_errors_not_crashes():
    with pytest.raises(cfnyaml.YamlError):
        cfnyaml.load("a: " + "[" * 100_000 + "]" * 100_000)
    with pytest.raises(jsonload.JsonError):
        jsonload.load("[" * 100_000 + "]" * 100_000, "x.json")
    with pytest.raises(cfnyaml.YamlError):
        cfnyaml.load("x: !!python/object/apply:os.system ['true']\n")



@pytest.mark.parametrize("text", [
    "[" * 2000 + "]" * 2000,  # past orjson's own limit (1024)
    "[" * 700 + "]" * 700,  # orjson reads it; the locations stop at MAX_DEPTH
    '{"a": ' + "[" * 2000 + "]" * 2000 + "}",
    '{"é€": "x", "a": ' + '{"b": ' * 2000 + "1" + "}" * 2000 + "}",  # character, not byte, positions
])
def test_json_nesting_has_one_wording(text):
    """One message for JSON nested too deeply, whoever stops it: orjson (whose
    words changed from "array and object recursion depth exceeded" to "depth
    limit exceeded" in 3.12) or the location pass."""
    with pytest.raises(jsonload.JsonError) as e:
        jsonload.load(text, "x.json")
    assert e.value.message == jsonload.too_deep_message(jsonload.MAX_DEPTH) == cfnyaml.too_deep_message(jsonload.MAX_DEPTH)
    assert e.value.line == 1


@pytest.mark.parametrize("text", [
    "[" * 600 + "]" * 600 + ",",  # deep but closed before the error
    '["' + "[" * 3000 + '", ]',  # brackets inside a string
    "[" * 100 + "}",
])
def test_json_syntax_error_is_not_called_nesting(text):
    with pytest.raises(jsonload.JsonError) as e:
        jsonload.loads_plain(text)
    assert e.value.message.startswith("invalid JSON: ") and "nested" not in e.value.message
