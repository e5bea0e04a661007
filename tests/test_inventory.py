"""`iackms inventory` (issue 16): the JSON inventory of every rule fixture and
of the shared realworld corpus against stored snapshots, every key exactly
once, the access it shows agreeing with the key-policy rules, the formats
(Markdown, CSV, JSON, HTML) and the command line.

After an intended change, rewrite the snapshots and review the diff:

    pytest tests/test_inventory.py --update-snapshots
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iackms.config import Config
from iackms.engine import run
from iackms.inventory import build, setting_text
from iackms.reporters import render_inventory
from test_fixtures import FIXTURES, ROOT, _config
from test_snapshots import _scenario_cases, _unique_cases

SNAPSHOTS = ROOT / "tests" / "snapshots" / "inventory"
CORPUS = ROOT.parent / "shared" / "corpus"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/corpus")
REALWORLD = CORPUS / "realworld"


def inventory_of(path: str, cfg: Config, cwd: Path | None = None) -> tuple[dict, object]:
    result = run([path], cfg, cwd=cwd)
    return build(result.unit, result.report, result.keys(), trusted_accounts=cfg.trusted_accounts), result


def _snapshot(inv: dict, whole: bool) -> str:
    doc = {k: v for k, v in inv.items() if k != "version"}
    if not whole:  # the catalog-wide parts are in the realworld snapshot once
        doc = {k: doc[k] for k in ("keys", "other_findings")}
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def _compare(request, snap: Path, text: str, what: str) -> None:
    if request.config.getoption("--update-snapshots"):
        snap.parent.mkdir(parents=True, exist_ok=True)
        snap.write_text(text, encoding="utf-8")
        return
    assert snap.is_file(), f"no inventory snapshot for {what}: run `pytest tests/test_inventory.py --update-snapshots`"
    assert json.loads(text) == json.loads(snap.read_text(encoding="utf-8")), \
        f"the inventory of {what} changed; if intended, run `pytest tests/test_inventory.py --update-snapshots` and review the diff"


def _snap_path(path: Path) -> Path:
    return SNAPSHOTS / (path.relative_to(FIXTURES).as_posix().replace("/", "__") + ".json")


def _every_key_once(inv: dict, result) -> None:
    """Every key the scan checks is in the inventory, once: one entry per
    block, or one per instance when its instances differ (named as the
    findings name them)."""
    ids = [e["id"] for e in inv["keys"]]
    assert len(ids) == len(set(ids)), "an entry appears twice"
    blocks = sorted((k.address, k.loc.file, max(1, k.loc.line)) for k in result.keys())
    got = sorted({(e["block_address"], e["file"], e["line"]) for e in inv["keys"]})
    assert sorted(set(blocks)) == got
    per_block: dict[tuple, list[str]] = {}
    for e in inv["keys"]:
        per_block.setdefault((e["block_address"], e["file"], e["line"], e["root"]), []).append(e["address"])
    for addrs in per_block.values():
        assert len(addrs) == len(set(addrs))
        assert len(addrs) == 1 or all(a != addrs[0].split("[")[0] for a in addrs), addrs  # a block, or its instances
    names = {e["address"] for e in inv["keys"]} | {e["block_address"] for e in inv["keys"]}
    for f in result.report.findings:  # a finding naming a key's instance names an entry
        if "[" in f.resource and f.resource.replace("[", ".").split(".")[0] in ("aws_kms_key", "module"):
            assert f.resource in names, f.resource


def _findings_accounted(inv: dict, result) -> None:
    """Every finding of the scan is on one key, or listed as on no key."""
    on_keys = [(f["rule_id"], f["file"], f["line"], f["resource"], f["message"]) for k in inv["keys"] for f in k["findings"]["items"]]
    other = [(f["rule_id"], f["file"], f["line"], f["resource"], f["message"]) for f in inv["other_findings"]]
    scan = [(f.rule_id, f.file, f.line, f.resource, f.message) for f in result.report.findings]
    assert sorted(set(on_keys) | set(other)) == sorted(set(scan))
    assert inv["summary"]["findings"]["total"] == len(scan)


def _cases():
    for p in [*_unique_cases(), *_scenario_cases()]:
        yield p


@pytest.mark.parametrize("rid,kind,path", list(_cases()))
def test_fixture_inventory_snapshot(rid, kind, path: Path, monkeypatch, request):
    monkeypatch.chdir(ROOT)
    cfg = _config(path) if path.is_file() else Config(profile="strict")
    inv, result = inventory_of(str(path.relative_to(ROOT)), cfg)
    _every_key_once(inv, result)
    _findings_accounted(inv, result)
    _agrees_with_the_rules(inv, result)
    _compare(request, _snap_path(path), _snapshot(inv, whole=False), str(path.relative_to(ROOT)))


def test_no_stale_inventory_snapshots():
    want = {_snap_path(p.values[2]).name for p in _cases()} | {"realworld.json"}
    stale = sorted(p.name for p in SNAPSHOTS.glob("*.json") if p.name not in want)
    assert not stale, f"inventory snapshots of fixtures that no longer exist: {stale}"


@pytest.mark.skipif(not REALWORLD.is_dir(), reason=f"the shared corpus is not at {CORPUS}")
def test_realworld_inventory_snapshot(monkeypatch, request):
    monkeypatch.chdir(CORPUS)
    inv, result = inventory_of("realworld", Config())
    _every_key_once(inv, result)
    _findings_accounted(inv, result)
    _agrees_with_the_rules(inv, result)
    assert len({(e["block_address"], e["root"]) for e in inv["keys"]}) == result.report.keys_checked
    _compare(request, SNAPSHOTS / "realworld.json", _snapshot(inv, whole=True), "../shared/corpus/realworld")


# --- the inventory and the rules read the policy the same way ----------------------------


def _keys_with(result, rule: str, notes: bool = False) -> set[str]:
    return {f.resource for f in result.report.findings if f.rule_id == rule}


def _agrees_with_the_rules(inv: dict, result) -> None:
    """What the key-policy rules report, the inventory shows, and the other
    way round (where the rule ran and was not suppressed)."""
    rules = set(result.report.rules)
    suppressed = {(f.rule_id, f.resource) for f in result.report.suppressed}
    for e in inv["keys"]:
        a = e["access"]
        prs = a["principals"]
        addr = e["address"]
        names = {addr, e["block_address"]}  # a finding of every instance names the block

        def flagged(rule: str) -> bool:
            return bool(names & _keys_with(result, rule))

        def on(rule: str) -> bool:
            return rule in rules and not any((rule, n) in suppressed for n in names)

        if on("IKMS202"):
            public = any(p["public"] is True for p in prs)
            assert public == flagged("IKMS202"), (addr, a["public"])
        if on("IKMS204"):
            both = any(p["person"] and p["category"] not in ("public", "wildcard", "unknown") and
                       (p["administer"] or p["create_grants"] == "any") and p["use"] for p in prs)
            assert both == flagged("IKMS204"), (addr, [p["shown_as"] for p in prs])
        if on("IKMS206"):
            outside = any(p["outside_home"] is True for p in prs)
            if outside:
                assert flagged("IKMS206"), (addr, a["outside_home"])
            elif flagged("IKMS206"):
                # IKMS206 also reports full control given to a literal account when the policy names
                # "this account" only symbolically: the inventory says it cannot be compared
                assert any(p["outside_home"] is None and p["full_control"] and p["accounts"] for p in prs), addr
        if a["status"] == "default":
            assert [p["shown_as"] for p in prs] == ["IAM policies of this account"]


# --- the formats -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def realworld_inv() -> dict:
    if not REALWORLD.is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    cwd = os.getcwd()
    os.chdir(CORPUS)
    try:
        return inventory_of("realworld", Config())[0]
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def example_inv() -> dict:
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return inventory_of("examples", Config())[0]
    finally:
        os.chdir(cwd)


def test_example_inventory_says_who_may_do_what(example_inv):
    keys = {e["address"]: e for e in example_inv["keys"]}
    app = keys["aws_kms_key.app"]
    s = app["settings"]
    assert s["rotation"] == {"status": "set", "value": False, "expr": "var.rotate", "file": "examples/terraform/main.tf", "line": 17,
                             "origin": {"file": "examples/terraform/main.tf", "line": 7}}  # the variable's default
    assert s["deletion_window_days"]["value"] == 7 and s["key_spec"]["status"] == "default"
    assert s["rotation_period_days"]["status"] == "not-applicable"
    assert [setting_text(a["name"]) for a in app["aliases"]] == ["alias/app"]
    prs = {p["shown_as"]: p for p in app["access"]["principals"]}
    root = prs["IAM policies of this account"]
    assert root["category"] == "account" and not root["person"] and root["full_control"]
    role = next(p for p in app["access"]["principals"] if p["category"] == "role")
    assert role["administer"] == ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"] and role["use"] == ["kms:Decrypt", "kms:Encrypt"]
    assert role["full_control"] and role["outside_home"] is False and role["statements"][0]["sid"] == "AppAdminAndUse"
    assert app["findings"]["by_rule"] == {"IKMS101": 1, "IKMS107": 1, "IKMS204": 1}
    mac = keys["aws_kms_key.mac"]
    assert mac["settings"]["rotation"]["status"] == "not-applicable" and "HMAC_256" in mac["settings"]["rotation"]["reason"]
    cfn = next(e for e in example_inv["keys"] if e["source"] == "cloudformation")
    assert cfn["source_name"] == "CloudFormation"


def _key(tmp_path: Path, body: str, name: str = "main.tf") -> dict:
    (tmp_path / name).write_text(body, encoding="utf-8")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        return inventory_of(".", Config(profile="strict"))[0]
    finally:
        os.chdir(cwd)


def test_unknown_values_are_shown_with_their_expression(tmp_path):
    inv = _key(tmp_path, '''variable "window" {}
variable "admins" {}
variable "policy" {}
resource "aws_kms_key" "a" {
  deletion_window_in_days = var.window
  enable_key_rotation     = var.rotate != null ? var.rotate : true
  policy                  = var.policy
}
resource "aws_kms_key" "b" {
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Sid = "Admins", Effect = "Allow", Principal = { AWS = var.admins }, Action = "kms:*", Resource = "*" }]
  })
}
''')
    a, b = inv["keys"]
    assert a["settings"]["deletion_window_days"]["status"] == "unknown"
    assert a["settings"]["deletion_window_days"]["expr"] == "var.window"
    assert setting_text(a["settings"]["deletion_window_days"]) == "unknown: var.window"
    assert a["policy"]["status"] == "unknown" and a["access"]["status"] == "unknown" and a["access"]["principals"] == []
    assert a["policy"]["expr"] == "var.policy"
    p = b["access"]["principals"][0]
    assert p["category"] == "unknown" and "${var.admins}" in p["shown_as"] and p["outside_home"] is None
    assert b["access"]["unresolved"] == [p["shown_as"]]


def test_instances_that_differ_are_listed_as_the_findings_name_them(tmp_path):
    inv = _key(tmp_path, """locals {
  keys = { jwt = { rotate = false, days = 7 }, data = { rotate = true, days = 30 } }
}
resource "aws_kms_key" "svc" {
  for_each                = local.keys
  enable_key_rotation     = each.value.rotate
  deletion_window_in_days = each.value.days
}
resource "aws_kms_key" "same" {
  count = 2
}
variable "create_external" {
  default = false
}
resource "aws_kms_external_key" "ext" {
  count = var.create_external ? 1 : 0
}
""")
    by = {e["address"]: e for e in inv["keys"]}
    assert set(by) == {'aws_kms_key.svc["data"]', 'aws_kms_key.svc["jwt"]', "aws_kms_key.same", "aws_kms_external_key.ext"}
    jwt, data = by['aws_kms_key.svc["jwt"]'], by['aws_kms_key.svc["data"]']
    assert jwt["block_address"] == "aws_kms_key.svc" and jwt["instance_of"] == 'aws_kms_key.svc["jwt"]'
    assert jwt["settings"]["rotation"]["value"] is False and data["settings"]["rotation"]["value"] is True
    assert jwt["settings"]["deletion_window_days"]["value"] == 7
    assert "IKMS101" in jwt["findings"]["by_rule"] and "IKMS101" not in data["findings"]["by_rule"]
    assert "IKMS106" in jwt["findings"]["by_rule"] and "IKMS106" in data["findings"]["by_rule"]  # at the block: every instance
    assert by["aws_kms_key.same"]["instance_of"] is None  # instances alike: one entry, as its findings name it
    ext = by["aws_kms_external_key.ext"]
    assert ext["exists_when"] == ["var.create_external is true"]
    assert "exists only when var.create\\_external is true" in render_inventory("markdown", inv)


def test_a_setting_that_depends_on_a_condition_varies(tmp_path):
    inv = _key(tmp_path, """AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
    AllowedValues: [prod, dev]
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: !If [IsProd, true, false]
      PendingWindowInDays: !If [IsProd, 30, 7]
