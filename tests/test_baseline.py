"""Baselines: `iackms baseline` records today's findings; `iackms scan
--baseline` (or `baseline:` in the configuration) reports and fails on new
ones only, counts the baselined ones left and gone, and marks SARIF results
`new` / `unchanged`. The fingerprint is SARIF's and survives lines moving and
the repository moving."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from iackms.findings import Report

KEYS = '''resource "aws_kms_key" "payments" {
  description         = "payments"
  enable_key_rotation = false
}

resource "aws_kms_key" "logs" {
  description             = "logs"
  enable_key_rotation     = true
  deletion_window_in_days = 7
}
'''
NEW_KEY = '''
resource "aws_kms_key" "new" {
  description = "new"
}
'''


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "iackms", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "infra").mkdir()
    (root / "infra" / "main.tf").write_text(KEYS)
    r = run("baseline", cwd=root)
    assert r.returncode == 0, r.stderr
    assert "4 findings recorded in .iackms-baseline.json" in r.stderr
    return root


def test_the_baseline_file_reads_well(repo):
    doc = json.loads((repo / ".iackms-baseline.json").read_text())
    assert doc["version"] == 1 and doc["fingerprint"] == "iackms/v1"
    entries = doc["findings"]
    assert [list(e) for e in entries] == [["rule_id", "file", "resource", "message", "fingerprint"]] * len(entries)
    assert [(e["resource"], e["rule_id"]) for e in entries] == [
        ("aws_kms_key.logs", "IKMS107"), ("aws_kms_key.logs", "IKMS201"),
        ("aws_kms_key.payments", "IKMS101"), ("aws_kms_key.payments", "IKMS201"),
    ]
    assert all(e["file"] == "infra/main.tf" for e in entries)
    # the same findings write the same file, byte for byte
    before = (repo / ".iackms-baseline.json").read_bytes()
    run("baseline", cwd=repo)
    assert (repo / ".iackms-baseline.json").read_bytes() == before


def test_only_new_findings_are_reported_and_fail(repo):
    r = run("scan", "--baseline", ".iackms-baseline.json", cwd=repo)
    assert r.returncode == 0, r.stdout
    assert r.stdout.strip().startswith("0 findings in ")
    assert "4 in the baseline (not shown), 0 baselined findings gone" in r.stdout
    (repo / "infra" / "main.tf").write_text(KEYS + NEW_KEY)
    r = run("scan", "--baseline", ".iackms-baseline.json", cwd=repo)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert all("aws_kms_key.new" in line for line in lines[:-2]) and len(lines) == 4, r.stdout
    assert "4 in the baseline (not shown)" in lines[-1]


def test_lines_moving_keep_the_findings_baselined(repo):
    (repo / "infra" / "main.tf").write_text("# moved down\n\n\n" + KEYS.replace('  description         = "payments"\n', ""))
    r = run("scan", "--baseline", ".iackms-baseline.json", cwd=repo)
    assert r.returncode == 0, r.stdout


def test_fixed_findings_are_counted_as_gone(repo):
    fixed = run("fix", "--baseline", ".iackms-baseline.json", cwd=repo)
    assert fixed.returncode == 0, fixed.stdout
    assert "2 in the baseline (not shown), 2 baselined findings gone (update the baseline" in fixed.stdout
    r = run("scan", "--baseline", ".iackms-baseline.json", "--format", "json", cwd=repo)
    doc = json.loads(r.stdout)
    assert doc["summary"]["baseline"] == {"file": ".iackms-baseline.json", "unchanged": 2, "absent": 2, "not_scanned": 0}
    assert doc["findings"] == []


def test_configured_baseline_is_relative_to_the_config(repo):
    (repo / "security").mkdir()
    shutil.move(repo / ".iackms-baseline.json", repo / "security" / "kms-baseline.json")
    (repo / ".iackms.yaml").write_text("baseline: security/kms-baseline.json\n")
    (repo / "infra" / "main.tf").write_text(KEYS + NEW_KEY)
    r = run("scan", "infra", "--format", "json", cwd=repo / "infra" / "..")
    doc = json.loads(r.stdout)
    assert {f["resource"] for f in doc["findings"]} == {"aws_kms_key.new"}
    assert all(f["baseline_state"] == "new" for f in doc["findings"])
    everything = json.loads(run("scan", "--no-baseline", "--format", "json", cwd=repo).stdout)
    assert len(everything["findings"]) == 6 and "baseline" not in everything["summary"]


def test_sarif_marks_new_and_unchanged(repo):
    (repo / "infra" / "main.tf").write_text(KEYS + NEW_KEY)
    r = run("scan", "--baseline", ".iackms-baseline.json", "--format", "sarif", cwd=repo)
    results = json.loads(r.stdout)["runs"][0]["results"]
    states = sorted((x["baselineState"], x["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]) for x in results)
    assert [s for s, _ in states].count("unchanged") == 4
    assert {res for s, res in states if s == "new"} == {"aws_kms_key.new"}
    # one fingerprint for SARIF and baselines
    recorded = {e["fingerprint"] for e in json.loads((repo / ".iackms-baseline.json").read_text())["findings"]}
    assert recorded == {x["partialFingerprints"]["iackms/v1"] for x in results if x["baselineState"] == "unchanged"}


def test_the_repository_moving_keeps_the_baseline(repo, tmp_path):
    moved = tmp_path / "elsewhere" / "checkout"
    shutil.copytree(repo, moved)
    r = run("scan", "--baseline", ".iackms-baseline.json", cwd=moved)
    assert r.returncode == 0 and "4 in the baseline" in r.stdout


@pytest.mark.skipif(not hasattr(Report(), "boundary"), reason="the scan boundary (repository layouts) is not on the Report yet")
def test_a_scan_from_a_subdirectory_matches_the_same_baseline(repo):
    r = run("scan", ".", "--baseline", "../.iackms-baseline.json", cwd=repo / "infra")
    assert r.returncode == 0, r.stdout
    assert "4 in the baseline" in r.stdout


def test_duplicate_fingerprints_are_counted(repo):
    from iackms import baseline
    from iackms.findings import Finding

    f = Finding("IKMS101", "t", "medium", "a.tf", 1, 1, 1, "aws_kms_key.k", "aws_kms_key", "m")
    g = Finding("IKMS101", "t", "medium", "a.tf", 9, 9, 1, "aws_kms_key.k", "aws_kms_key", "m")
    path = repo / "dup.json"
    path.write_text(baseline.dumps(Report(findings=[f])))
    one = Report(findings=[f, g])  # same fingerprint (the line is not part of it): one is new
    baseline.apply(one, baseline.load(path), "dup.json")
    assert one.findings == [g] and one.baselined == [f]
    path.write_text(baseline.dumps(Report(findings=[f, g])))
    two = Report(findings=[f, g])
    baseline.apply(two, baseline.load(path), "dup.json")
    assert two.findings == [] and two.baselined == [f, g] and two.baseline_absent == 0


@pytest.mark.parametrize("text,needle", [
    ("not json", "is not valid JSON"),
    ('{"findings": []}', "has version None"),
    ('{"version": 1, "fingerprint": "iackms/v1", "findings": [{"rule_id": "IKMS101"}]}', "entry 1 has no fingerprint"),
])
def test_a_bad_baseline_is_a_clear_error(repo, text, needle):
    (repo / "bad.json").write_text(text)
    r = run("scan", "--baseline", "bad.json", cwd=repo)
    assert r.returncode == 2 and needle in r.stderr
    missing = run("scan", "--baseline", "nope.json", cwd=repo)
    assert missing.returncode == 2 and "iackms baseline --output nope.json" in missing.stderr


# --- paths that are a subset of the repository (pre-commit passes the staged files) ---

TEMPLATE = '''AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: false
      PendingWindowInDays: 7
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Sid: Root
            Effect: Allow
            Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}
            Action: "kms:*"
            Resource: "*"
'''


@pytest.fixture
def two_files(repo: Path) -> Path:
    """The repo with a template beside infra/main.tf, both in the baseline."""
    (repo / "template.yml").write_text(TEMPLATE)
    r = run("baseline", cwd=repo)
    assert r.returncode == 0, r.stderr
    files = {e["file"] for e in json.loads((repo / ".iackms-baseline.json").read_text())["findings"]}
    assert files == {"infra/main.tf", "template.yml"}
    return repo


def _entries(repo: Path) -> list[dict]:
    return json.loads((repo / ".iackms-baseline.json").read_text())["findings"]


def test_files_not_scanned_are_not_gone(two_files):
    others = sum(e["file"] == "template.yml" for e in _entries(two_files))
    r = run("scan", "--baseline", ".iackms-baseline.json", "infra/main.tf", cwd=two_files)
    assert r.returncode == 0, r.stdout
    assert f"4 in the baseline (not shown), 0 baselined findings gone, {others} of files not scanned" in r.stdout
    assert "update the baseline" not in r.stdout
    doc = json.loads(run("scan", "--baseline", ".iackms-baseline.json", "infra/main.tf", "--format", "json", cwd=two_files).stdout)
    assert doc["summary"]["baseline"] == {"file": ".iackms-baseline.json", "unchanged": 4, "absent": 0, "not_scanned": others}
    # a directory scan too: only what is under it is in scope
    r = run("scan", "--baseline", ".iackms-baseline.json", "infra", cwd=two_files)
    assert "0 baselined findings gone" in r.stdout, r.stdout
    # a fixed finding of the file scanned is gone, the other file's entries still are not
    (two_files / "infra" / "main.tf").write_text(KEYS.replace("enable_key_rotation = false", "enable_key_rotation = true"))
    r = run("scan", "--baseline", ".iackms-baseline.json", "infra/main.tf", cwd=two_files)
    assert "3 in the baseline (not shown), 1 baselined finding gone" in r.stdout, r.stdout
    sarif = json.loads(run("scan", "--baseline", ".iackms-baseline.json", "infra/main.tf", "--format", "sarif", cwd=two_files).stdout)
    assert [x["baselineState"] for x in sarif["runs"][0]["results"]] == ["unchanged"] * 3


def test_a_baseline_of_some_files_keeps_the_others_entries(two_files):
    before = _entries(two_files)
    others = [e for e in before if e["file"] == "template.yml"]
    (two_files / "infra" / "main.tf").write_text(KEYS.replace("enable_key_rotation = false", "enable_key_rotation = true") + NEW_KEY)
    r = run("baseline", "infra/main.tf", cwd=two_files)
    assert r.returncode == 0, r.stderr
    assert f"kept {len(others)} entries of files not scanned" in r.stderr
    after = _entries(two_files)
    assert [e for e in after if e["file"] == "template.yml"] == others
    assert {e["resource"] for e in after if e["file"] == "infra/main.tf"} == {"aws_kms_key.logs", "aws_kms_key.payments", "aws_kms_key.new"}
    assert after == sorted(after, key=lambda e: (e["file"], e["resource"], e["rule_id"], e["message"], e["fingerprint"]))
    r = run("scan", "--baseline", ".iackms-baseline.json", cwd=two_files)
    assert r.returncode == 0 and "0 baselined findings gone" in r.stdout, r.stdout
    # the whole repository: as before, the file is today's findings alone, nothing said about keeping
    r = run("baseline", cwd=two_files)
    assert "kept" not in r.stderr
    assert _entries(two_files) == after


def test_a_deleted_file_is_gone_when_the_repository_is_scanned(two_files):
    others = sum(e["file"] == "template.yml" for e in _entries(two_files))
    (two_files / "template.yml").unlink()
    r = run("scan", "--baseline", ".iackms-baseline.json", cwd=two_files)
    assert f"4 in the baseline (not shown), {others} baselined findings gone (update the baseline" in r.stdout, r.stdout
    r = run("baseline", cwd=two_files)
    assert "kept" not in r.stderr
    assert {e["file"] for e in _entries(two_files)} == {"infra/main.tf"}


def test_a_module_shared_by_two_roots_is_judged_for_the_roots_scanned(tmp_path):
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "modules" / "kms").mkdir(parents=True)
    (root / "modules" / "kms" / "main.tf").write_text(
        'variable "rot" {}\nresource "aws_kms_key" "this" {\n  description = "k"\n  enable_key_rotation = var.rot\n}\n')
    for env in ("prod", "dev"):
        (root / "envs" / env).mkdir(parents=True)
        (root / "envs" / env / "main.tf").write_text('module "k" {\n  source = "../../modules/kms"\n  rot = false\n}\n')
    assert "4 findings recorded" in run("baseline", "envs", cwd=root).stderr
    # the module file is read for prod only: dev's entries in it are not gone
    for path in ("envs/prod", "envs/prod/main.tf"):
        r = run("scan", "--baseline", ".iackms-baseline.json", path, cwd=root)
        assert "2 in the baseline (not shown), 0 baselined findings gone, 2 of files not scanned" in r.stdout, (path, r.stdout)
    # written again for prod alone: dev's entries kept, prod's replaced (not doubled)
    before = _entries(root)
    assert "kept 2 entries" in run("baseline", "envs/prod/main.tf", cwd=root).stderr
    assert _entries(root) == before
