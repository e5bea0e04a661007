"""CloudFormation parser: loading, template detection, intrinsics, KMS
resources, suppressions, notes, limits. Line numbers are checked exactly."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from iackms import cfnyaml
from iackms.context import ScanContext
from iackms.model import (
    OPAQUE_CLOSE,
    OPAQUE_OPEN,
    REMOVE,
    THIS_ACCOUNT,
    Choice,
    LDict,
    LList,
    Unknown,
    unknown_piece,
)
from iackms.parsers import cloudformation as cfn


def parse(tmp_path: Path, text: str | bytes, name: str = "t.yaml"):
    data = text if isinstance(text, bytes) else textwrap.dedent(text).lstrip("\n").encode()
    p = tmp_path / name
    p.write_bytes(data)
    return cfn.parse_file(p, data, ScanContext([tmp_path], cwd=tmp_path))


def key(unit, name):
    return next(k for k in unit.keys if k.address == name)


BASIC = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  MyKey:
    Type: AWS::KMS::Key
    Properties:
      Description: test key
      EnableKeyRotation: true
      PendingWindowInDays: 7
      KeyPolicy:
        Version: 2012-10-17
        Statement:
          - Sid: Root
            Effect: Allow
            Principal:
              AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"
            Action: "kms:*"
            Resource: "*"
"""


# --- the basics -------------------------------------------------------------------


def test_basic_key_attrs_and_lines(tmp_path):
    u = parse(tmp_path, BASIC)
    assert u is not None and u.notes == []
    k = key(u, "MyKey")
    assert (k.resource_type, k.source, k.kind) == ("AWS::KMS::Key", "cloudformation", "key")
    assert tuple(k.loc) == ("t.yaml", 3, 17, 3)
    assert k.attrs["description"].value == "test key"
    assert k.attrs["description"].loc.line == 6
    assert k.attrs["rotation"].value is True and k.attrs["rotation"].present
    assert k.attrs["deletion_window"].value == 7 and k.attrs["deletion_window"].loc.line == 8
    assert "deletion_protection" not in k.attrs
    assert k.policy.present and k.policy.loc.line == 9 and k.policy.loc.end_line == 17
    (pol,) = k.policies
    assert pol.version == "2012-10-17"  # a string, not a date
    assert pol.source == "cloudformation" and pol.errors == []
    (st,) = pol.statements
    assert st.sid == "Root" and st.loc.line == 12
    assert st.principals[0].value == f"arn:aws:iam::{THIS_ACCOUNT}:root"
    assert st.principals[0].ptype == "root" and st.principals[0].account == THIS_ACCOUNT


def test_version_date_stays_string_in_loader():
    v = cfnyaml.load("Version: 2012-10-17\nWhen: 2001-12-14t21:59:43.10-05:00\n")
    assert v == {"Version": "2012-10-17", "When": "2001-12-14t21:59:43.10-05:00"}


def test_short_and_long_forms_load_the_same():
    short = textwrap.dedent(
        """
        A: !Ref X
        B: !GetAtt R.Arn
        C: !GetAtt [R, Arn]
        D: !Sub "a-${X}"
        E: !Join ["", [a, !Ref X]]
        F: !If [Cond, !Ref AWS::NoValue, 1]
        G: !Condition Cond
        H: !Select [0, !Split [",", "a,b"]]
        """
    )
    long = textwrap.dedent(
        """
        A: {Ref: X}
        B: {"Fn::GetAtt": [R, Arn]}
        C: {"Fn::GetAtt": [R, Arn]}
        D: {"Fn::Sub": "a-${X}"}
        E: {"Fn::Join": ["", [a, {Ref: X}]]}
        F: {"Fn::If": [Cond, {Ref: "AWS::NoValue"}, 1]}
        G: {Condition: Cond}
        H: {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]}
        """
    )
    assert cfnyaml.load(short) == cfnyaml.load(long)


def test_loader_lines_and_key_locs():
    v = cfnyaml.load("a:\n  b: 1\n  c:\n    - x\n    - y\n\n# trailing\nd: |\n  text\n  more\ne: 2\n", "f.yaml")
    assert isinstance(v, LDict) and isinstance(v["a"]["c"], LList)
    assert tuple(v.key_locs["a"]) == ("f.yaml", 1, 5, 1)
    assert tuple(v["a"].key_locs["c"]) == ("f.yaml", 3, 5, 3)
    assert v["a"]["c"].loc.line == 4 and v["a"]["c"].loc.end_line == 5
    assert tuple(v.key_locs["d"]) == ("f.yaml", 8, 10, 1)
    assert v.key_locs["e"].line == 11


def test_yaml_1_1_scalars_as_pyyaml():
    v = cfnyaml.load("a: yes\nb: 012\nc: '012'\nd: ~\ne: 1.5\nf: \"true\"\n")
    assert v == {"a": True, "b": 10, "c": "012", "d": None, "e": 1.5, "f": "true"}


def test_json_template_with_lines(tmp_path):
    text = """{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Resources": {
    "K": {
      "Type": "AWS::KMS::Key",
      "Properties": {
        "EnableKeyRotation": false,
        "KeyPolicy": {
          "Version": "2012-10-17",
          "Statement": [
            {"Sid": "Any", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}
          ]
        }
      }
    },
    "A": {"Type": "AWS::KMS::Alias", "Properties": {"AliasName": "alias/k", "TargetKeyId": {"Fn::GetAtt": ["K", "Arn"]}}}
  }
}
"""
    u = parse(tmp_path, text.encode(), "t.json")
    k = key(u, "K")
    assert tuple(k.loc) == ("t.json", 4, 15, 5)
    assert k.attrs["rotation"].value is False and k.attrs["rotation"].loc.line == 7
    assert k.policy.loc.line == 8
    (st,) = k.policies[0].statements
    assert st.loc.line == 11 and st.principals[0].wildcard
    (a,) = u.aliases
    assert a.target == "K" and a.attrs["name"].value == "alias/k" and a.loc.line == 16
    assert k.aliases == [a]