""", "t.yaml")
    s = inv["keys"][0]["settings"]
    assert s["rotation"]["status"] == "varies"
    assert sorted((o["value"], o["when"]) for o in s["rotation"]["options"]) == [(False, "IsProd is false"), (True, "IsProd is true")]
    assert all(o["status"] == "set" for o in s["deletion_window_days"]["options"])
    assert setting_text(s["deletion_window_days"]).count("|") == 1


def test_public_narrowed_and_foreign_principals(tmp_path):
    inv = _key(tmp_path, '''resource "aws_kms_key" "k" {
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Sid = "Root", Effect = "Allow", Principal = { AWS = "arn:aws:iam::111122223333:root" }, Action = "kms:*", Resource = "*" },
      { Sid = "Org", Effect = "Allow", Principal = "*", Action = ["kms:Decrypt"], Resource = "*",
        Condition = { StringEquals = { "aws:PrincipalOrgID" = "o-abc123" } } },
      { Sid = "Anyone", Effect = "Allow", Principal = { AWS = "*" }, Action = "kms:Encrypt", Resource = "*",
        Condition = { Bool = { "aws:SecureTransport" = "true" } } },
      { Sid = "Partner", Effect = "Allow", Principal = { AWS = "arn:aws:iam::444455556666:role/reader" }, Action = "kms:Decrypt", Resource = "*" },
      { Sid = "Logs", Effect = "Allow", Principal = { Service = "logs.amazonaws.com" }, Action = ["kms:Encrypt*", "kms:CreateGrant"], Resource = "*",
        Condition = { Bool = { "kms:GrantIsForAWSResource" = "true" } } },
    ]
  })
}
''')
    k = inv["keys"][0]
    by = {p["statements"][0]["sid"]: p for p in k["access"]["principals"]}
    assert by["Root"]["shown_as"] == "IAM policies of account 111122223333" and by["Root"]["outside_home"] is False
    assert by["Org"]["category"] == "narrowed" and by["Org"]["narrowed_by"] == ["aws:PrincipalOrgID = o-abc123"]
    assert by["Org"]["shown_as"] == "any principal admitted by aws:PrincipalOrgID = o-abc123" and by["Org"]["public"] is False
    assert by["Anyone"]["category"] == "public" and by["Anyone"]["public"] is True
    assert by["Anyone"]["statements"][0]["conditions"] == ["Bool aws:SecureTransport = true"]
    assert by["Partner"]["outside_home"] is True and by["Partner"]["accounts"] == ["444455556666"]
    assert by["Logs"]["category"] == "service" and by["Logs"]["create_grants"] == "aws-resources" and not by["Logs"]["person"]
    assert k["access"]["public"] == ["anyone (wildcard principal)"]
    assert k["access"]["outside_home"] == [by["Partner"]["shown_as"]]
    assert k["findings"]["by_rule"].keys() >= {"IKMS202", "IKMS206"}


def test_not_principal_and_a_wildcard_narrowed_by_a_deny(tmp_path):
    inv = _key(tmp_path, """AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: true
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Sid: Root
            Effect: Allow
            Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}
            Action: "kms:*"
            Resource: "*"
          - Sid: Everyone
            Effect: Allow
            Principal: "*"
            Action: ["kms:Decrypt"]
            Resource: "*"
          - Sid: OutsideOrg
            Effect: Deny
            Principal: "*"
            Action: ["kms:Decrypt", "kms:Encrypt"]
            Resource: "*"
            Condition: {StringNotEquals: {"aws:PrincipalOrgID": o-abc123}}
          - Sid: AllBut
            Effect: Allow
            NotPrincipal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:role/ops"}
            Action: ["kms:DescribeKey"]
            Resource: "*"
