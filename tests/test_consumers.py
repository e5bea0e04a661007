"""Consumers and delivery paths (issue 14): the famous failures end to end,
the linker's reading of key references, and the key-policy question a
service asks (semantics.service_access)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from iackms import semantics as sem
from iackms.config import Config
from iackms.context import ScanContext
from iackms.engine import discover, link, parse_inputs, scan
from iackms.linker import form_of, joint
from iackms.model import OPAQUE_CLOSE, OPAQUE_OPEN, THIS_ACCOUNT, Attr, Choice, Key, Location
from iackms.parsers.tf_prescan import Prescan
from iackms.policy import build_policies

ROOT = Path(__file__).resolve().parent.parent
SCEN = ROOT / "fixtures" / "scenarios"
EXPECT = re.compile(r"expect:\s*((?:IKMS\d{3}[ ,]*)+)")

#: the famous failures of issue 14: scenario, file, rule, resource
FAMOUS = [
    ("alarm-to-cmk-topic", "main.tf", "IKMS301", "aws_cloudwatch_metric_alarm.cpu"),
    ("cloudtrail-cmk", "template.yaml", "IKMS301", "Trail"),
    ("log-group-key-id", "main.tf", "IKMS303", "aws_cloudwatch_log_group.app"),
    ("log-group-key-id", "template.yaml", "IKMS303", "AppLogs"),
    ("sns-to-sqs-aws-managed", "main.tf", "IKMS302", "aws_sns_topic_subscription.orders"),
    ("asg-encrypted-launch-template", "main.tf", "IKMS301", "aws_autoscaling_group.web"),
    ("flow-logs-sse-kms-bucket", "main.tf", "IKMS301", "aws_flow_log.vpc"),
    ("flow-logs-sse-kms-bucket", "main.tf", "IKMS303", "aws_s3_bucket_server_side_encryption_configuration.flow"),
]


def _expected(path: Path) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = EXPECT.search(line)
        if m:
            for rid in re.findall(r"IKMS\d{3}", m.group(1)):
                out.setdefault(rid, []).append(i)
    return out


@pytest.mark.parametrize("scenario,file,rid,resource", FAMOUS, ids=[f"{s}-{f}-{r}" for s, f, r, _ in FAMOUS])
def test_famous_failures(scenario, file, rid, resource, monkeypatch):
    """Each famous failure is reported by its rule, on the marked line of that
    file, for that resource, and by no other IKMS3xx rule there (default profile)."""
    monkeypatch.chdir(ROOT)
    path = SCEN / scenario / file
    rel = path.relative_to(ROOT).as_posix()
    report = scan([rel], Config())
    got = [f for f in report.findings if f.rule_id == rid]
    want = _expected(path)[rid]
    assert sorted(f.line for f in got) == want, [(f.line, f.message) for f in got]
    assert {f.file for f in got} == {rel}
    assert resource in {f.resource for f in got}
    assert all(f.severity == "high" for f in got)
    others = {f.rule_id for f in report.findings if f.rule_id.startswith("IKMS3")} - set(_expected(path))
    assert not others, others


def test_famous_failure_messages_name_service_principal_and_fix(monkeypatch):
    monkeypatch.chdir(ROOT)
    report = scan(["fixtures/scenarios/alarm-to-cmk-topic"], Config())
    (f,) = [f for f in report.findings if f.rule_id == "IKMS301"]
    assert "cloudwatch.amazonaws.com" in f.message and "kms:GenerateDataKey*, kms:Decrypt" in f.message
    assert "account-root statement does not reach service principals" in f.message
    assert '"Principal":{"Service":"cloudwatch.amazonaws.com"}' in f.message
    # the key policy is the related location
    assert f.related and f.related[0][0] == "fixtures/scenarios/alarm-to-cmk-topic/main.tf" and "key policy" in f.related[0][2]
    report = scan(["fixtures/scenarios/asg-encrypted-launch-template"], Config())
    (f,) = [f for f in report.findings if f.rule_id == "IKMS301"]
    assert "kms:CreateGrant" in f.message and "kms:GrantIsForAWSResource" in f.message
    assert "AWSServiceRoleForAutoScaling" in f.message
    # a key ID where an ARN is needed: the key is the related location
    report = scan(["fixtures/scenarios/log-group-key-id/template.yaml"], Config())
    (f,) = [f for f in report.findings if f.rule_id == "IKMS303"]
    assert f.related and "LogsKey" in f.related[0][2], f.related


def test_plan_consumers_link_through_configuration_references(monkeypatch):
    monkeypatch.chdir(ROOT)
    report = scan(["fixtures/scenarios/plan-alarm-to-topic"], Config())
    got = {(f.rule_id, f.resource) for f in report.findings if f.rule_id.startswith("IKMS3")}
    assert got == {("IKMS301", "aws_cloudwatch_metric_alarm.cpu"), ("IKMS302", "aws_sns_topic_subscription.jobs")}


def test_cmmc_l2_reports_customer_managed_key_not_used_as_low(monkeypatch):
    monkeypatch.chdir(ROOT)
    for profile, sev in (("cmmc-l2", "low"), ("cmmc-l3", "medium"), ("strict", "medium")):
        report = scan(["fixtures/IKMS306/fail/main.tf"], Config(profile=profile))
        got = {f.severity for f in report.findings if f.rule_id == "IKMS306"}
        assert got == {sev}, profile
    assert not [f for f in scan(["fixtures/IKMS306/fail/main.tf"], Config()).findings if f.rule_id == "IKMS306"]


# --- the linker ------------------------------------------------------------------------------


def _unit(tmp_path: Path, files: dict[str, str], profile: str = "default"):
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    ctx = ScanContext(roots=[tmp_path.resolve()], cwd=tmp_path)
    inp = discover([str(tmp_path)], ctx, Config(profile=profile))
    u = parse_inputs(inp, ctx)
    link(u)
    return u


def _refs(u, address):
    return [(r.kind, r.form, r.key.address if r.key else None, r.alias) for c in u.consumers if c.address == address for r in c.refs]


def test_terraform_references_give_the_key_and_its_form(tmp_path):
    u = _unit(tmp_path, {"main.tf": """
        resource "aws_kms_key" "k" {}
        resource "aws_kms_alias" "a" {
          name          = "alias/app"
          target_key_id = aws_kms_key.k.key_id
        }
        data "aws_kms_alias" "sns" { name = "alias/aws/sns" }
        data "aws_kms_key" "other" { key_id = "alias/other" }
        module "kms" { source = "./kms" }
        resource "aws_sns_topic" "arn" { kms_master_key_id = aws_kms_key.k.arn }
        resource "aws_sns_topic" "id" { kms_master_key_id = aws_kms_key.k.key_id }
        resource "aws_sns_topic" "alias" { kms_master_key_id = aws_kms_alias.a.name }
        resource "aws_sns_topic" "alias_arn" { kms_master_key_id = aws_kms_alias.a.arn }
        resource "aws_sns_topic" "literal_alias" { kms_master_key_id = "alias/app" }
        resource "aws_sns_topic" "managed" { kms_master_key_id = data.aws_kms_alias.sns.target_key_arn }
        resource "aws_sns_topic" "lookup" { kms_master_key_id = data.aws_kms_key.other.arn }
        resource "aws_sns_topic" "module" { kms_master_key_id = module.kms.key_arn }
        resource "aws_sns_topic" "var" { kms_master_key_id = var.key }
        resource "aws_sns_topic" "sub" { kms_master_key_id = "arn:aws:kms:us-east-1:${data.aws_caller_identity.c.account_id}:key/${aws_kms_key.k.key_id}" }
        variable "key" {}
        data "aws_caller_identity" "c" {}
    """, "kms/main.tf": """
        resource "aws_kms_key" "this" {}
        output "key_arn" { value = aws_kms_key.this.arn }
    """})
    assert _refs(u, "aws_sns_topic.arn") == [("key", "arn", "aws_kms_key.k", None)]
    assert _refs(u, "aws_sns_topic.id") == [("key", "id", "aws_kms_key.k", None)]
    assert _refs(u, "aws_sns_topic.alias") == [("key", "alias_name", "aws_kms_key.k", "alias/app")]
    assert _refs(u, "aws_sns_topic.alias_arn") == [("key", "alias_arn", "aws_kms_key.k", "alias/app")]
    assert _refs(u, "aws_sns_topic.literal_alias") == [("key", "alias_name", "aws_kms_key.k", "alias/app")]
    assert _refs(u, "aws_sns_topic.managed") == [("aws_managed", "arn", None, "alias/aws/sns")]
    assert _refs(u, "aws_sns_topic.lookup") == [("external", "arn", None, "alias/other")]
    assert _refs(u, "aws_sns_topic.module") == [("key", "arn", "module.kms.aws_kms_key.this", None)]
    assert _refs(u, "aws_sns_topic.var")[0][:2] == ("unknown", None)
    assert _refs(u, "aws_sns_topic.sub") == [("key", "arn", "aws_kms_key.k", None)]


def test_cloudformation_references_give_the_key_and_its_form(tmp_path):
    u = _unit(tmp_path, {"t.yaml": """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  KeyParam: {Type: String}