def test_json_policy_string_points_at_keypolicy(tmp_path):
    text = (
        '{"Resources": {"K": {"Type": "AWS::KMS::Key", "Properties": {\n'
        '  "KeyPolicy": "{\\"Version\\": \\"2012-10-17\\",\\n \\"Statement\\": [{\\"Effect\\": \\"Allow\\", \\"Principal\\": \\"*\\", \\"Action\\": \\"kms:*\\", \\"Resource\\": \\"*\\"}]}"\n'
        "}}}}\n"
    )
    u = parse(tmp_path, text.encode(), "t.json")
    k = key(u, "K")
    assert isinstance(k.policy.value, str)
    (pol,) = k.policies
    assert pol.loc.line == 2 and pol.statements[0].loc.line == 2
    assert pol.statements[0].principals[0].wildcard


def test_yaml_policy_literal_block_keeps_lines(tmp_path):
    u = parse(
        tmp_path,
        """
        Resources:
          K:
            Type: AWS::KMS::Key
            Properties:
              KeyPolicy: !Sub |
                {
                  "Version": "2012-10-17",
                  "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::${AWS::AccountId}:root"},
                     "Action": "kms:*", "Resource": "*"}
                  ]
                }
        """,
    )
    (pol,) = key(u, "K").policies
    assert pol.loc.line == 6
    assert pol.statements[0].loc.line == 9
    assert pol.statements[0].principals[0].is_root


# --- intrinsics -------------------------------------------------------------------

INTRINSICS = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Env:
    Type: String
    Default: prod
  Window:
    Type: Number
    Default: 14
  NoDefault:
    Type: String
  Ids:
    Type: CommaDelimitedList
    Default: "111111111111, 222222222222"
  FromSsm:
    Type: AWS::SSM::Parameter::Value<String>
    Default: /my/param
  Mode:
    Type: String
    AllowedValues: [Retain, Delete]
Mappings:
  EnvMap:
    prod: {Rotation: "true", Days: 365}
    dev: {Rotation: "false", Days: 90}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  InUsEast: !Equals [!Ref "AWS::Region", us-east-1]
  Both: !And [!Condition IsProd, !Condition InUsEast]
  Either: !Or [!Condition IsProd, !Condition InUsEast]
Resources:
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: app
      Path: /svc/
  AnonRole:
    Type: AWS::IAM::Role
    Properties: {}
  Human:
    Type: AWS::IAM::User
    Properties:
      UserName: alice
  Topic:
    Type: AWS::SNS::Topic
  DevKey:
    Type: AWS::KMS::Key
    Condition: IsDev
  K:
    Type: AWS::KMS::Key
    DeletionPolicy: !Ref Mode
    Properties:
      Description: !Join ["-", [!Ref Env, !Ref "AWS::Region", !Ref NoDefault, !Ref "AWS::StackName"]]
      EnableKeyRotation: !FindInMap [EnvMap, !Ref Env, Rotation]
      RotationPeriodInDays: !FindInMap [EnvMap, !Ref NoDefault, Days]
      PendingWindowInDays: !Ref Window
      MultiRegion: !If [IsDev, true, !Ref "AWS::NoValue"]
      Enabled: !If [InUsEast, true, false]
      KeySpec: !Select [1, !Ref Ids]
      KeyUsage: !Ref FromSsm
      Origin: !ImportValue shared-origin
      BypassPolicyLockoutSafetyCheck: !If [Both, true, false]
      Tags:
        - Key: a
          Value: !If [Either, x, y]
        - Key: b
          Value: "{{resolve:ssm:/x/y}}"
        - !If [IsDev, {Key: c, Value: z}, !Ref "AWS::NoValue"]
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Sid: Roles
            Effect: Allow
            Principal:
              AWS:
                - !GetAtt AppRole.Arn
                - !GetAtt AnonRole.Arn
                - !GetAtt Human.Arn
                - !Sub "arn:aws:iam::${AWS::AccountId}:role/${AppRole}"
                - !Sub "${Topic.TopicArn}"
                - !Sub "arn:aws:iam::${Other}:root"
                - !Sub "${!Literal}-${Env}"
                - !Ref Topic
                - !Select [0, !Ref Ids]
            Action: kms:Decrypt
            Resource: "*"
          - !If [InUsEast, {Sid: Extra, Effect: Allow, Principal: "*", Action: "kms:*", Resource: "*"}, !Ref "AWS::NoValue"]
