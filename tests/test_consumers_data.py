"""`src/iackms/data/consumers.json` is the one table the consumer parsers and rules IKMS301-306 read.
These tests keep it well formed: every entry complete, every reference resolvable, every row sourced.
The schema is documented at the top of docs/consumers.md."""

from __future__ import annotations

import fnmatch
import re
from importlib import resources
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "src" / "iackms" / "data" / "consumers.json"
DOCS = ROOT / "docs" / "consumers.md"

KEY_FORMS = {"arn", "id", "alias_name", "alias_arn"}
RESULTS = {"unencrypted", "sse_s3", "service_owned", "service_default", "aws_managed", "account_default_ebs",
           "unencrypted_unless_account_default", "bucket_default", "required", "not_applicable",
           "rejected_by_api"}
TF_VALIDATION = {"none", "arn_syntax", "length"}
DESTINATION_KMS = {"supported", "customer_managed_only", "unsupported", "unsupported_contested"}
FAILURE = {"silent", "deploy", "launch"}
PRINCIPAL_KINDS = {"service", "service_linked_role", "iam_role"}

CONSUMER_FIELDS = {"id", "service", "title", "terraform", "cloudformation", "omitted", "disabled", "encrypts_data",
                   "data_store", "needs_symmetric", "key_requirements", "service_principal_needs",
                   "cross_account_forms", "notes", "doc", "verified"}
SOURCE_FIELDS = {"type", "key_path", "key_forms", "key_forms_uncertain", "validation", "enable", "off",
                 "applies_when", "basis"}
SERVICE_FIELDS = {"id", "title", "principal", "principal_kind", "principal_region", "actions", "conditions", "grant",
                  "aws_managed_key_works", "root_delegation_suffices", "notes", "doc", "verified"}
PATH_FIELDS = {"id", "title", "from", "to", "service", "destination_kms", "requires_key_arn",
               "aws_managed_key_blocks", "failure", "silent", "notes", "doc", "verified"}
ALIAS_FIELDS = {"alias", "service", "consumers", "verified"}


@pytest.fixture(scope="module")
def data() -> dict:
    return orjson.loads(DATA.read_bytes())


@pytest.fixture(scope="module")
def kms_actions() -> list[str]:
    raw = orjson.loads((ROOT / "src" / "iackms" / "data" / "kms_actions.json").read_bytes())
    return [f"kms:{a}" for a in raw["actions"]]


def _ids(items: list[dict]) -> list[str]:
    return [i["id"] for i in items]


def test_loads_with_orjson_and_ships_as_package_data(data):
    assert set(data) >= {"schema_version", "consumers", "services", "delivery_paths", "aws_managed_aliases"}
    packaged = resources.files("iackms").joinpath("data/consumers.json").read_bytes()
    assert orjson.loads(packaged) == data


def test_ids_are_unique_across_each_table(data):
    for table in ("consumers", "services", "delivery_paths"):
        ids = _ids(data[table])
        assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
        assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]*", i) for i in ids), ids
    aliases = [a["alias"] for a in data["aws_managed_aliases"]]
    assert len(aliases) == len(set(aliases))


def test_every_entry_has_exactly_the_documented_fields(data):
    for c in data["consumers"]:
        assert set(c) == CONSUMER_FIELDS, (c["id"], set(c) ^ CONSUMER_FIELDS)
        for src in ("terraform", "cloudformation"):
            if c[src] is not None:
                assert set(c[src]) == SOURCE_FIELDS, (c["id"], src, set(c[src]) ^ SOURCE_FIELDS)
        assert c["terraform"] or c["cloudformation"], c["id"]
    for s in data["services"]:
        assert set(s) == SERVICE_FIELDS, (s["id"], set(s) ^ SERVICE_FIELDS)
    for p in data["delivery_paths"]:
        assert set(p) == PATH_FIELDS, (p["id"], set(p) ^ PATH_FIELDS)
    for a in data["aws_managed_aliases"]:
        assert set(a) == ALIAS_FIELDS, (a["alias"], set(a) ^ ALIAS_FIELDS)


def _all_entries(data):
    yield from data["consumers"]
    yield from data["services"]
    yield from data["delivery_paths"]
    yield from data["aws_managed_aliases"]


def test_every_entry_is_sourced_and_says_how_it_was_verified(data):
    for e in _all_entries(data):
        name = e.get("id") or e.get("alias")
        assert isinstance(e["verified"], str) and e["verified"].strip(), name
        assert re.match(r"(yes|no|partial|corrected)\b", e["verified"]), (name, e["verified"][:40])
        if "doc" in e:
            assert e["doc"], name
            assert all(re.fullmatch(r"https://\S+", u) for u in e["doc"]), (name, e["doc"])


