"""The Checkov front end without Checkov: locating what a check is shown
(iackms.parsers.checkov_resource) and answering from the engine's findings
(iackms.checkov_adapter). tests/test_checkov.py runs the same under the real
Checkov."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iackms import checkov_adapter as adapter
from iackms.parsers.checkov_resource import CLOUDFORMATION, TERRAFORM, Located, RunnerScope, instance_names, locate, runner_scope


class FakeRunner:
    """Checkov's runner interface: ``run(root_folder, external_checks_dir, files, ...)``."""

    check_type = "terraform"

    def run(self, root_folder, external_checks_dir=None, files=None, then=None):
        return then()


@pytest.fixture(autouse=True)
def fresh_scans(monkeypatch):
    monkeypatch.setattr(adapter, "_scans", {})
    monkeypatch.setattr(adapter, "_told", set())


def test_instance_names_are_the_address_and_its_blocks():
    assert instance_names("aws_kms_key.this") == {"aws_kms_key.this"}
    assert instance_names('aws_kms_key.fe["a"]') == {'aws_kms_key.fe["a"]', "aws_kms_key.fe"}
    assert instance_names('module.kms[0].aws_kms_key.this["x"]') == {
        'module.kms[0].aws_kms_key.this["x"]', "module.kms[0].aws_kms_key.this",
        'module.kms.aws_kms_key.this["x"]', "module.kms.aws_kms_key.this"}
    # a quoted key may hold brackets and escaped quotes
    assert instance_names(r'aws_kms_key.fe["a]\"b"]') == {r'aws_kms_key.fe["a]\"b"]', "aws_kms_key.fe"}


def test_runner_scope_is_the_nearest_runner_run():
    assert runner_scope() is None
    got = FakeRunner().run("/some/root", None, None, then=runner_scope)
    assert got == RunnerScope("terraform", "/some/root", ())
    got = FakeRunner().run(None, None, ["a.tf", "b.yaml"], then=runner_scope)
    assert got == RunnerScope("terraform", None, ("a.tf", "b.yaml"))


def test_locate_terraform_instances_in_the_root_and_outside_it(tmp_path):
    root = tmp_path / "envs" / "dev"
    root.mkdir(parents=True)
    (root / "main.tf").write_text("")
    (tmp_path / "mod").mkdir()
    (tmp_path / "mod" / "main.tf").write_text("")
    scope = RunnerScope("terraform", str(root), ())
    at = locate(TERRAFORM, '/main.tf:aws_kms_key:fe["a"]', "aws_kms_key", {"__address__": 'aws_kms_key.fe["a"]'}, scope)
    assert at == Located((str(root),), os.path.realpath(root / "main.tf"), instance_names('aws_kms_key.fe["a"]'))
    at = locate(TERRAFORM, "/../../mod/main.tf:aws_kms_key:this", "aws_kms_key", {"__address__": "module.kms.aws_kms_key.this"}, scope)
    assert at is not None and at.file == os.path.realpath(tmp_path / "mod" / "main.tf")
    # what cannot be located is None, never a guess
    assert locate(TERRAFORM, "/main.tf:aws_kms_key:this", "aws_kms_key", {}, scope) is None
    assert locate(TERRAFORM, "/missing.tf:aws_kms_key:this", "aws_kms_key", {"__address__": "aws_kms_key.this"}, scope) is None
    assert locate(TERRAFORM, "/main.tf:aws_kms_alias:this", "aws_kms_key", {"__address__": "aws_kms_key.this"}, scope) is None


def test_locate_cloudformation_with_files_is_relative_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.yaml").write_text("")
    scope = RunnerScope("cloudformation", None, ("t.yaml",))  # `checkov -f t.yaml`: no root folder
    at = locate(CLOUDFORMATION, "/t.yaml:AWS::KMS::Key:Key", "AWS::KMS::Key", {"Type": "AWS::KMS::Key"}, scope)
    assert at == Located(("t.yaml",), os.path.realpath(tmp_path / "t.yaml"), frozenset({"Key"}))


MAIN_TF = """\
variable "rotate" {}

resource "aws_kms_key" "bad" {
  for_each = { a = 1, b = 2 }
  enable_key_rotation = false
}

resource "aws_kms_key" "good" {
  enable_key_rotation = true
}

resource "aws_kms_key" "skipped" {
  # iackms:skip=IKMS101 rotated by the vendor's HSM procedure
  enable_key_rotation = false
}

resource "aws_kms_key" "skipped_in_checkov" {
  # checkov:skip=CKV_IACKMS_101:rotated by the vendor's HSM procedure
  enable_key_rotation = false
}

resource "aws_kms_key" "unknown" {
  enable_key_rotation = var.rotate
}

resource "aws_kms_key" "none" {
  count = 0
}
"""