"""


@pytest.fixture
def ik(tmp_path):
    u = parse(tmp_path, INTRINSICS)
    return u, key(u, "K")


def test_condition_false_with_the_defaults_is_checked_as_its_branch(ik):
    u, _ = ik
    # IsDev is false only because Env defaults to prod: DevKey is code under review (issue 17.3)
    assert [(k.address, k.exists_when) for k in u.keys] == [("DevKey", ("IsDev is true",)), ("K", ())]


def test_join_with_pseudo_and_unknown_parameter(ik):
    _, k = ik
    d = k.attrs["description"].value
    assert d == "-".join(
        ["prod", OPAQUE_OPEN + "AWS::Region" + OPAQUE_CLOSE, unknown_piece("NoDefault"), OPAQUE_OPEN + "AWS::StackName" + OPAQUE_CLOSE]
    )
    assert k.attrs["description"].expr.startswith("!Join")


def test_find_in_map_known_and_unknown_key(ik):
    _, k = ik
    assert k.attrs["rotation"].value == "true"
    rp = k.attrs["rotation_period"].value
    assert isinstance(rp, Choice) and set(rp.options) == {365, 90}


def test_parameter_defaults(ik):
    _, k = ik
    assert k.attrs["deletion_window"].value == 14  # Number stays as written
    assert k.attrs["key_spec"].value == "222222222222"  # CommaDelimitedList, trimmed
    assert k.attrs["key_usage"].value == Unknown("FromSsm", k.attrs["key_usage"].value.reason)


def test_no_value_removes_and_static_if(ik):
    _, k = ik
    assert "multi_region" not in k.attrs  # !If [IsDev (false), ..., NoValue]


def test_if_non_static_is_choice(ik):
    _, k = ik
    e = k.attrs["enabled"].value
    assert isinstance(e, Choice) and e.options == (True, False)
    assert e.expr == "Fn::If [InUsEast, ...]" and e.loc.line == 57
    b = k.attrs["bypass_lockout"].value  # And(true, unknown) -> unknown
    assert isinstance(b, Choice)


def test_import_value_unknown(ik):
    _, k = ik
    assert isinstance(k.attrs["origin"].value, Unknown)
    assert k.kind == "key"


def test_tags_normalised(ik):
    _, k = ik
    t = k.attrs["tags"]
    assert t.loc.line == 62
    assert set(t.value) == {"a", "b"}
    assert t.value["a"] == "x"  # Either: IsProd is true
    assert t.value["b"] == unknown_piece("{{resolve:ssm:/x/y}}")


def test_deletion_policy_from_allowed_values(ik):
    _, k = ik
    dp = k.attrs["deletion_protection"]
    assert isinstance(dp.value, Choice) and set(dp.value.options) == {True, False}
    assert dp.loc.line == 50


def test_principals_resolved(ik):
    _, k = ik
    pols = k.policies
    assert len(pols) == 2  # with and without the conditional statement
    stmts = {s.sid: s for p in pols for s in p.statements}
    vals = [p.value for p in stmts["Roles"].principals]
    assert vals[0] == f"arn:aws:iam::{THIS_ACCOUNT}:role/svc/app"
    assert vals[1] == f"arn:aws:iam::{THIS_ACCOUNT}:role/" + unknown_piece("AnonRole.RoleName")
    assert vals[2] == f"arn:aws:iam::{THIS_ACCOUNT}:user/alice"
    assert vals[3] == f"arn:aws:iam::{THIS_ACCOUNT}:role/app"  # Ref of a role is its name
    assert vals[4] == unknown_piece("Topic.TopicArn")
    assert vals[5] == "arn:aws:iam::" + unknown_piece("Other") + ":root"
    assert vals[6] == "${Literal}-prod"
    assert isinstance(vals[7], Unknown) and vals[7].expr == "Topic"
    assert vals[8] == "111111111111"
    assert stmts["Roles"].principals[0].ptype == "role"
    assert stmts["Roles"].loc.line == 71
    assert stmts["Extra"].principals[0].wildcard and stmts["Extra"].loc.line == 86


def test_local_principals(ik):
    _, k = ik
    assert f"arn:aws:iam::{THIS_ACCOUNT}:role/svc/app" in k.local_principals
    assert f"arn:aws:iam::{THIS_ACCOUNT}:user/alice" in k.local_principals
    assert {"AppRole", "AnonRole", "Human", "app", "alice"} <= k.local_principals


def test_pseudo_parameters(tmp_path):
    u = parse(
        tmp_path,
        """
        Resources:
          K:
            Type: AWS::KMS::Key
            Properties:
              Description: !Join [",", [!Ref "AWS::AccountId", !Ref "AWS::Partition", !Ref "AWS::URLSuffix", !Ref "AWS::StackId", !Ref "AWS::NotificationARNs"]]
        """,
    )
    d = key(u, "K").attrs["description"].value
    assert d.split(",") == [
        THIS_ACCOUNT,
        "aws",
        OPAQUE_OPEN + "AWS::URLSuffix" + OPAQUE_CLOSE,
        OPAQUE_OPEN + "AWS::StackId" + OPAQUE_CLOSE,
        unknown_piece("AWS::NotificationARNs"),
    ]


def test_condition_on_param_without_default_is_choice(tmp_path):
    u = parse(
        tmp_path,
        """
        AWSTemplateFormatVersion: "2010-09-09"
        Parameters:
          Env: {Type: String}
        Conditions:
          Prod: !Equals [!Ref Env, prod]
        Resources:
          K:
            Type: AWS::KMS::Key
            Condition: Prod
            Properties:
              EnableKeyRotation: !If [Prod, true, false]
        """,
    )
    k = key(u, "K")  # the condition is unknown: the key may exist
    assert k.attrs["rotation"].value.options == (True, False)


def test_condition_false_only_by_parameter_defaults_is_checked_in_its_branch(tmp_path):
    u = parse(
        tmp_path,
        """
        AWSTemplateFormatVersion: "2010-09-09"
        Parameters:
          Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}
          Region: {Type: String, Default: eu}
          Fixed: {Type: String, Default: dev, AllowedValues: [dev]}
        Conditions:
          IsProd: !Equals [!Ref Env, prod]
          ProdInUs: !And [!Condition IsProd, !Equals [!Sub "${Region}", us]]
          Never: !Equals [a, b]
          FixedProd: !Equals [!Ref Fixed, prod]
        Resources:
          ProdOnlyKey:
            Type: AWS::KMS::Key
            Condition: IsProd
            Properties: {EnableKeyRotation: false}
          ProdAlias:
            Type: AWS::KMS::Alias
            Condition: ProdInUs
            Properties: {AliasName: alias/prod, TargetKeyId: !Ref ProdOnlyKey}
          NeverKey:
            Type: AWS::KMS::Key
            Condition: Never
          FixedKey:
            Type: AWS::KMS::Key
            Condition: FixedProd
          Key:
            Type: AWS::KMS::Key
        """,
    )
    # a deployment may pass other values: the resources are checked as deployed with them
    # (issue 17.3); Never (constants) and FixedProd (no allowed value makes it true) are not deployed
    assert [(k.address, k.exists_when) for k in u.keys] == [("ProdOnlyKey", ("IsProd is true",)), ("Key", ())]
    assert [(a.address, a.exists_when, a.target) for a in u.aliases] == [("ProdAlias", ("ProdInUs is true",), "ProdOnlyKey")]
    assert u.notes == []
    assert key(u, "ProdOnlyKey").attrs["rotation"].value is False


def test_include_in_key_properties_skips_the_key(tmp_path):
    from iackms.config import Config
    from iackms.engine import scan

    u = parse(
        tmp_path,
        """
        AWSTemplateFormatVersion: "2010-09-09"
        Resources:
          Included:
            Type: AWS::KMS::Key
            Properties:
              Fn::Transform:
                Name: AWS::Include
                Parameters:
                  Location: s3://bucket/key-props.yaml
          Partly:
            Type: AWS::KMS::Key
            Properties:
              Description: x
              Fn::Transform: {Name: MyMacro}
          Alias:
            Type: AWS::KMS::Alias
            Properties:
              Fn::Transform: {Name: AWS::Include, Parameters: {Location: s3://b/alias.yaml}}
        """,
    )
    assert u.keys == [] and u.aliases == []
    assert [(n.rule_id, n.message, n.loc.line, n.resource, n.resource_type) for n in u.notes] == [
        ("IKMS002", "Included is not checked: its Properties come from Fn::Transform (AWS::Include of s3://bucket/key-props.yaml) at deployment",
         5, "Included", "AWS::KMS::Key"),
        ("IKMS002", "Partly is not checked: its Properties come from Fn::Transform (MyMacro) at deployment", 12, "Partly", "AWS::KMS::Key"),
        ("IKMS002", "Alias is not checked: its Properties come from Fn::Transform (AWS::Include of s3://b/alias.yaml) at deployment",
         17, "Alias", "AWS::KMS::Alias"),
    ]
    r = scan([str(tmp_path / "t.yaml")], Config(), cwd=tmp_path)
    assert sorted({f.rule_id for f in r.findings}) == ["IKMS002"]  # no IKMS101/IKMS201 for settings the include may make


def test_sam_implicit_function_role_is_a_role_of_this_account(tmp_path):
    u = parse(
        tmp_path,
        """
        Transform: AWS::Serverless-2016-10-31
        Globals:
          Function: {RolePath: /apps/}
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties: {Handler: x, Runtime: python3.12}
          Own:
            Type: AWS::Serverless::Function
            Properties: {Handler: x, Runtime: python3.12, RolePath: /own/}
          WithRole:
            Type: AWS::Serverless::Function
            Properties: {Handler: x, Runtime: python3.12, Role: arn:aws:iam::111122223333:role/r}
          K:
            Type: AWS::KMS::Key
            Properties:
              KeyPolicy:
                Version: "2012-10-17"
                Statement:
                  - Effect: Allow
                    Principal: {AWS: [!GetAtt FnRole.Arn, !Sub "${OwnRole.Arn}", !GetAtt WithRoleRole.Arn, !Ref FnRole]}
                    Action: kms:Decrypt
                    Resource: "*"
        """,
    )
    k = key(u, "K")
    fn, own, with_role, ref = (p.value for p in k.policies[0].statements[0].principals)
    assert fn == f"arn:aws:iam::{THIS_ACCOUNT}:role/apps/" + unknown_piece("FnRole.RoleName")
    assert own == f"arn:aws:iam::{THIS_ACCOUNT}:role/own/" + unknown_piece("OwnRole.RoleName")
    assert isinstance(with_role, Unknown) and "not defined" in with_role.reason  # a function with a Role gets none
    assert ref == Unknown("FnRole", "the name of the role SAM creates for Fn")
    assert k.policies[0].statements[0].principals[0].ptype == "role"
    assert {fn, "FnRole", own, "OwnRole"} <= k.local_principals and "WithRoleRole" not in k.local_principals


def test_sam_implicit_role_needs_the_transform(tmp_path):
    u = parse(
        tmp_path,
        """
        Resources:
          Fn: {Type: AWS::Serverless::Function, Properties: {Handler: x}}
          K:
            Type: AWS::KMS::Key
            Properties: {Description: !GetAtt FnRole.Arn}
        """,
    )
    d = key(u, "K").attrs["description"].value
    assert isinstance(d, Unknown) and d.reason == "FnRole is not defined in the template"


def test_unknown_short_tag_is_not_an_intrinsic(tmp_path):
    u = parse(tmp_path, "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  K:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: !Bogus true\n      Description: !GetAZs ''\n")
    k = key(u, "K")
    assert k.attrs["rotation"].value == Unknown("!Bogus true", "Fn::Bogus is not a CloudFormation intrinsic function")
    assert k.attrs["description"].value.reason == "Fn::GetAZs is only known at deployment"


# --- aliases, replicas, kinds ----------------------------------------------------------


def test_alias_linking_forms(tmp_path):
    u = parse(
        tmp_path,
        """
        Parameters:
          KeyArn: {Type: String}
        Resources:
          K:
            Type: AWS::KMS::Key
          A1:
            Type: AWS::KMS::Alias
            Properties: {AliasName: alias/a1, TargetKeyId: !Ref K}
          A2:
            Type: AWS::KMS::Alias
            Properties: {AliasName: alias/a2, TargetKeyId: !GetAtt K.KeyId}
          A3:
            Type: AWS::KMS::Alias
            Properties:
              AliasName: !Sub alias/${AWS::StackName}
              TargetKeyId: !Sub "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/${K}"
          A4:
            Type: AWS::KMS::Alias
            Properties: {AliasName: alias/a4, TargetKeyId: !Ref KeyArn}
        """,
    )
    by = {a.address: a for a in u.aliases}
    assert [by[n].target for n in ("A1", "A2", "A3", "A4")] == ["K", "K", "K", None]
    assert [a.address for a in key(u, "K").aliases] == ["A1", "A2", "A3"]
    assert by["A3"].attrs["name"].value == "alias/" + OPAQUE_OPEN + "AWS::StackName" + OPAQUE_CLOSE
    assert isinstance(by["A4"].attrs["target_key"].value, Unknown)


def test_replica_and_external_kinds(tmp_path):
    u = parse(
        tmp_path,
        """
        Resources:
          Ext:
            Type: AWS::KMS::Key
            Properties: {Origin: EXTERNAL, MultiRegion: true}
          Rep:
            Type: AWS::KMS::ReplicaKey
            Properties:
              PrimaryKeyArn: !GetAtt Ext.Arn
              PendingWindowInDays: 30
          Rep2:
            Type: AWS::KMS::ReplicaKey
            Properties:
              PrimaryKeyArn: arn:aws:kms:us-east-1:111122223333:key/mrk-1
        """,
    )
    assert key(u, "Ext").kind == "external"
    assert key(u, "Rep").kind == "replica_external"
    assert key(u, "Rep").attrs["primary_key"].value == Unknown("Ext.Arn", key(u, "Rep").attrs["primary_key"].value.reason, ref="Ext", attr="Arn")
    assert key(u, "Rep2").kind == "replica"
    assert key(u, "Rep2").resource_type == "AWS::KMS::ReplicaKey"
    assert key(u, "Rep2").attrs["primary_key"].value == "arn:aws:kms:us-east-1:111122223333:key/mrk-1"


def test_deletion_policy(tmp_path):
    u = parse(
        tmp_path,
        """
        Resources:
          A:
            Type: AWS::KMS::Key
            DeletionPolicy: Retain
          B:
            Type: AWS::KMS::Key
            DeletionPolicy: RetainExceptOnCreate
          C:
            Type: AWS::KMS::Key
            DeletionPolicy: Delete
          D:
            Type: AWS::KMS::Key
        """,
    )
    assert key(u, "A").attrs["deletion_protection"].value is True
    assert key(u, "A").attrs["deletion_protection"].loc.line == 4
    assert key(u, "B").attrs["deletion_protection"].value is True
    assert key(u, "C").attrs["deletion_protection"].value is False
    assert "deletion_protection" not in key(u, "D").attrs


def test_suppressions(tmp_path):
    u = parse(
        tmp_path,
        """
        Resources:
          K:
            Type: AWS::KMS::Key
            Metadata:
              iackms:
                skip:
                  - id: IKMS101
                    reason: rotation handled by a pipeline
                  - id: ikms102
              checkov:
                skip:
                  - id: CKV_AWS_7
                    comment: imported
              cfn_nag:
                rules_to_suppress:
                  - id: F19
                    reason: legacy
        """,
    )
    s = key(u, "K").suppressions
    got = [(x.rule_id, x.reason, x.origin, x.written_id, x.loc.line) for x in s]
    assert got == [
        ("IKMS101", "rotation handled by a pipeline", "iackms", "IKMS101", 7),
        ("IKMS102", "", "iackms", "ikms102", 9),
        ("", "imported", "checkov", "CKV_AWS_7", 12),
        ("", "legacy", "cfn_nag", "F19", 16),
    ]


def test_sam_template(tmp_path):
    u = parse(
        tmp_path,
        """
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties: {Handler: x, Runtime: python3.12}
          K:
            Type: AWS::KMS::Key
        """,
    )
    assert [k.address for k in u.keys] == ["K"] and u.notes == []


def test_custom_macro_transform_note(tmp_path):
    u = parse(tmp_path, "Transform: [AWS::Serverless-2016-10-31, MyMacro]\nResources:\n  K:\n    Type: AWS::KMS::Key\n")
    (n,) = u.notes
    assert n.rule_id == "IKMS002" and "MyMacro" in n.message and n.loc.line == 1


# --- not templates ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,text",
    [
        ("k8s.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  Type: AWS::KMS::Key\n"),
        (
            "wf.yml",
            "name: ci\non: [push]\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo 'Type: AWS::S3::Bucket'\n",
        ),
        ("package.json", '{"name": "x", "version": "1.0.0", "dependencies": {"aws-cdk-lib": "2.0.0"}}'),
        ("docker-compose.yml", "services:\n  web:\n    image: nginx\n    environment:\n      Type: AWS::Thing\n"),
        ("data.yaml", "Resources:\n  a:\n    Type: thing\n  b:\n    Type: AWS\n"),
        ("multi.yaml", "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n---\nkind: x\n"),
        ("list.yaml", "- Type: AWS::KMS::Key\n"),
        ("empty.yaml", ""),
    ],
)
def test_not_templates(tmp_path, name, text):
    assert parse(tmp_path, text.encode(), name) is None


def test_template_without_resources_of_aws_type_but_version(tmp_path):
    u = parse(tmp_path, "AWSTemplateFormatVersion: '2010-09-09'\nDescription: nothing\n")
    assert u is not None and u.keys == [] and u.notes == []


def test_sniff():
    assert cfn.sniff(b"AWSTemplateFormatVersion: '2010-09-09'")
    assert cfn.sniff(b'{"Resources": {"K": {"Type": "AWS::KMS::Key"}}}')
    assert cfn.sniff(b"Resources:\n  X:\n    Type: Custom::Thing\n")
    assert cfn.sniff(b"Transform: AWS::Serverless-2016-10-31\n")
    assert cfn.sniff("AWSTemplateFormatVersion: x".encode("utf-16"))
    assert not cfn.sniff(b"apiVersion: v1\nkind: Pod\n")
    assert not cfn.sniff(b'{"name": "pkg"}')


# --- errors and notes -----------------------------------------------------------------


def test_syntax_error_with_marker(tmp_path):
    u = parse(tmp_path, "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  K:\n    Type: AWS::KMS::Key\n   bad: [\n")
    (n,) = u.notes
    assert n.rule_id == "IKMS001" and n.loc.file == "t.yaml"
    assert n.loc.line == 5
    assert u.keys == []


@pytest.mark.parametrize(
    "name,text,line,column",
    [
        # the parsers put an error at the end of the input on the line after the last
        ("t.yaml", "Resources:\n  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      KeyPolicy: [unclosed\n", 5, 27),
        ("t.yaml", "Resources:\n  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      KeyPolicy: [unclosed\n\n  \n", 5, 27),
        ("t.yaml", "Resources:\r\n  Key:\r\n    Type: AWS::KMS::Key\r\n    Properties: [x\r\n", 4, 19),
        ("t.json", '{\n  "Resources": {\n    "K": {"Type": "AWS::KMS::Key"}\n', 3, 35),
    ],
)
def test_syntax_error_at_end_of_file_is_on_the_last_line(tmp_path, name, text, line, column):
    u = parse(tmp_path, text.encode(), name)
    (n,) = u.notes
    assert n.rule_id == "IKMS001" and (n.loc.line, n.loc.end_line, n.loc.column) == (line, line, column)


def test_json_syntax_error_with_marker(tmp_path):
    u = parse(tmp_path, b'{\n  "Resources": {\n    "K": {"Type": "AWS::KMS::Key",}\n  }\n}\n', "t.json")
    (n,) = u.notes
    assert n.rule_id == "IKMS001" and n.loc.line == 3


def test_syntax_error_without_marker(tmp_path):
    assert parse(tmp_path, b"key: [unclosed\nother: x::y\n") is None
    assert parse(tmp_path, b'{"a": ::}', "x.json") is None


def test_invalid_utf8(tmp_path):
    u = parse(tmp_path, b"AWSTemplateFormatVersion: '2010-09-09'\nDescription: \xff\xfe bad\n")
    (n,) = u.notes
    assert n.rule_id == "IKMS001" and n.loc.line == 1 and "line 2" in n.message
    assert parse(tmp_path, b"a: \xff\n") is None


def test_rain_module_note_and_rest_parsed(tmp_path):
    u = parse(
        tmp_path,
        """
        Resources:
          Bucket:
            Type: !Rain::Module ../modules/bucket.yml
            Properties: {Name: x}
          K:
            Type: AWS::KMS::Key
          Odd:
            Type: [a, b]
        """,
    )
    assert [k.address for k in u.keys] == ["K"]
    n1, n2 = u.notes
    assert n1.rule_id == "IKMS002" and "Rain module" in n1.message and n1.loc.line == 2 and n1.resource == "Bucket"
    assert n2.rule_id == "IKMS002" and n2.loc.line == 7 and n2.resource == "Odd"


def test_duplicate_keys_note_later_wins(tmp_path):
    u = parse(
        tmp_path,
        """
        Resources:
          K:
            Type: AWS::KMS::Key
            Properties:
              EnableKeyRotation: false
              EnableKeyRotation: true
        """,
    )
    assert key(u, "K").attrs["rotation"].value is True
    assert key(u, "K").attrs["rotation"].loc.line == 6
    (n,) = u.notes
    assert n.rule_id == "IKMS002" and "'EnableKeyRotation'" in n.message and "later" in n.message
    assert n.loc.line == 6


def test_duplicate_keys_in_json(tmp_path):
    u = parse(tmp_path, b'{"Resources": {"K": {"Type": "AWS::KMS::Key"},\n "K": {"Type": "AWS::KMS::Alias"}}}', "t.json")
    assert u.keys == [] and len(u.aliases) == 1
    (n,) = u.notes
    assert n.rule_id == "IKMS002" and n.loc.line == 2


def test_alias_bomb_is_bounded(tmp_path):
    bomb = ["AWSTemplateFormatVersion: '2010-09-09'", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 12):
        bomb.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    bomb.append("Resources:\n  K:\n    Type: AWS::KMS::Key")
    # the limit's own message proves the expansion stopped early (no timed assertion: a missing bound would hang)
    u = parse(tmp_path, ("\n".join(bomb) + "\n").encode())
    (n,) = u.notes
    assert n.rule_id == "IKMS001" and "alias expansion limit" in n.message


def test_many_aliases_limit():
    text = "a: &a x\nb: [" + ",".join(["*a"] * (cfnyaml.MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(cfnyaml.YamlError, match="alias expansion limit"):
        cfnyaml.load(text)


def test_recursive_alias_rejected():
    with pytest.raises(cfnyaml.YamlError, match="recursive"):
        cfnyaml.load("a: &a [1, *a]\n")


def test_deep_nesting(tmp_path):
    n = 200_000
    text = "AWSTemplateFormatVersion: '2010-09-09'\nX: " + "[" * n + "]" * n + "\n"
    u = parse(tmp_path, text.encode())
    (note,) = u.notes
    # the same words whether libyaml (PyYAML 6.0.4) or cfnyaml stopped the document
    assert note.rule_id == "IKMS001" and note.message == cfnyaml.too_deep_message() and note.loc.line == 2
    block = "AWSTemplateFormatVersion: x\n" + "".join(" " * i + "a:\n" for i in range(1100))
    (note,) = parse(tmp_path, block.encode()).notes
    assert note.message == cfnyaml.too_deep_message()
    assert 2 <= note.loc.line <= 1101  # inside the nested lines; the exact one depends on the parser that stopped


@pytest.mark.parametrize("loader", ["default", "pure-python"])
def test_deep_nesting_same_words_with_either_loader(monkeypatch, loader):
    """libyaml 0.2.6 has a depth limit of its own (about cfnyaml's): the error
    says the same whether it or cfnyaml stopped the document, and the pure-Python
    loader (no libyaml) gives it too."""
    import yaml

    if loader == "pure-python":
        monkeypatch.setattr(cfnyaml, "_Loader", yaml.SafeLoader)
    for text in ("a: " + "[" * 1500 + "]" * 1500 + "\n", "".join(" " * i + "a:\n" for i in range(1500))):
        with pytest.raises(cfnyaml.YamlError) as e:
            cfnyaml.load(text)
        assert e.value.message == cfnyaml.too_deep_message() == f"the document is nested too deeply (more than {cfnyaml.MAX_DEPTH} levels)"
        assert 1 <= e.value.line <= text.count("\n")


def test_libyaml_nesting_error_is_reworded(monkeypatch):
    """The libyaml wording ("exceeded maximum nesting depth (while increasing
    flow level)") never reaches the message, whatever the installed PyYAML."""
    import yaml

    class DeepLoader(yaml.SafeLoader):
        def check_event(self, *choices):
            mark = yaml.Mark("", 0, 4, 1002, None, None)
            raise yaml.scanner.ScannerError("while increasing flow level", mark, "exceeded maximum nesting depth", mark)

    monkeypatch.setattr(cfnyaml, "_Loader", DeepLoader)
    with pytest.raises(cfnyaml.YamlError) as e:
        cfnyaml.load("a: [[[]]]\n")
    assert e.value.message == cfnyaml.too_deep_message() and (e.value.line, e.value.column) == (5, 1003)
    # any other scanner error keeps its detail after our prefix
    class BadLoader(yaml.SafeLoader):
        def check_event(self, *choices):
            mark = yaml.Mark("", 0, 1, 0, None, None)
            raise yaml.scanner.ScannerError("while scanning a simple key", mark, "could not find expected ':'", mark)

    monkeypatch.setattr(cfnyaml, "_Loader", BadLoader)
    with pytest.raises(cfnyaml.YamlError) as e:
        cfnyaml.load("a\nb\n")
    assert e.value.message.startswith("YAML syntax error: ") and e.value.line == 2


def test_python_tags_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    text = f'AWSTemplateFormatVersion: "2010-09-09"\nX: !!python/object/apply:os.system ["touch {marker}"]\nResources: {{}}\n'
    u = parse(tmp_path, text.encode())
    assert not marker.exists()
    (n,) = u.notes
    assert n.rule_id == "IKMS001" and n.loc.line == 2 and "python/object/apply" in n.message
    for tag in ("!!python/name:os.system", "!!python/object:os.system", "!!binary aGk=", "!!set {a}"):
        with pytest.raises(cfnyaml.YamlError):
            cfnyaml.load(f"x: {tag}\n")


def test_utf8_bom(tmp_path):
    u = parse(tmp_path, b"\xef\xbb\xbf" + textwrap.dedent(BASIC).lstrip("\n").encode())
    assert key(u, "MyKey").attrs["rotation"].loc.line == 7


def test_utf16(tmp_path):
    data = textwrap.dedent(BASIC).lstrip("\n").encode("utf-16")
    assert cfn.sniff(data)
    u = parse(tmp_path, data)
    k = key(u, "MyKey")
    assert k.attrs["description"].value == "test key" and k.attrs["description"].loc.line == 6


def test_crlf(tmp_path):
    data = textwrap.dedent(BASIC).lstrip("\n").replace("\n", "\r\n").encode()
    u = parse(tmp_path, data)
    k = key(u, "MyKey")
    assert k.attrs["description"].value == "test key"
    assert tuple(k.loc) == ("t.yaml", 3, 17, 3)
    assert k.policies[0].statements[0].loc.line == 12


def test_never_raises_on_odd_shapes(tmp_path):
    odd = """
    AWSTemplateFormatVersion: "2010-09-09"
    Parameters: [1, 2]
    Conditions:
      Loop: !Condition Loop
    Mappings: x
    Resources:
      K:
        Type: AWS::KMS::Key
        Condition: Loop
        Properties:
          KeyPolicy: !If [Loop, !GetAtt [], !Sub [1, 2]]
          Description: !Join [1]
          Tags: !Ref Nope
          EnableKeyRotation: !FindInMap [M]
          KeySpec: !Select [9, [a]]
          Enabled: !Split [",", !Ref "AWS::Region"]
      R:
        Type: AWS::IAM::Role
        Properties: {RoleName: !GetAtt R.Arn}
      K2:
        Type: AWS::KMS::Key
        Properties: !If [Loop, {Description: a}, {Description: b}]
      K3:
        Type: AWS::KMS::Key
        Properties: [1]
    """
    u = parse(tmp_path, odd)
    assert {k.address for k in u.keys} == {"K", "K2", "K3"}
    k = key(u, "K")
    assert isinstance(k.attrs["description"].value, Unknown)
    assert isinstance(k.attrs["key_spec"].value, Unknown)
    assert isinstance(k.attrs["enabled"].value, Unknown)
    assert k.attrs["tags"].value == Unknown("Nope", k.attrs["tags"].value.reason)
    assert any(n.resource == "K3" for n in u.notes)


def test_remove_in_lists_and_maps():
    from iackms.parsers.cfn_intrinsics import Template, resolve

    v = resolve(cfnyaml.load("a: [1, !Ref AWS::NoValue, 2]\nb: !Ref AWS::NoValue\n"), Template())
    assert v == {"a": [1, 2]} and REMOVE not in v.values()


def test_foreach_expanded(tmp_path):
    u = parse(
        tmp_path,
        """
        Transform: AWS::LanguageExtensions
        Parameters:
          Names: {Type: CommaDelimitedList, Default: "app-a,db"}
          Unknown: {Type: CommaDelimitedList}
        Resources:
          Fn::ForEach::Keys:
            - Name
            - !Ref Names
            - Key&{Name}:
                Type: AWS::KMS::Key
                Properties:
                  Description: !Sub "key ${Name}"
                  Tags: [{Key: n, Value: !Ref Name}]
              Alias${Name}:
                Type: AWS::KMS::Alias
                Properties:
                  AliasName: !Sub alias/${Name}
                  TargetKeyId: !GetAtt [!Sub "Key&{Name}", Arn]
          Fn::ForEach::Later:
            - X
            - !Ref Unknown
            - K${X}: {Type: AWS::KMS::Key}
        """,
    )
    assert [k.address for k in u.keys] == ["Keyappa", "Keydb"]
    k = key(u, "Keyappa")
    assert k.attrs["description"].value == "key app-a" and k.attrs["description"].loc.line == 12
    assert k.attrs["tags"].value == {"n": "app-a"}
    assert tuple(k.loc)[1:3] == (9, 13)
    assert [(a.address, a.target) for a in u.aliases] == [("Aliasapp-a", "Keyappa"), ("Aliasdb", "Keydb")]
    (n,) = u.notes
    assert n.rule_id == "IKMS002" and n.resource == "Fn::ForEach::Later" and n.loc.line == 19
    # reporters show the resource before the message: the loop's name is not repeated
    assert n.message == "the Fn::ForEach collection !Ref Unknown is not known statically; the resources this loop creates are not checked"


def test_merge_keys_explicit_wins_and_lines():
    v = cfnyaml.load("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n", "f.yaml")
    assert v["d"] == {"x": 1, "y": 3}
    assert v["d"].key_locs["y"].line == 4 and v["d"].key_locs["x"].line == 1


def test_loader_errors_have_lines():
    with pytest.raises(cfnyaml.YamlError) as e:
        cfnyaml.load("a: 1\nb: [1, 2\nc: 3\n")
    assert e.value.line in (3, 4) and e.value.message.startswith("YAML syntax error")
    with pytest.raises(cfnyaml.YamlError, match="unknown YAML alias"):
        cfnyaml.load("a: *nope\n")
    with pytest.raises(cfnyaml.YamlError, match="scalar"):
        cfnyaml.load("? [a, b]\n: c\n")
    with pytest.raises(cfnyaml.MultipleDocuments):
        cfnyaml.load("a: 1\n---\nb: 2\n")


def test_key_from_resource_for_checkov():
    from iackms.model import Location

    loc = Location("checkov", 3, 9)
    res = {
        "Type": "AWS::KMS::Key",
        "DeletionPolicy": "Retain",
        "Properties": {
            "EnableKeyRotation": False,
            "Origin": "EXTERNAL",
            "KeyPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}}, "Action": "kms:*", "Resource": "*"}
                ],
            },
        },
    }
    k = cfn.key_from_resource("MyKey", res, loc)
    assert (k.address, k.resource_type, k.kind) == ("MyKey", "AWS::KMS::Key", "external")
    assert k.attrs["rotation"].value is False and k.attrs["rotation"].loc == loc
    assert k.attrs["deletion_protection"].value is True
    (st,) = k.policies[0].statements
    assert st.principals[0].is_root and st.loc == loc
    props_only = cfn.key_from_resource("AWS::KMS::ReplicaKey", {"PrimaryKeyArn": {"Ref": "P"}}, loc)
    assert props_only.kind == "replica" and isinstance(props_only.attrs["primary_key"].value, Unknown)