def test_consumer_values(data):
    for c in data["consumers"]:
        for field in ("omitted", "disabled"):
            v = c[field]
            if v is None and field == "disabled":
                continue
            kind = v.split(":", 1)[0]
            assert kind in RESULTS, (c["id"], field, v)
            if ":" in v:
                assert kind == "aws_managed" and re.fullmatch(r"aws_managed:alias/aws/[a-z0-9-]+", v), (c["id"], v)
        for flag in ("encrypts_data", "data_store", "needs_symmetric"):
            assert isinstance(c[flag], bool), (c["id"], flag)
        if c["cross_account_forms"] is not None:
            assert set(c["cross_account_forms"]) <= KEY_FORMS, c["id"]
        for src, type_re in (("terraform", r"aws_[a-z0-9_]+"), ("cloudformation", r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")):
            s = c[src]
            if s is None:
                continue
            assert re.fullmatch(type_re, s["type"]), (c["id"], s["type"])
            assert s["key_path"] and " " not in s["key_path"], c["id"]
            assert s["key_forms"], c["id"]
            assert set(s["key_forms"]) <= KEY_FORMS and set(s["key_forms_uncertain"]) <= KEY_FORMS, c["id"]
            assert not set(s["key_forms"]) & set(s["key_forms_uncertain"]), c["id"]
            assert "arn" in s["key_forms"], c["id"]  # every attribute takes a key ARN
            if src == "terraform":
                assert s["validation"] in TF_VALIDATION, (c["id"], s["validation"])
            else:
                assert s["validation"] == "none" or s["validation"].startswith("pattern:"), (c["id"], s["validation"])
            if s["validation"] == "arn_syntax":
                assert set(s["key_forms"]) <= {"arn", "alias_arn"}, c["id"]
            if s["validation"].startswith("pattern:"):
                re.compile(s["validation"][len("pattern:"):])
            if s["enable"] is not None:
                assert set(s["enable"]) >= {"path", "kms_values", "default"}, c["id"]
                assert isinstance(s["enable"]["kms_values"], list) and s["enable"]["kms_values"], c["id"]
            assert isinstance(s["basis"], str) and s["basis"], c["id"]


def test_reference_format_examples_from_the_issue(data):
    """Issue 14: decided per attribute, not per service."""
    by_id = {c["id"]: c for c in data["consumers"]}
    ddb = by_id["dynamodb-table"]
    assert {"id", "alias_name"} <= set(ddb["cloudformation"]["key_forms"])
    assert not {"id", "alias_name"} & set(ddb["terraform"]["key_forms"] + ddb["terraform"]["key_forms_uncertain"])
    logs = by_id["logs-log-group"]
    for src in ("terraform", "cloudformation"):
        assert logs[src]["key_forms"] == ["arn"]
        assert not {"id", "alias_name"} & set(logs[src]["key_forms_uncertain"])
    assert logs["service_principal_needs"] == ["logs-log-group"]


def test_references_resolve(data):
    consumers = set(_ids(data["consumers"]))
    services = set(_ids(data["services"]))
    for p in data["delivery_paths"]:
        assert p["to"] and set(p["to"]) <= consumers, (p["id"], p["to"])
        assert p["service"] is None or p["service"] in services, (p["id"], p["service"])
        assert p["destination_kms"] in DESTINATION_KMS, p["id"]
        assert p["failure"] in FAILURE and p["silent"] == (p["failure"] == "silent"), p["id"]
        assert p["from"]["terraform"] or p["from"]["cloudformation"], p["id"]
        for src in ("terraform", "cloudformation"):
            f = p["from"][src]
            if f is None:
                continue
            assert f["type"] and f["path"] and isinstance(f["when"], list), p["id"]
            for cond in f["when"]:
                if "target_is" in cond:
                    assert cond["target_is"] in consumers, (p["id"], cond)
                else:
                    assert "path" in cond and ({"equals", "in", "absent"} & set(cond)), (p["id"], cond)
        if p["destination_kms"] == "unsupported":
            assert p["service"] is None, p["id"]
    for c in data["consumers"]:
        for s in c["service_principal_needs"] or []:
            assert s in services, (c["id"], s)
    for a in data["aws_managed_aliases"]:
        assert re.fullmatch(r"alias/aws/[a-z0-9-]+", a["alias"]), a["alias"]
        assert set(a["consumers"]) <= consumers, a["alias"]


def test_every_consumer_is_reached_only_through_known_omitted_aliases(data):
    """An `aws_managed:alias/aws/x` result names an alias listed in aws_managed_aliases."""
    aliases = {a["alias"] for a in data["aws_managed_aliases"]}
    for c in data["consumers"]:
        for v in (c["omitted"], c["disabled"]):
            if v and v.startswith("aws_managed:"):
                assert v.split(":", 1)[1] in aliases, (c["id"], v)


def test_service_actions_are_kms_actions(data, kms_actions):
    for s in data["services"]:
        assert s["principal_kind"] in PRINCIPAL_KINDS, s["id"]
        assert len(s["principal"]) == 1 and set(s["principal"]) <= {"Service", "AWS"}, s["id"]
        assert s["actions"], s["id"]
        for a in s["actions"]:
            assert fnmatch.filter(kms_actions, a), (s["id"], a)  # every pattern names at least one real action
        if s["grant"] is not None:
            assert s["grant"]["action"] == "kms:CreateGrant", s["id"]
        assert s["root_delegation_suffices"] == (s["principal_kind"] == "iam_role"), s["id"]
        for cond in s["conditions"]["supported"]:
            assert set(cond) == {"key", "operators", "value"}, s["id"]
        assert not {c["key"] for c in s["conditions"]["supported"]} & set(s["conditions"]["unsupported"]), s["id"]


def test_docs_cover_every_row(data):
    text = DOCS.read_text(encoding="utf-8")
    for e in _all_entries(data):
        name = e.get("id") or e.get("alias")
        assert f"`{name}`" in text, f"docs/consumers.md does not mention {name}"