Conditions:
  HasKey: !Not [!Equals [!Ref KeyParam, ""]]
Resources:
  Key: {Type: AWS::KMS::Key}
  Alias:
    Type: AWS::KMS::Alias
    Properties: {AliasName: alias/app, TargetKeyId: !Ref Key}
  ByRef: {Type: AWS::SNS::Topic, Properties: {KmsMasterKeyId: !Ref Key}}
  ByArn: {Type: AWS::SNS::Topic, Properties: {KmsMasterKeyId: !GetAtt Key.Arn}}
  ByAlias: {Type: AWS::SNS::Topic, Properties: {KmsMasterKeyId: !Ref Alias}}
  BySub: {Type: AWS::SNS::Topic, Properties: {KmsMasterKeyId: !Sub "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/${Key}"}}
  Managed: {Type: AWS::SNS::Topic, Properties: {KmsMasterKeyId: !Sub "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:alias/aws/sns"}}
  Imported: {Type: AWS::SNS::Topic, Properties: {KmsMasterKeyId: !ImportValue shared-key}}
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketEncryption:
        ServerSideEncryptionConfiguration:
          - ServerSideEncryptionByDefault:
              SSEAlgorithm: !If [HasKey, "aws:kms", AES256]
              KMSMasterKeyID: !If [HasKey, !Ref KeyParam, !Ref AWS::NoValue]
