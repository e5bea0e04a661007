"""Profiles and configuration files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from iackms import config as c
from iackms.engine import enabled_rules
from iackms.rules import profile_rules


def test_profiles_membership():
    default = profile_rules("default")
    assert {"IKMS001", "IKMS002", "IKMS101", "IKMS104", "IKMS105", "IKMS201", "IKMS202", "IKMS212"} <= default
    assert not default & {"IKMS106", "IKMS110", "IKMS111", "IKMS113", "IKMS114", "IKMS208", "IKMS209", "IKMS306"}
    assert {"IKMS301", "IKMS302", "IKMS303", "IKMS304", "IKMS305"} <= default
    assert profile_rules("cis") == {"IKMS001", "IKMS002", "IKMS101", "IKMS202"}
    assert profile_rules("cmmc-l2") == default | {"IKMS110", "IKMS111", "IKMS208", "IKMS209", "IKMS306"}
    assert profile_rules("cmmc-l3") == profile_rules("cmmc-l2") | {"IKMS106"}
    assert profile_rules("strict") >= profile_rules("cmmc-l3") | {"IKMS113", "IKMS114"}


def test_yaml_config_is_validated(tmp_path):
    f = tmp_path / ".iackms.yaml"
    f.write_text("profile: cis\nenable: [ikms104]\ndisable: [IKMS101]\nseverity: {IKMS202: high}\nrotation_max_days: 180\n"
                 "trusted_accounts: ['111122223333']\nrequired_tags: [Owner]\nexclude: ['test/**']\n")
    cfg = c.load_file(f)
    cfg.base_dir = None  # patterns relative to the current directory for this check
    assert cfg.profile == "cis" and cfg.rotation_max_days == 180 and cfg.trusted_accounts == ("111122223333",)
    assert enabled_rules(cfg) == {"IKMS001", "IKMS002", "IKMS104", "IKMS202"}
    assert cfg.severity == {"IKMS202": "high"} and cfg.tags() == ("Owner",)
    assert cfg.excluded("test/a/main.tf") and not cfg.excluded("prod/main.tf")


@pytest.mark.parametrize("text,needle", [
    ("profil: cis\n", "unknown key `profil`"),
    ("profile: paranoid\n", "`profile` must be one of"),
    ("disable: [IKMS999]\n", "unknown rule(s): IKMS999"),
    ("rotation_max_days: -3\n", "from 90 to 2560"),
    ("deletion_window_min_days: 45\n", "from 7 to 30"),
    ("trusted_accounts: ['12345']\n", "12-digit"),
    ("alias_pattern: '(['\n", "not a valid regular expression"),
    ("severity: {IKMS101: urgent}\n", "must be one of"),
    ("- a\n- b\n", "must be a mapping"),
    ("a: [\n", "not valid YAML"),
])
def test_bad_config_is_a_clear_error(tmp_path, text, needle):
    f = tmp_path / ".iackms.yaml"
    f.write_text(text)
    with pytest.raises(c.ConfigError) as e:
        c.load_file(f)
    assert needle in str(e.value) and str(f) in str(e.value)


def test_pyproject_section_and_upward_search(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n\n[tool.iackms]\nprofile = 'cmmc-l2'\nrequire_alias = true\n")
    sub = tmp_path / "infra" / "kms"
    sub.mkdir(parents=True)
    found = c.find_config(sub)
    assert found == tmp_path / "pyproject.toml"
    cfg = c.load_file(found)
    assert cfg.profile == "cmmc-l2" and cfg.require_alias and cfg.tags() == c.CMMC_TAGS


PYPROJECT = "[project]\nname='x'\n\n[tool.iackms]\nprofile = 'cis'\ndisable = ['IKMS104']\n"
ROOT = Path(__file__).resolve().parent.parent


def _real_toml():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the dependency
        import tomli as tomllib
    return tomllib


def test_pyproject_without_tomllib_reads_with_tomli(tmp_path, monkeypatch):
    """Python 3.10 has no tomllib: [tool.iackms] is read with tomli, and bad
    TOML is the same error as on 3.11+ (simulated here on any Python; .ci/run
    also runs this file on a real 3.10 when one is installed)."""
    parser = _real_toml()  # tomllib or tomli: the same API
    monkeypatch.setitem(sys.modules, "tomllib", None)  # `import tomllib` fails
    monkeypatch.setitem(sys.modules, "tomli", parser)
    f = tmp_path / "pyproject.toml"
    f.write_text(PYPROJECT)
    cfg = c.load_file(f)
    assert cfg.profile == "cis" and cfg.disable == {"IKMS104"}
    f.write_text("[tool.iackms]\nprofile = \n")
    with pytest.raises(c.ConfigError, match="not valid TOML") as e:
        c.load_file(f)
    assert str(f) in str(e.value)
    f.write_text("tool = 3\n")
    assert c.load_file(f).profile == "default"


def test_pyproject_without_any_toml_parser_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    f = tmp_path / "pyproject.toml"
    f.write_text(PYPROJECT)
    with pytest.raises(c.ConfigError) as e:
        c.load_file(f)
    assert str(f) in str(e.value) and "pip install tomli" in str(e.value) and ".iackms.yaml" in str(e.value)


def test_tomli_is_a_dependency_where_tomllib_is_missing():
    """requires-python allows 3.10, which has no tomllib: tomli must be
    installed there, and only there."""
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    project = _real_toml().loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    assert "3.10" in SpecifierSet(project["requires-python"])

    def wanted(version: str) -> list[str]:
        env = {**default_environment(), "python_version": version, "python_full_version": version + ".0"}
        return [r.name for r in reqs if r.marker is None or r.marker.evaluate(env)]

    assert "tomli" in wanted("3.10") and "tomli" not in wanted("3.11") and "tomli" not in wanted("3.13")
    (tomli,) = [r for r in reqs if r.name == "tomli"]
    assert not tomli.specifier.contains("1.2.3") and tomli.specifier.contains("2.0.1")


def test_search_stops_at_repository_root(tmp_path):
    (tmp_path / ".iackms.yaml").write_text("profile: cis\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    assert c.find_config(repo) is None


def test_exclude_is_relative_to_the_config_file(tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    (proj / "test").mkdir(parents=True)
    (proj / ".iackms.yaml").write_text("exclude: ['test/**']\n")
    cfg = c.load_file(proj / ".iackms.yaml")
    monkeypatch.chdir(tmp_path)
    assert cfg.excluded("proj/test/keys.tf") and not cfg.excluded("proj/main.tf") and not cfg.excluded("test/x.tf")
