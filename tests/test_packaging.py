"""The wheel users install: what it holds and how it builds.

It is built from a copy of the files a build reads (so the work tree gets no
build/ or egg-info), with pip and build isolation as a user's `pip install .`
does: once with the newest setuptools, once with the lowest that
``[build-system] requires`` allows. Needs the package index, as any build.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _toml():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib


PYPROJECT = _toml().loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _setuptools_floor() -> str:
    (req,) = [r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    m = re.fullmatch(r"setuptools>=([0-9.]+)", req.replace(" ", ""))
    assert m, f"build-system.requires should give setuptools a floor: {req!r}"
    return m.group(1)


def test_license_is_the_full_apache_text():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert PYPROJECT["project"]["license"] == "Apache-2.0" and PYPROJECT["project"]["license-files"] == ["LICENSE"]
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    for words in ("TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION", "9. Accepting Warranty or Additional Liability.",
                  "END OF TERMS AND CONDITIONS", "APPENDIX: How to apply the Apache License to your work."):
        assert words in text
    assert (ROOT / "src" / "iackms" / "py.typed").is_file()


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("sdist") / "iackms"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    return src


def _pip_has_build_constraint() -> bool:
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--help"], capture_output=True, text=True)
    return "--build-constraint" in r.stdout


@pytest.mark.parametrize("setuptools", ["newest", "floor"])
def test_wheel_holds_license_typing_marker_and_data(source_copy: Path, tmp_path: Path, setuptools: str):
    work = tmp_path / "build"
    shutil.copytree(source_copy, work)  # each build in its own copy: setuptools writes build/ beside the sources
    args = [sys.executable, "-m", "pip", "wheel", str(work), "--no-deps", "-w", str(tmp_path / "out"), "-v"]
    if setuptools == "floor":
        if not _pip_has_build_constraint():
            pytest.skip("this pip has no --build-constraint (pip 25.3+) to pin the build backend")
        constraint = tmp_path / "build-constraints.txt"
        constraint.write_text(f"setuptools=={_setuptools_floor()}\n")
        args += ["--build-constraint", str(constraint)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    log = r.stdout + r.stderr
    assert r.returncode == 0, log[-4000:]
    used = re.findall(r"Successfully installed .*?\bsetuptools-([0-9][^\s]*)", log)
    assert used, log[-4000:]
    if setuptools == "floor":
        assert used[-1] == _setuptools_floor()
    # no warning from the backend (a deprecated license table, an unknown key, ...);
    # pip's own "WARNING: Location ... is ignored" and distutils' "warning: ..." are not these
    assert not re.findall(r"\b\w*Warning: .*", log), re.findall(r"\b\w*Warning: .*", log)

    (wheel,) = (tmp_path / "out").glob("iackms-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        assert "iackms/py.typed" in names and "iackms/data/kms_actions.json" in names
        assert f"{dist_info}/licenses/LICENSE" in names
        assert z.read(f"{dist_info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        assert z.read("iackms/data/kms_actions.json") == (ROOT / "src/iackms/data/kms_actions.json").read_bytes()
        meta = z.read(f"{dist_info}/METADATA").decode()
    assert "License-Expression: Apache-2.0" in meta.splitlines() and "License-File: LICENSE" in meta.splitlines()
    assert any(line.startswith("Requires-Dist: tomli") and "python_version < \"3.11\"" in line for line in meta.splitlines()), meta