"""})
    assert _refs(u, "ByRef") == [("key", "id", "Key", None)]
    assert _refs(u, "ByArn") == [("key", "arn", "Key", None)]
    assert _refs(u, "ByAlias") == [("key", "alias_name", "Key", "alias/app")]
    assert _refs(u, "BySub") == [("key", "arn", "Key", None)]
    assert _refs(u, "Managed") == [("aws_managed", "alias_arn", None, "alias/aws/sns")]
    assert _refs(u, "Imported")[0][0] == "unknown"
    # one condition decides both: aws:kms with the parameter's key, or SSE-S3 without a key; never aws:kms without a key
    kinds = sorted((r.kind, r.result) for c in u.consumers if c.address == "Bucket" for r in c.refs)
    assert kinds == [("off", "sse_s3"), ("unknown", "")]


def test_joint_pairs_choices_of_one_condition():
    a = Choice(("aws:kms", "AES256"), "Fn::If [HasKey, ...]")
    b = Choice(("k", "none"), "Fn::If [HasKey, ...]")
    c = Choice((1, 2), "Fn::If [Other, ...]")
    assert joint([a, b]) == [("aws:kms", "k"), ("AES256", "none")]
    assert len(joint([a, c])) == 4


@pytest.mark.parametrize("value,form", [
    ("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "arn"),
    ("arn:aws:kms:us-east-1:111122223333:alias/app", "alias_arn"),
    ("alias/aws/sns", "alias_name"),
    ("1234abcd-12ab-34cd-56ef-1234567890ab", "id"),
    ("mrk-1234abcd12ab34cd56ef1234567890ab", "id"),
    (f"arn:aws:kms:{OPAQUE_OPEN}AWS::Region{OPAQUE_CLOSE}:{THIS_ACCOUNT}:alias/aws/sns", "alias_arn"),
    ("not-a-key", None),
])
def test_form_of_literal_references(value, form):
    assert form_of(value) == form


def test_s3_bucket_and_its_encryption_configuration_are_one_destination(tmp_path):
    u = _unit(tmp_path, {"main.tf": """
        resource "aws_s3_bucket" "b" { bucket = "logs-bucket" }
        resource "aws_s3_bucket_server_side_encryption_configuration" "b" {
          bucket = aws_s3_bucket.b.id
          rule {
            apply_server_side_encryption_by_default { sse_algorithm = "aws:kms" }
          }
        }
        resource "aws_flow_log" "by_ref" {
          log_destination_type = "s3"
          log_destination      = aws_s3_bucket.b.arn
        }
        resource "aws_flow_log" "by_name" {
          log_destination_type = "s3"
          log_destination      = "arn:aws:s3:::logs-bucket/prefix/"
        }
        resource "aws_flow_log" "to_logs" {
          log_destination = "arn:aws:logs:us-east-1:111122223333:log-group:flows"
        }
    """})
    bucket = [c for c in u.consumers if c.address == "aws_s3_bucket.b"][0]
    assert bucket.superseded
    targets = {d.address: [t.address for t in d.targets] for d in u.deliveries}
    assert targets["aws_flow_log.by_ref"] == ["aws_s3_bucket_server_side_encryption_configuration.b"]
    assert targets["aws_flow_log.by_name"] == ["aws_s3_bucket_server_side_encryption_configuration.b"]
    assert "aws_flow_log.to_logs" not in targets  # cloud-watch-logs destination: the path does not apply


def test_prescan_evaluates_directories_that_name_a_key(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "main.tf").write_text('resource "aws_cloudwatch_log_group" "g" { kms_key_id = var.kms_key_id }\nvariable "kms_key_id" {}\n')
    (tmp_path / "uses").mkdir()
    (tmp_path / "uses" / "main.tf").write_text('resource "aws_sns_topic" "t" { kms_master_key_id = "alias/aws/sns" }\n')
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "main.tf").write_text('resource "aws_dynamodb_table" "t" { name = "t" }\n')
    ctx = ScanContext(roots=[tmp_path.resolve()])
    pre = Prescan(ctx)
    assert not pre.has_kms(tmp_path / "lib")  # only a variable: every rule would answer "unknown"
    assert pre.has_kms(tmp_path / "uses")
    assert not pre.has_kms(tmp_path / "store")
    ctx.data_stores = True  # a rule that reports stores without a key is on (IKMS306)
    assert Prescan(ctx).has_kms(tmp_path / "store")


# --- semantics: can a service use the key ----------------------------------------------------


def _key(statements: list, region: str | None = None) -> Key:
    k = Key("aws_kms_key.k", "aws_kms_key", Location("t.tf", 1, 1), "terraform")
    raw = {"Version": "2012-10-17", "Statement": statements}
    k.policy = Attr(raw, Location("t.tf", 2, 2), True)
    k.policies = build_policies(raw, Location("t.tf", 2, 2), "inline")
    if region:
        k.attrs["region"] = Attr(region, None, True)
    return k


ROOT_STMT = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{THIS_ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
ALARMS = sem.ServiceCall("service", "cloudwatch.amazonaws.com", ("kms:GenerateDataKey*", "kms:Decrypt"),
                         supported=(("aws:sourceaccount", ("stringequals",), (THIS_ACCOUNT,)),),
                         unsupported=())
EVENTS = sem.ServiceCall("service", "events.amazonaws.com", ("kms:GenerateDataKey*", "kms:Decrypt"),
                         unsupported=("aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid"))
LOGS = sem.ServiceCall("service", "logs.{region}.amazonaws.com", ("kms:Encrypt*", "kms:Decrypt*"), region="eu-west-1")


def _svc(principal, actions=("kms:GenerateDataKey*", "kms:Decrypt"), **extra):
    return {"Sid": "S", "Effect": "Allow", "Principal": principal, "Action": list(actions), "Resource": "*", **extra}


def test_root_delegation_does_not_reach_services():
    acc = sem.service_access(_key([ROOT_STMT]), ALARMS)
    assert acc.allowed is False and acc.missing == ["kms:GenerateDataKey*", "kms:Decrypt"]


def test_a_key_without_policy_gets_the_default_one():
    k = Key("aws_kms_key.k", "aws_kms_key", Location("t.tf", 1, 1), "terraform")
    assert sem.service_access(k, ALARMS).allowed is False


def test_service_statement_and_its_conditions():
    ok = _key([ROOT_STMT, _svc({"Service": "cloudwatch.amazonaws.com"})])
    assert sem.service_access(ok, ALARMS).allowed is True
    pinned = _key([ROOT_STMT, _svc({"Service": "cloudwatch.amazonaws.com"},
                                   Condition={"StringEquals": {"aws:SourceAccount": THIS_ACCOUNT}})])
    assert sem.service_access(pinned, ALARMS).allowed is True
    # a condition key EventBridge is documented not to send: the statement never applies
    never = _key([ROOT_STMT, _svc({"Service": "events.amazonaws.com"}, Condition={"StringEquals": {"aws:SourceAccount": THIS_ACCOUNT}})])
    assert sem.service_access(never, EVENTS).allowed is False
    # a condition key the table does not know: unknown, never pass or fail
    unknown = _key([ROOT_STMT, _svc({"Service": "cloudwatch.amazonaws.com"}, Condition={"StringEquals": {"kms:ViaService": "sns.us-east-1.amazonaws.com"}})])
    acc = sem.service_access(unknown, ALARMS)
    assert acc.allowed is None and "kms:viaservice" in acc.why.lower()
    # one action missing
    half = _key([ROOT_STMT, _svc({"Service": "cloudwatch.amazonaws.com"}, actions=("kms:Decrypt",))])
    acc = sem.service_access(half, ALARMS)
    assert acc.allowed is False and acc.missing == ["kms:GenerateDataKey*"]


def test_a_deny_without_condition_wins_and_a_guard_for_non_services_does_not():
    deny = {"Sid": "D", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}
    assert sem.service_access(_key([ROOT_STMT, _svc({"Service": "cloudwatch.amazonaws.com"}), deny]), ALARMS).allowed is False
    guard = dict(deny, Condition={"BoolIfExists": {"aws:PrincipalIsAWSService": "false"}})
    assert sem.service_access(_key([ROOT_STMT, _svc({"Service": "cloudwatch.amazonaws.com"}), guard]), ALARMS).allowed is True


def test_regional_principal():
    opaque = f"logs.{OPAQUE_OPEN}AWS::Region{OPAQUE_CLOSE}.amazonaws.com"
    assert sem.service_access(_key([_svc({"Service": opaque}, actions=("kms:Encrypt*", "kms:Decrypt*"))]), LOGS).allowed is True
    same = _key([_svc({"Service": "logs.eu-west-1.amazonaws.com"}, actions=("kms:Encrypt*", "kms:Decrypt*"))])
    assert sem.service_access(same, LOGS).allowed is True
    other = _key([_svc({"Service": "logs.us-east-1.amazonaws.com"}, actions=("kms:Encrypt*", "kms:Decrypt*"))])
    assert sem.service_access(other, LOGS).allowed is False
    # the global name is not what CloudWatch Logs documents: unknown, not a pass or a failure
    glob = _key([_svc({"Service": "logs.amazonaws.com"}, actions=("kms:Encrypt*", "kms:Decrypt*"))])
    assert sem.service_access(glob, LOGS).allowed is None


def test_service_linked_role_and_grant():
    role = "aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    call = sem.ServiceCall("role", role, ("kms:Decrypt",))
    arn = f"arn:aws:iam::{THIS_ACCOUNT}:role/{role}"
    use = _svc({"AWS": arn}, actions=("kms:Decrypt",))
    assert sem.service_access(_key([ROOT_STMT, use]), call).allowed is True
    acc = sem.service_access(_key([ROOT_STMT, use]), call, grant_action="kms:CreateGrant")
    assert acc.allowed is False and acc.missing == ["kms:CreateGrant"]
    grant = _svc({"AWS": arn}, actions=("kms:CreateGrant",), Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}})
    assert sem.service_access(_key([ROOT_STMT, use, grant]), call, grant_action="kms:CreateGrant").allowed is True


def test_review_corrections(tmp_path):
    """Cases found reviewing the corpora: an EventBridge target with a role is delivered with the role;
    a Lambda function without environment variables has nothing its key protects; an Aurora instance takes
    its encryption from the cluster, a read replica or a
    snapshot restore from its source, a global datastore's secondary from the datastore; an instance-store mapping is no EBS volume; an EBS volume without a
    key uses the account's default key, which an aws_ebs_default_kms_key of the root decides."""
    u = _unit(tmp_path, {"main.tf": """
        resource "aws_sns_topic" "t" { kms_master_key_id = "alias/aws/sns" }
        resource "aws_cloudwatch_event_target" "role" {
          rule     = "r"
          arn      = aws_sns_topic.t.arn
          role_arn = "arn:aws:iam::111122223333:role/delivery"
        }
        resource "aws_cloudwatch_event_target" "plain" {
          rule = "r"
          arn  = aws_sns_topic.t.arn
        }
        resource "aws_lambda_function" "no_env" { function_name = "a" }
        resource "aws_lambda_function" "env" {
          function_name = "b"
          environment { variables = { A = "1" } }
        }
        resource "aws_db_instance" "member" {
          cluster_identifier = "aurora"
          engine             = "aurora-postgresql"
        }
        resource "aws_db_instance" "replica" { replicate_source_db = "primary" }
        resource "aws_db_instance" "restored" { snapshot_identifier = "snap" }
        resource "aws_rds_cluster" "restored" { snapshot_identifier = "snap" }
        resource "aws_db_instance" "plain" { engine = "postgres" }
        variable "secondary" { type = bool }
        resource "aws_elasticache_replication_group" "member" { global_replication_group_id = "g" }
        resource "aws_elasticache_replication_group" "maybe" {
          global_replication_group_id = var.secondary ? "g" : null
          at_rest_encryption_enabled  = var.secondary ? null : true
        }
        resource "aws_elasticache_replication_group" "alone" { at_rest_encryption_enabled = true }
        resource "aws_kms_key" "ebs" {}
        resource "aws_ebs_default_kms_key" "d" { key_arn = aws_kms_key.ebs.arn }
        resource "aws_ebs_volume" "v" {
          availability_zone = "us-east-1a"
          encrypted         = true
        }
    """, "t.yaml": """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Instance:
    Type: AWS::EC2::Instance
    Properties:
      BlockDeviceMappings:
        - DeviceName: /dev/sdb
          VirtualName: ephemeral0
"""})
    assert {d.address for d in u.deliveries if d.path_id == "eventbridge-target-to-sns"} == {"aws_cloudwatch_event_target.plain"}
    assert {c.address for c in u.consumers if c.table_id == "lambda-function"} == {"aws_lambda_function.env"}
    assert {c.address for c in u.consumers if c.table_id == "rds-db-instance"} == {"aws_db_instance.plain"}
    assert not [c for c in u.consumers if c.table_id == "rds-cluster"]
    # a global datastore's secondary takes its encryption from the datastore: not judged, or undecided
    groups = {c.address: c.applies for c in u.consumers if c.table_id == "elasticache-replication-group"}
    assert groups == {"aws_elasticache_replication_group.maybe": None, "aws_elasticache_replication_group.alone": True}
    assert not [c for c in u.consumers if c.address == "Instance"]
    (vol,) = [c for c in u.consumers if c.address == "aws_ebs_volume.v"]
    assert [(r.kind, r.key.address if r.key else None) for r in vol.refs] == [("key", "aws_kms_key.ebs")]


