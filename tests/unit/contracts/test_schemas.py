"""The .avsc files themselves: they parse everywhere and follow the contract's conventions."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import avro.schema
import fastavro
import pytest
from fastavro.schema import parse_schema

from jamsos.contracts.catalog import SCHEMA_DIR, record_names, record_type
from tests.unit.contracts.samples import SAMPLE_NAMES, sample

pytestmark = pytest.mark.unit

MONEY_FIELDS = {
    "declared_income",
    "amount",
    "contributions_amount",
    "commission_amount",
    "bonus_amount",
    "payout_amount",
}
TIMESTAMP_FIELDS = {"occurred_at", "failed_at"}
DATE_FIELDS = {
    "effective_date",
    "business_date",
    "as_of",
    "paid_through",
    "last_activity_on",
    "period",
}
OPTIONAL_FIELDS = {
    "MemberEnrolled": {"phone", "agent_id", "employer_id"},
    "ContributionPaid": {"collecting_agent_id"},
    "MemberStatusChanged": {"from_status", "paid_through", "agent_id", "enrolled_on"},
    "LapseAlert": {"agent_id", "paid_through"},
    "AgentTally": {"branch_code", "region_code", "agent_status", "last_activity_on", "period"},
    "DeadLetter": {"key", "dead_letter_id"},
}
INPUTS = (
    "MemberEnrolled",
    "MembershipTerminated",
    "ContributionPaid",
    "ContributionReversed",
    "AgentRegistered",
    "AgentStatusChanged",
    "BusinessDayClosed",
)


def _raw(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / f"{name}.avsc").read_text(encoding="utf-8"))


def _field(name: str, field: str) -> dict[str, Any]:
    return next(f for f in _raw(name)["fields"] if f["name"] == field)


def _non_null(type_: Any) -> Any:
    return next(t for t in type_ if t != "null") if isinstance(type_, list) else type_


def _enums(node: Any) -> list[dict[str, Any]]:
    """Every inline enum definition in a raw schema."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "enum":
            found.append(node)
        for value in node.values():
            found.extend(_enums(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_enums(item))
    return found


def test_one_file_per_record_and_nothing_else() -> None:
    files = {path.stem for path in Path(SCHEMA_DIR).glob("*.avsc")}
    assert files == set(record_names())
    assert set(SAMPLE_NAMES) == files


@pytest.mark.parametrize("name", record_names())
def test_parses_alone_with_fastavro(name: str) -> None:
    parse_schema(_raw(name), named_schemas={})


@pytest.mark.parametrize("name", record_names())
def test_parses_alone_with_avro(name: str) -> None:
    parsed = avro.schema.parse((SCHEMA_DIR / f"{name}.avsc").read_text(encoding="utf-8"))
    assert isinstance(parsed, avro.schema.RecordSchema)
    assert parsed.fullname == f"jamsos.v1.{name}"


@pytest.mark.parametrize("name", record_names())
def test_record_and_every_field_have_docs(name: str) -> None:
    raw = _raw(name)
    assert raw["namespace"] == "jamsos.v1"
    assert raw["doc"].strip()
    for field in raw["fields"]:
        assert field.get("doc", "").strip(), f"{name}.{field['name']} has no doc"
    for enum in _enums(raw):
        assert enum.get("doc", "").strip(), f"enum {enum['name']} has no doc"


@pytest.mark.parametrize("name", record_names())
def test_optional_fields_are_null_unions_defaulting_to_null(name: str) -> None:
    for field in _raw(name)["fields"]:
        optional = isinstance(field["type"], list)
        assert optional == (field["name"] in OPTIONAL_FIELDS.get(name, set())), field["name"]
        if optional:
            assert field["type"][0] == "null"
            assert field["default"] is None


@pytest.mark.parametrize("name", INPUTS)
def test_input_events_carry_the_common_fields(name: str) -> None:
    assert _field(name, "event_id")["type"] == "string"
    assert _field(name, "source")["type"] == "string"
    assert _field(name, "occurred_at")["type"] == {
        "type": "long",
        "logicalType": "timestamp-millis",
    }


@pytest.mark.parametrize("name", record_names())
def test_logical_types_and_money(name: str) -> None:
    for field in _raw(name)["fields"]:
        type_ = _non_null(field["type"])
        if field["name"] in TIMESTAMP_FIELDS:
            assert type_ == {"type": "long", "logicalType": "timestamp-millis"}
        if field["name"] in DATE_FIELDS:
            assert type_ == {"type": "int", "logicalType": "date"}
        if field["name"] in MONEY_FIELDS:
            assert type_ == "long", f"{name}.{field['name']} is money: whole Rupiah as long"


def test_shared_enums_are_identical_in_every_file() -> None:
    """Records define shared enums inline; every copy must be the same type."""
    seen: dict[str, dict[str, Any]] = {}
    for name in record_names():
        for enum in _enums(_raw(name)):
            full = f"{enum['namespace']}.{enum['name']}"
            assert seen.setdefault(full, enum) == enum, f"{full} differs in {name}"
    assert seen["jamsos.v1.MemberStatus"]["symbols"] == [
        "NEW",
        "ACTIVE",
        "GRACE",
        "LAPSED",
        "EXITED",
    ]


def test_only_community_has_an_enum_default() -> None:
    """Only where a symbol can stand in for unknown ones without changing meaning."""
    defaults = {
        enum["name"]: enum["default"]
        for name in record_names()
        for enum in _enums(_raw(name))
        if "default" in enum
    }
    assert defaults == {"Community": "OTHER"}


def test_status_changed_from_status_is_optional() -> None:
    field = _field("MemberStatusChanged", "from_status")
    assert field["type"][0] == "null"
    assert field["default"] is None


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_round_trips_through_schemaless_avro(name: str) -> None:
    schema = record_type(name).schema
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, sample(name))
    buffer.seek(0)
    assert fastavro.schemaless_reader(buffer, schema, schema) == sample(name)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_sample_passes_fastavro_validation(name: str) -> None:
    assert fastavro.validate(sample(name), record_type(name).schema, raise_errors=True)