""", "t.yaml")
    by = {p["statements"][0]["sid"]: p for p in inv["keys"][0]["access"]["principals"]}
    assert by["Root"]["shown_as"] == "IAM policies of this account"
    assert by["Everyone"]["category"] == "narrowed" and by["Everyone"]["public"] is False
    assert by["Everyone"]["narrowed_by"] == ["statement 'OutsideOrg' denies callers with aws:PrincipalOrgID not o-abc123"]
    assert by["AllBut"]["category"] == "public" and by["AllBut"]["public"] is True and by["AllBut"]["other"] == ["kms:DescribeKey"]
    assert by["AllBut"]["shown_as"] == "every principal but arn:aws:iam::<this account>:role/ops (anyone)"
    deny = inv["keys"][0]["access"]["denies"][0]
    assert deny["sid"] == "OutsideOrg" and deny["actions"] == ["kms:Decrypt", "kms:Encrypt"]
    assert deny["conditions"] == ["StringNotEquals aws:PrincipalOrgID = o-abc123"]


def test_default_policy_grants_and_replica(tmp_path):
    inv = _key(tmp_path, '''resource "aws_kms_key" "primary" {
  multi_region        = true
  enable_key_rotation = true
}
resource "aws_kms_replica_key" "r" {
  primary_key_arn = aws_kms_key.primary.arn
}
resource "aws_kms_grant" "g" {
  key_id            = aws_kms_key.primary.key_id
  grantee_principal = "arn:aws:iam::999988887777:role/x"
  operations        = ["Decrypt", "CreateGrant"]
}
''')
    keys = {e["address"]: e for e in inv["keys"]}
    p = keys["aws_kms_key.primary"]
    assert p["policy"]["status"] == "default" and p["access"]["status"] == "default"
    assert p["access"]["administer"] == ["IAM policies of this account"]
    assert p["settings"]["rotation_period_days"] == {"status": "default", "value": 365, "expr": None, "file": None, "line": None}
    g = p["grants"][0]
    # the default policy names this account only symbolically: a literal account cannot be compared (as IKMS213 says)
    assert g["address"] == "aws_kms_grant.g" and g["grantee_outside_home"] is None and not g["constraints"]
    assert "IKMS213" in p["findings"]["by_rule"]  # a grant's findings are the key's
    r = keys["aws_kms_replica_key.r"]
    assert r["settings"]["rotation"]["status"] == "inherited" and r["settings"]["rotation"]["value"] is True
    assert r["settings"]["rotation"]["from"] == "aws_kms_key.primary"
    assert r["settings"]["multi_region"]["value"] is True


def test_markdown(realworld_inv):
    md = render_inventory("markdown", realworld_inv)
    assert md.startswith("# KMS key inventory\n")
    assert "## Controls" in md and "SC.L2-3.13.10" in md
    for i, e in enumerate(realworld_inv["keys"], 1):
        assert f"### {i}. `{e['address']}`" in md
    # every table row has as many cells as its header
    for block in md.split("\n\n"):
        lines = [x for x in block.splitlines() if x.startswith("|")]
        if len(lines) > 2:
            n = lines[0].count(" | ")
            assert all(x.replace("\\|", "").count(" | ") == n for x in lines), lines[0]


def test_markdown_cut_to_a_limit(realworld_inv):
    md = render_inventory("markdown", realworld_inv)
    from iackms.reporters.inventory_md import render

    short = render(realworld_inv, limit=60_000)
    assert len(short.encode()) <= 60_000 < len(md.encode())
    assert "more key sections not shown" in short and "### 1. " in short
    tiny = render(realworld_inv, limit=20_000)
    assert len(tiny.encode()) <= 20_000
    assert "more keys not shown" in tiny and "### 1. " not in tiny


def test_csv(realworld_inv):
    text = render_inventory("csv", realworld_inv)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["id"] for r in rows] == [e["id"] for e in realworld_inv["keys"]]
    assert all(r["findings"].isdigit() for r in rows)


def test_csv_cells_never_run_as_formulas(tmp_path):
    inv = _key(tmp_path, '''resource "aws_kms_key" "k" {
  description = "=HYPERLINK(\\"http://x\\")"
  tags = { "@owner" = "-1+1" }
}
''')
    row = next(csv.DictReader(io.StringIO(render_inventory("csv", inv))))
    assert row["description"].startswith("'=") and row["tags"].startswith("'@")


def test_json_is_the_data(realworld_inv):
    assert json.loads(render_inventory("json", realworld_inv)) == realworld_inv


def test_json_schema(realworld_inv, example_inv, tmp_path):
    """docs/inventory.schema.json describes the format (the contract in docs/inventory.md)."""
    import jsonschema

    schema = json.loads((ROOT / "docs" / "inventory.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    for inv in (realworld_inv, example_inv):
        jsonschema.validate(inv, schema, cls=jsonschema.Draft202012Validator)


# --- the command line ------------------------------------------------------------------------


def cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    return subprocess.run([sys.executable, "-m", "iackms", *args], cwd=cwd, capture_output=True, text=True, env={**e, **(env or {})}, timeout=120)


def test_cli_formats_and_outputs(tmp_path):
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.tf").write_text('resource "aws_kms_key" "k" {\n  enable_key_rotation = false\n}\n')
    r = cli("inventory", "infra", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("# KMS key inventory") and "`aws_kms_key.k`" in r.stdout
    (tmp_path / "out").mkdir()
    r = cli("inventory", "infra", "--format", "json", "--output", "out/inv.json", "--format", "html", "--output", "out/inv.html",
            "--format", "csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "out" / "inv.json").read_text())
    assert [k["address"] for k in doc["keys"]] == ["aws_kms_key.k"]
    html = (tmp_path / "out" / "inv.html").read_text()
    assert 'href="../infra/main.tf#L1"' in html  # relative to where the page is written
    assert r.stdout.startswith("id,address,")
    r = cli("inventory", "infra", "--format", "html", "--link-base", "https://example.com/r/blob/abc", cwd=tmp_path)
    assert 'href="https://example.com/r/blob/abc/infra/main.tf#L1"' in r.stdout


def test_cli_errors(tmp_path):
    assert cli("inventory", "missing", cwd=tmp_path).returncode == 2
    assert cli("inventory", "--format", "json", "--format", "csv", cwd=tmp_path).returncode == 2
    r = cli("inventory", "--format", "json", "--output", "new/dir/x.json", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "new" / "dir" / "x.json").is_file()  # directories are created, as for scan
    (tmp_path / "afile").write_text("")
    r = cli("inventory", "--format", "json", "--output", "afile/x.json", cwd=tmp_path)
    assert r.returncode == 2 and "cannot write" in r.stderr
    assert cli("inventory", "--format", "pdf", cwd=tmp_path).returncode == 2


def test_cli_job_summary(tmp_path):
    (tmp_path / "main.tf").write_text('resource "aws_kms_key" "k" {}\n')
    summary = tmp_path / "summary.md"
    summary.write_text("## iackms: 1 KMS finding\n\n")
    r = cli("inventory", "--format", "github", cwd=tmp_path, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert r.returncode == 0 and r.stdout == ""
    text = summary.read_text()
    assert text.startswith("## iackms: 1 KMS finding") and "# KMS key inventory" in text and "`aws_kms_key.k`" in text


def test_rules_lists_controls(tmp_path):
    r = cli("rules", cwd=tmp_path)
    assert r.returncode == 0
    line = next(x for x in r.stdout.splitlines() if x.startswith("IKMS101"))
    assert "CIS 3.6 (v3.0+), 3.8 (v1.4–v2.0); NIST 3.13.10; CMMC SC.L2-3.13.10" in line
    assert r.stdout.splitlines()[0].endswith("CONTROLS")


# --- controls --------------------------------------------------------------------------------


def test_controls_follow_the_sources():
    """A rule supports exactly the controls of the sources it cites."""
    from iackms.rules import REGISTRY
    from iackms.rules.sources import CONTROLS_OF

    for rid, r in REGISTRY.items():
        want = tuple(c for src, cs in CONTROLS_OF if src in r.meta.sources for c in cs)
        assert r.meta.controls == want, rid
    cited = {s.label for r in REGISTRY.values() for s in r.meta.sources}
    for src, _ in CONTROLS_OF:
        assert src.label in cited
    # every source naming a framework maps to controls
    for r in REGISTRY.values():
        for s in r.meta.sources:
            if any(w in s.label for w in ("NIST SP 800-171", "CMMC", "CIS AWS")):
                assert any(src == s for src, _ in CONTROLS_OF), s.label


def test_controls_in_the_inventory(realworld_inv):
    rows = {(c["framework"], c["id"]): c for c in realworld_inv["controls"]}
    rot = rows[("CIS AWS Foundations", "3.6")]
    assert rot["rules"] == ["IKMS101"] and rot["versions"] == "v3.0+"
    assert rot["findings"] == realworld_inv["summary"]["findings"]["by_rule"].get("IKMS101", 0)
    assert rows[("CMMC", "SC.L2-3.13.10")]["rules"] == ["IKMS101", "IKMS102", "IKMS104", "IKMS306"]
    assert realworld_inv["rules"]["IKMS101"]["controls"][0] == {
        "framework": "CIS AWS Foundations", "id": "3.6", "title": "Ensure rotation for customer-created symmetric CMKs is enabled", "versions": "v3.0+"}


def test_sarif_rule_properties_name_controls():
    from iackms.findings import Report
    from iackms.reporters.sarif import render

    rules = {r["id"]: r for r in json.loads(render(Report()))["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["IKMS204"]["properties"]["controls"] == ["NIST SP 800-171 3.1.4", "CMMC AC.L2-3.1.4"]
    assert "controls" not in rules["IKMS202"]["properties"]


# --- speed ---------------------------------------------------------------------------------------



def test_the_inventory_is_one_scan_and_a_pass_over_its_model(monkeypatch, tmp_path):
    """Why the inventory costs no more than the scan plus a little (measured by
    `benchmarks/bench.py --inventory`, recorded in docs/performance.md; no
    timed test): the CLI parses the inputs once, and building the inventory
    reads no file and parses nothing."""
    import builtins

    from iackms import engine
    from iackms.cli import main

    src = FIXTURES / "IKMS101" / "fail" / "main.tf"
    (tmp_path / "main.tf").write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    calls = []
    real_parse = engine.parse_inputs
    monkeypatch.setattr(engine, "parse_inputs", lambda *a, **k: calls.append(1) or real_parse(*a, **k))
    assert main(["inventory", ".", "--format", "json", "--output", "inv.json"]) == 0
    assert len(calls) == 1
    r = run(["."], Config())
    real_open = builtins.open

    def no_io(*a, **k):
        raise AssertionError(f"the inventory read a file: {a[:1]}")

    monkeypatch.setattr(builtins, "open", no_io)
    try:
        inv = build(r.unit, r.report, r.keys(), trusted_accounts=())
    finally:
        monkeypatch.setattr(builtins, "open", real_open)
    assert [k["address"] for k in inv["keys"]]
