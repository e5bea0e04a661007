"""Profiles and configuration files."""

from __future__ import annotations

import pytest

from iackms import config as c
from iackms.engine import enabled_rules
from iackms.rules import profile_rules


def test_profiles_membership():
    default = profile_rules("default")
    assert {"IKMS001", "IKMS002", "IKMS101", "IKMS104", "IKMS105", "IKMS201", "IKMS202", "IKMS212"} <= default
    assert not default & {"IKMS106", "IKMS110", "IKMS111", "IKMS113", "IKMS114", "IKMS208", "IKMS209"}
    assert profile_rules("cis") == {"IKMS001", "IKMS002", "IKMS101", "IKMS202"}
    assert profile_rules("cmmc-l2") == default | {"IKMS110", "IKMS111", "IKMS208", "IKMS209"}
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