def _at(root: Path, address: str) -> Located:
    return Located((str(root),), os.path.realpath(root / "main.tf"), instance_names(address))


def test_answers_come_from_the_engine_scan_of_the_same_paths(tmp_path):
    (tmp_path / "main.tf").write_text(MAIN_TF)
    result, details = adapter.answer("IKMS101", _at(tmp_path, 'aws_kms_key.bad["a"]'))
    assert result == "FAILED" and "main.tf:5: aws_kms_key.bad" in details[0]
    assert adapter.answer("IKMS101", _at(tmp_path, "aws_kms_key.good")) == ("PASSED", [])
    assert adapter.answer("IKMS101", _at(tmp_path, "aws_kms_key.skipped")) == (
        "SKIPPED", ["suppressed in iackms: rotated by the vendor's HSM procedure"])
    # a skip of the rule's own Checkov check counts in iackms scan too
    assert adapter.answer("IKMS101", _at(tmp_path, "aws_kms_key.skipped_in_checkov"))[0] == "SKIPPED"
    result, details = adapter.answer("IKMS101", _at(tmp_path, "aws_kms_key.unknown"))
    assert result == "UNKNOWN" and "var.rotate" in details[0]
    # a rule off in the profile, and a resource iackms does not judge (no instance), are never PASSED
    assert adapter.answer("IKMS113", _at(tmp_path, "aws_kms_key.good"))[0] == "UNKNOWN"
    assert adapter.answer("IKMS101", _at(tmp_path, "aws_kms_key.none[0]"))[0] == "UNKNOWN"
    # the same address declared in another file is another resource
    (tmp_path / "other.tf").write_text("")
    assert adapter.answer("IKMS101", Located((str(tmp_path),), os.path.realpath(tmp_path / "other.tf"),
                                             instance_names('aws_kms_key.bad["a"]')))[0] == "UNKNOWN"
    assert len(adapter._scans) == 1  # one engine scan for all of them


def test_configuration_is_found_as_the_cli_finds_it(tmp_path):
    (tmp_path / "main.tf").write_text(MAIN_TF)
    (tmp_path / ".iackms.yaml").write_text("profile: strict\n")
    assert adapter.answer("IKMS113", _at(tmp_path, "aws_kms_key.good"))[0] == "FAILED"


def test_an_invalid_configuration_answers_unknown_and_fails_the_run(tmp_path):
    (tmp_path / "main.tf").write_text(MAIN_TF)
    (tmp_path / ".iackms.yaml").write_text("profile: nonsense\n")
    result, details = adapter.answer("IKMS101", _at(tmp_path, 'aws_kms_key.bad["a"]'))
    assert result == "UNKNOWN" and "profile" in details[0]
    error = FakeRunner().run(str(tmp_path), None, None, then=adapter.configuration_error)
    assert error and "profile" in error
    (tmp_path / "repo" / ".git").mkdir(parents=True)  # a repository of its own: no configuration
    assert FakeRunner().run(str(tmp_path / "repo"), None, None, then=adapter.configuration_error) is None


def test_a_check_that_cannot_locate_its_resource_answers_unknown_and_warns_once(capsys):
    class Check:
        entity_path = "/main.tf:aws_kms_key:this"
        entity_type = "aws_kms_key"

    for _ in range(2):
        assert adapter.verdict(Check(), TERRAFORM, "IKMS101", {"__address__": "aws_kms_key.this"}) == ("UNKNOWN", [])
    assert capsys.readouterr().err.count("cannot find where Checkov's /main.tf:aws_kms_key:this is written") == 1


def test_checks_exist_for_the_resources_each_rule_judges():
    assert adapter.supported_types("IKMS101", TERRAFORM) == ("aws_kms_key", "aws_kms_replica_key", "aws_kms_external_key",
                                                             "aws_kms_replica_external_key")
    assert "aws_kms_key_policy" in adapter.supported_types("IKMS202", TERRAFORM)  # a policy of a key outside the scan
    assert "aws_kms_custom_key_store" in adapter.supported_types("IKMS112", TERRAFORM)
    assert adapter.supported_types("IKMS112", CLOUDFORMATION) == ()
    assert adapter.supported_types("IKMS111", TERRAFORM) == adapter.supported_types("IKMS213", TERRAFORM) == ()