def test_prescan_ignores_keys_named_in_descriptions_and_comments():
    from iackms.parsers.tf_prescan import names_a_key, worth_evaluating

    assert not names_a_key(b'variable "k" {\n  description = "defaults to alias/aws/dynamodb"\n}\n# aws:kms or AES256\n')
    assert names_a_key(b'resource "aws_sns_topic" "t" {\n  kms_master_key_id = "alias/aws/sns"\n}\n')
    assert names_a_key(b'  sse_algorithm = "aws:kms"\n')
    assert worth_evaluating(b'resource "aws_kms_key" "k" {}\n', False)
    assert not worth_evaluating(b'resource "aws_s3_bucket" "b" {}\n', False)
    assert worth_evaluating(b'resource "aws_s3_bucket" "b" {}\n', True)


def test_a_finding_on_a_module_attribute_is_reported_where_the_value_is_written(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    (tmp_path / "mod").mkdir()
    (tmp_path / "main.tf").write_text('resource "aws_kms_key" "k" {}\nmodule "logs" {\n  source     = "./mod"\n  kms_key_id = aws_kms_key.k.id\n}\n')
    (tmp_path / "mod" / "main.tf").write_text('variable "kms_key_id" {}\nresource "aws_cloudwatch_log_group" "g" {\n'
                                              '  name       = "/x"\n  kms_key_id = var.kms_key_id\n}\n')
    monkeypatch.chdir(tmp_path)
    (f,) = [f for f in scan(["."], Config()).findings if f.rule_id == "IKMS303"]
    assert (f.file, f.line, f.resource) == ("main.tf", 4, "module.logs.aws_cloudwatch_log_group.g")
    assert "aws_kms_key.k.id is a key ID" in f.message
    assert ("mod/main.tf", 4, "kms_key_id = var.kms_key_id") in f.related


# --- conditions on the caller's identity: what a service principal's requests do not carry -----------------

ORG = {"aws:PrincipalOrgID": "o-abc123def4"}


@pytest.mark.parametrize("op,body,want", [
    # IAM: a missing key makes positive operators false, negated ones true, ...IfExists true
    ("StringEquals", ORG, False),
    ("StringLike", {"aws:PrincipalOrgPaths": "o-abc123def4/*"}, False),
    ("StringEqualsIgnoreCase", {"aws:PrincipalAccount": THIS_ACCOUNT}, False),
    ("ArnEquals", {"aws:PrincipalArn": f"arn:aws:iam::{THIS_ACCOUNT}:role/app"}, False),
    ("ArnLike", {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}, False),
    ("StringEquals", {"aws:userid": "AIDA*"}, False),
    ("StringEquals", {"aws:username": "alice"}, False),
    ("StringEquals", {"aws:PrincipalTag/team": "payments"}, False),
    ("StringNotEquals", ORG, True),
    ("StringNotLike", {"aws:PrincipalOrgPaths": "o-abc123def4/*"}, True),
    ("ArnNotEquals", {"aws:PrincipalArn": f"arn:aws:iam::{THIS_ACCOUNT}:role/app"}, True),
    ("ArnNotLike", {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}, True),
    ("StringEqualsIfExists", ORG, True),
    ("StringNotEqualsIfExists", ORG, True),
    ("ArnLikeIfExists", {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}, True),
    ("Null", {"aws:PrincipalOrgID": "true"}, True),
    ("Null", {"aws:PrincipalOrgID": "false"}, False),
    ("ForAnyValue:StringEquals", {"aws:PrincipalTag/team": ["a", "b"]}, False),
    ("ForAllValues:StringEquals", {"aws:PrincipalTag/team": ["a", "b"]}, True),
    # what a service principal's requests do carry
    ("Bool", {"aws:PrincipalIsAWSService": "true"}, True),
    ("Bool", {"aws:PrincipalIsAWSService": "false"}, False),
    ("BoolIfExists", {"aws:PrincipalIsAWSService": "false"}, False),
    ("StringEquals", {"aws:PrincipalServiceName": "cloudwatch.amazonaws.com"}, True),
    ("StringEquals", {"aws:PrincipalServiceName": "events.amazonaws.com"}, False),
])
def test_identity_conditions_for_a_service_principal(op, body, want):
    """An Allow for everyone under the condition lets the service in exactly when the condition holds for its
    requests; a Deny for everyone under it refuses the service exactly then."""
    allow = _key([ROOT_STMT, _svc("*", Condition={op: body})])
    assert sem.service_access(allow, ALARMS).allowed is want
    deny = {"Sid": "D", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {op: body}}
    acc = sem.service_access(_key([ROOT_STMT, _svc({"Service": "cloudwatch.amazonaws.com"}), deny]), ALARMS)
    assert acc.allowed is (not want)
    if want:
        assert acc.denied_by is not None and "statement 'D' denies it" in acc.why
    # a key the table says the service does not send follows the same logic (EventBridge and aws:SourceAccount)
    if list(body) == ["aws:PrincipalOrgID"] and op in ("StringNotEquals", "StringEqualsIfExists", "StringEquals"):
        events = _key([ROOT_STMT, _svc({"Service": "events.amazonaws.com"}, Condition={op: {"aws:SourceAccount": "1"}})])
        assert sem.service_access(events, EVENTS).allowed is want


def test_data_perimeter_deny_and_its_exemption_for_services():
    allow = _svc({"Service": "cloudwatch.amazonaws.com"})
    perimeter = {"Sid": "DenyOutsideOrg", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
                 "Condition": {"StringNotEquals": ORG}}
    acc = sem.service_access(_key([ROOT_STMT, allow, perimeter]), ALARMS)
    assert acc.allowed is False and acc.missing == ["kms:GenerateDataKey*", "kms:Decrypt"]
    assert acc.denied_by is not None and acc.denied_by.sid == "DenyOutsideOrg"
    assert "aws:PrincipalOrgID" in acc.why and "AWS service principal" in acc.why
    for guard in ({"BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}, {"Bool": {"aws:PrincipalIsAWSService": "false"}}):
        fixed = dict(perimeter, Condition={"StringNotEquals": ORG, **guard})
        assert sem.service_access(_key([ROOT_STMT, allow, fixed]), ALARMS).allowed is True
    # without an Allow for the service the policy is missing a statement, not only the exemption
    acc = sem.service_access(_key([ROOT_STMT, perimeter]), ALARMS)
    assert acc.allowed is False and acc.denied_by is None
    # an Allow for everyone in the organization cannot match the service: the why says so
    acc = sem.service_access(_key([ROOT_STMT, _svc("*", Condition={"StringEquals": ORG})]), ALARMS)
    assert acc.allowed is False and "cannot match a service principal" in acc.why


SLR = "aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def _asg_call(region=None):
    from iackms.consumer_table import table
    from iackms.rules.consumers import call_for

    k = _key([ROOT_STMT], region)
    return call_for(table().services["autoscaling-slr-ebs"], k)


@pytest.mark.parametrize("op,body,want", [
    # a service-linked role is an IAM role of this account
    ("StringEquals", {"aws:PrincipalAccount": THIS_ACCOUNT}, True),
    ("StringNotEquals", {"aws:PrincipalAccount": THIS_ACCOUNT}, False),
    ("ArnLike", {"aws:PrincipalArn": "arn:aws:iam::*:role/aws-service-role/*"}, True),
    ("ArnEquals", {"aws:PrincipalArn": f"arn:aws:iam::{THIS_ACCOUNT}:role/{SLR}"}, True),
    ("ArnEquals", {"aws:PrincipalArn": f"arn:aws:iam::{THIS_ACCOUNT}:role/app"}, False),
    ("Bool", {"aws:PrincipalIsAWSService": "false"}, True),
    ("Bool", {"aws:PrincipalIsAWSService": "true"}, False),
    ("Null", {"aws:PrincipalArn": "true"}, False),
    ("StringEquals", {"aws:username": "alice"}, False),
    # the account's organization is not known statically
    ("StringEquals", ORG, None),
    ("StringNotEquals", ORG, None),
    ("StringEquals", {"aws:PrincipalTag/team": "x"}, None),
    # it calls KMS through EC2, from this account (the aws/ebs key policy works for it)
    ("StringEquals", {"kms:CallerAccount": THIS_ACCOUNT}, True),
    ("StringEquals", {"kms:CallerAccount": "999988887777"}, None),
    ("StringEquals", {"kms:ViaService": "ec2.\ue003AWS::Region\ue004.amazonaws.com"}, True),
    ("StringLike", {"kms:ViaService": "ec2.*.amazonaws.com"}, True),
    ("StringEquals", {"kms:ViaService": "ec2.us-east-1.amazonaws.com"}, None),
    ("StringEquals", {"kms:ViaService": "s3.us-east-1.amazonaws.com"}, False),
    ("StringEquals", {"kms:ViaService": "ec2.amazonaws.com"}, False),
])
def test_identity_conditions_for_a_service_linked_role(op, body, want):
    use = _svc({"AWS": "*"}, actions=("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"),
               Condition={op: body})
    assert sem.service_access(_key([ROOT_STMT, use]), _asg_call()).allowed is want


def test_the_ebs_managed_key_policy_works_for_auto_scaling_when_the_region_is_told():
    ebs = _svc({"AWS": "*"}, actions=("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"),
               Condition={"StringEquals": {"kms:CallerAccount": THIS_ACCOUNT, "kms:ViaService": "ec2.us-east-1.amazonaws.com"}})
    assert sem.service_access(_key([ROOT_STMT, ebs]), _asg_call(), grant_action="kms:CreateGrant").allowed is None
    assert sem.service_access(_key([ROOT_STMT, ebs], "us-east-1"), _asg_call("us-east-1"), grant_action="kms:CreateGrant").allowed is True
    assert sem.service_access(_key([ROOT_STMT, ebs], "eu-west-1"), _asg_call("eu-west-1"), grant_action="kms:CreateGrant").allowed is False


#: the principal-context fixtures: rule, file, line, resource (tests/test_fixtures.py runs them too)
PRINCIPAL_CONTEXT = [
    ("fail-principal-context/main.tf", [(39, "aws_cloudwatch_log_group.orders"), (82, "aws_cloudwatch_metric_alarm.errors"),
                                        (119, "aws_sns_topic_subscription.jobs"), (151, "aws_cloudwatch_event_target.events"),
                                        (193, "aws_autoscaling_group.web")]),
    ("fail-principal-context.yaml", [(33, "AppLogs"), (77, "ErrorsAlarm"), (115, "OrdersSubscription")]),
    ("pass-principal-context/main.tf", []),
    ("pass-principal-context.yaml", []),
]


@pytest.mark.parametrize("file,want", PRINCIPAL_CONTEXT, ids=[f for f, _ in PRINCIPAL_CONTEXT])
def test_principal_context_fixtures(file, want, monkeypatch):
    monkeypatch.chdir(ROOT)
    rel = f"fixtures/IKMS301/{file}"
    report = scan([rel], Config())
    got = sorted((f.line, f.resource) for f in report.findings if f.rule_id == "IKMS301")
    assert got == want, [(f.line, f.message) for f in report.findings if f.rule_id == "IKMS301"]
    assert all(f.file == rel and f.severity == "high" for f in report.findings if f.rule_id == "IKMS301")
    # every verdict is decided: no note that the key policy cannot be told
    assert not [f for f in report.findings if f.rule_id == "IKMS002" and "IKMS301" in f.message]
    for f in report.findings:
        if f.rule_id != "IKMS301":
            continue
        if "refuses" in f.message:
            # a Deny decides: the message says how to exempt services, and adding an Allow statement would not help
            assert "aws:PrincipalIsAWSService" in f.message and f.fix is None
            assert "holds for a service principal" in f.message
        elif f.resource in ("aws_cloudwatch_log_group.orders", "AppLogs"):
            assert "cannot match a service principal" in f.message and "aws:PrincipalOrgID" in f.message



LB_LOGS_FROM_A_VARIABLE = """variable "log_bucket" {
  type    = string
  default = "acme-lb-logs"
}

resource "aws_kms_key" "logs" {
  enable_key_rotation = true
}

resource "aws_s3_bucket" "logs" {
  bucket = "acme-lb-logs"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.logs.arn
    }
  }
}

resource "aws_lb" "api" {
  name               = "api"
  load_balancer_type = "application"
  subnets            = ["subnet-1", "subnet-2"]
  access_logs {
    bucket  = var.log_bucket
    enabled = true
  }
}
"""

ALARM_TOPIC_KEY_FROM_TFVARS = """variable "topic_kms_key" {
  type    = string
  default = "alias/custom"
}

variable "alarm_topics" {
  type    = list(string)
  default = []
}

resource "aws_sns_topic" "alerts" {
  name              = "alerts"
  kms_master_key_id = var.topic_kms_key
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "errors"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 1
  metric_name         = "Errors"
  namespace           = "AWS/Lambda"
  period              = 60
  statistic           = "Sum"
  threshold           = 0
  alarm_actions       = concat([aws_sns_topic.alerts.arn], var.alarm_topics)
}
"""


def test_a_delivery_finding_stays_at_the_sender_and_names_where_the_key_is_written(tmp_path):
    """A delivery's destination (a bucket name from a variable default) is not
    the bad value: IKMS304 stays at the load balancer's access_logs line. The
    topic's key written in tfvars is related to IKMS302, besides the attribute."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "lb").mkdir()
    (tmp_path / "lb" / "main.tf").write_text(LB_LOGS_FROM_A_VARIABLE)
    (tmp_path / "alarm").mkdir()
    (tmp_path / "alarm" / "main.tf").write_text(ALARM_TOPIC_KEY_FROM_TFVARS)
    (tmp_path / "alarm" / "terraform.tfvars").write_text('topic_kms_key = "alias/aws/sns"\n')
    r = scan([str(tmp_path)], Config(), cwd=tmp_path)
    got = {(f.rule_id, f.file, f.line, f.resource): f.related for f in r.findings if f.rule_id in ("IKMS302", "IKMS304")}
    assert set(got) == {("IKMS304", "lb/main.tf", 29, "aws_lb.api"),
                        ("IKMS302", "alarm/main.tf", 25, "aws_cloudwatch_metric_alarm.errors")}
    assert ("alarm/terraform.tfvars", 1, "the value of aws_sns_topic.alerts kms_master_key_id") in \
        got[("IKMS302", "alarm/main.tf", 25, "aws_cloudwatch_metric_alarm.errors")]


def test_arn_equals_takes_wildcards_as_arn_like(tmp_path, monkeypatch):
    """IAM tests ArnEquals as ArnLike (wildcards in each part): the log-group
    statement AWS documents, pinned with ArnEquals to `...:logs:<region>:<account>:*`,
    lets CloudWatch Logs use the key (no IKMS301 at main.tf:19)."""
    (tmp_path / "main.tf").write_text('data "aws_region" "m" {}\ndata "aws_partition" "current" {}\ndata "aws_caller_identity" "m" {}\nresource "aws_kms_key" "aft" {\n  enable_key_rotation = true\n  policy = jsonencode({\n    Version = "2012-10-17"\n    Statement = [{\n      Sid = "Root", Effect = "Allow", Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.m.account_id}:root" }, Action = "kms:*", Resource = "*"\n    }, {\n      Sid = "Logs", Effect = "Allow", Principal = { Service = "logs.${data.aws_region.m.name}.amazonaws.com" }\n      Action = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"], Resource = "*"\n      Condition = { ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.m.name}:${data.aws_caller_identity.m.account_id}:*" } }\n    }]\n  })\n}\nresource "aws_cloudwatch_log_group" "g" {\n  name       = "x"\n  kms_key_id = aws_kms_key.aft.arn\n}\n')
    monkeypatch.chdir(tmp_path)
    assert [f for f in scan(["."], Config()).findings if f.rule_id in ("IKMS301", "IKMS002")] == []
    (tmp_path / "main.tf").write_text('data "aws_region" "m" {}\ndata "aws_partition" "current" {}\ndata "aws_caller_identity" "m" {}\nresource "aws_kms_key" "aft" {\n  enable_key_rotation = true\n  policy = jsonencode({\n    Version = "2012-10-17"\n    Statement = [{\n      Sid = "Root", Effect = "Allow", Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.m.account_id}:root" }, Action = "kms:*", Resource = "*"\n    }, {\n      Sid = "Logs", Effect = "Allow", Principal = { Service = "logs.${data.aws_region.m.name}.amazonaws.com" }\n      Action = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"], Resource = "*"\n      Condition = { ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.m.name}:${data.aws_caller_identity.m.account_id}:*" } }\n    }]\n  })\n}\nresource "aws_cloudwatch_log_group" "g" {\n  name       = "x"\n  kms_key_id = aws_kms_key.aft.arn\n}\n'.replace(":${data.aws_caller_identity.m.account_id}:*", ":${data.aws_caller_identity.m.account_id}:log-group:other-*"))
    (f,) = [f for f in scan(["."], Config()).findings if f.rule_id == "IKMS301"]
    assert (f.file, f.line, f.resource) == ("main.tf", 19, "aws_cloudwatch_log_group.g")
