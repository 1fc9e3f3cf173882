"""The JSON form of events.md to fastavro records and back."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import fastavro
import pytest

from jamsos.contracts.catalog import record_type
from jamsos.contracts.errors import ContractError
from jamsos.contracts.json_form import (
    from_json_form,
    from_json_line,
    to_json_form,
    to_json_line,
)
from tests.unit.contracts.samples import SAMPLE_NAMES, sample

pytestmark = pytest.mark.unit

PAID_LINE = (
    '{"type": "ContributionPaid", "event_id": "e-1", "occurred_at": "2019-01-12T08:30:00Z",'
    ' "source": "bank:BNI", "payment_id": "P-1", "member_id": "M-1", "months": 1,'
    ' "amount": 36000, "channel": "bank"}'
)


def _paid(**changes: Any) -> dict[str, Any]:
    obj = json.loads(PAID_LINE)
    obj.update(changes)
    return obj


def _decode_error(obj: dict[str, Any]) -> ContractError:
    with pytest.raises(ContractError) as err:
        from_json_form(obj)
    return err.value


def test_line_from_events_md_decodes_to_fastavro_form() -> None:
    name, record = from_json_line(PAID_LINE)
    assert name == "ContributionPaid"
    assert record == {
        "event_id": "e-1",
        "occurred_at": datetime(2019, 1, 12, 8, 30, tzinfo=UTC),
        "source": "bank:BNI",
        "payment_id": "P-1",
        "member_id": "M-1",
        "months": 1,
        "amount": 36000,
        "channel": "bank",
        "collecting_agent_id": None,
    }
    assert record["occurred_at"].tzinfo is not None


def test_absent_and_null_optional_fields_are_the_same() -> None:
    assert from_json_form(_paid(collecting_agent_id=None)) == from_json_form(_paid())


def test_dates_and_enum_arrays_decode() -> None:
    _, record = from_json_form(to_json_form("MemberEnrolled", sample("MemberEnrolled")))
    assert record["programmes"] == ["JKK", "JKM", "JHT"]
    _, record = from_json_form(
        {
            "type": "BusinessDayClosed",
            "event_id": "e",
            "occurred_at": "2019-01-31T17:00:00Z",
            "source": "scheduler",
            "business_date": "2019-01-31",
        }
    )
    assert record["business_date"] == date(2019, 1, 31)


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_every_record_round_trips_through_json_form(name: str) -> None:
    form = to_json_form(name, sample(name))
    assert form["type"] == name
    assert list(form)[1:] == [f["name"] for f in record_type(name).raw["fields"]]
    assert from_json_form(json.loads(json.dumps(form))) == (name, sample(name))


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_json_form_equals_what_avro_gives_back(name: str) -> None:
    """Publishing from JSON then consuming gives exactly the record the JSON form produced."""
    _, record = from_json_line(to_json_line(name, sample(name)))
    schema = record_type(name).schema
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, record)
    buffer.seek(0)
    assert fastavro.schemaless_reader(buffer, schema, schema) == record


def test_timestamp_is_written_as_iso_utc_with_z() -> None:
    form = to_json_form("ContributionPaid", sample("ContributionPaid"))
    assert form["occurred_at"] == "2019-01-12T08:30:00Z"
    failed = to_json_form("DeadLetter", sample("DeadLetter"))["failed_at"]
    assert failed == "2019-01-12T08:30:00.123Z"


def test_non_utc_aware_datetime_is_written_in_utc() -> None:
    wita = timezone(timedelta(hours=8))
    record = sample("ContributionPaid", occurred_at=datetime(2019, 1, 12, 16, 30, tzinfo=wita))
    assert to_json_form("ContributionPaid", record)["occurred_at"] == "2019-01-12T08:30:00Z"


def test_epoch_numbers_are_accepted_like_fastavro_accepts_them() -> None:
    record = sample("MembershipTerminated", occurred_at=0, effective_date=1)
    form = to_json_form("MembershipTerminated", record)
    assert form["occurred_at"] == "1970-01-01T00:00:00Z"
    assert form["effective_date"] == "1970-01-02"


def test_bytes_are_base64() -> None:
    form = to_json_form("DeadLetter", sample("DeadLetter"))
    assert form["key"] == "TS0wMDAx"
    assert from_json_form(form)[1]["value"] == sample("DeadLetter")["value"]


def test_utc_offset_and_sub_millisecond_fraction() -> None:
    _, record = from_json_form(_paid(occurred_at="2019-01-12T08:30:00.123456+00:00"))
    assert record["occurred_at"] == datetime(2019, 1, 12, 8, 30, 0, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2019-13-01",
        "2019-01-12T08:30:00",  # no zone: local time would be guessed
        "2019-01-12T15:30:00+07:00",  # not UTC
        "2019-01-12 08:30:00Z",
        "2019-02-30T08:30:00Z",
        "2019-01-12T24:00:00Z",
        "yesterday",
    ],
)
def test_bad_timestamp_names_the_field(text: str) -> None:
    error = _decode_error(_paid(occurred_at=text))
    assert error.error_type == "DECODE_ERROR"
    assert str(error) == f"occurred_at: not an ISO-8601 UTC timestamp: {text!r}"
    assert error.field == "occurred_at"


def test_timestamp_as_number_is_wrong_json_type() -> None:
    error = _decode_error(_paid(occurred_at=1547281800000))
    assert str(error).startswith("occurred_at: expected an ISO-8601 UTC timestamp, got number")


@pytest.mark.parametrize("text", ["2019-1-31", "20190131", "2019-02-29", "2019-01-31T00:00:00Z"])
def test_bad_date_names_the_field(text: str) -> None:
    obj = to_json_form("MembershipTerminated", sample("MembershipTerminated"))
    obj["effective_date"] = text
    error = _decode_error(obj)
    assert str(error) == f"effective_date: not a date YYYY-MM-DD: {text!r}"


def test_unknown_type() -> None:
    error = _decode_error(_paid(type="PaymentMade"))
    assert error.error_type == "UNKNOWN_SCHEMA"
    assert "PaymentMade" in str(error)


def test_missing_type() -> None:
    obj = _paid()
    del obj["type"]
    error = _decode_error(obj)
    assert error.error_type == "DECODE_ERROR"
    assert str(error).startswith("type:")


def test_unknown_field() -> None:
    error = _decode_error(_paid(collector="AG-1"))
    assert str(error) == "collector: unknown field"


def test_missing_required_field() -> None:
    obj = _paid()
    del obj["amount"]
    assert str(_decode_error(obj)) == "amount: missing required field"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("months", "1", "months: expected an integer (int), got string '1'"),
        ("months", 1.5, "months: expected an integer (int), got number 1.5"),
        ("months", True, "months: expected an integer (int), got boolean True"),
        ("months", 2**31, "months: int out of range: 2147483648"),
        ("amount", 2**63, "amount: long out of range: 9223372036854775808"),
        ("member_id", 7, "member_id: expected a string, got number 7"),
        ("collecting_agent_id", [], "collecting_agent_id: expected a string, got array []"),
    ],
)
def test_wrong_json_type(field: str, value: Any, message: str) -> None:
    assert str(_decode_error(_paid(**{field: value}))) == message


def test_unknown_enum_symbol() -> None:
    error = _decode_error(_paid(channel="BANK"))
    assert str(error) == (
        "channel: not one of bank, ewallet, agent, minimarket, employer, autodebit: 'BANK'"
    )


def test_bad_array_element_is_located() -> None:
    obj = to_json_form("MemberEnrolled", sample("MemberEnrolled"))
    obj["programmes"] = ["JKK", "JKM", "PENSION"]
    assert str(_decode_error(obj)).startswith("programmes[2]: not one of JKK")


def test_bad_base64() -> None:
    obj = to_json_form("DeadLetter", sample("DeadLetter"))
    obj["value"] = "not base64!"
    assert str(_decode_error(obj)).startswith("value: not valid base64")


def test_invalid_json_line() -> None:
    with pytest.raises(ContractError) as err:
        from_json_line('{"type": "ContributionPaid",')
    assert err.value.error_type == "DECODE_ERROR"
    assert str(err.value).startswith("event: not valid JSON")


def test_line_that_is_not_an_object() -> None:
    with pytest.raises(ContractError, match="event: expected a JSON object, got array"):
        from_json_line("[1, 2]")


def test_to_json_form_refuses_naive_datetime() -> None:
    record = sample("ContributionPaid", occurred_at=datetime(2019, 1, 12, 8, 30))
    with pytest.raises(ContractError, match="occurred_at: naive datetime is ambiguous"):
        to_json_form("ContributionPaid", record)


def test_to_json_form_refuses_datetime_for_a_date() -> None:
    record = sample("MembershipTerminated", effective_date=datetime(2019, 6, 30, tzinfo=UTC))
    with pytest.raises(ContractError, match="effective_date: expected a date"):
        to_json_form("MembershipTerminated", record)


def test_to_json_form_refuses_unknown_and_missing_fields() -> None:
    with pytest.raises(ContractError, match="extra: unknown field"):
        to_json_form("LapseAlert", sample("LapseAlert", extra=1))
    record = sample("LapseAlert")
    del record["alert_id"]
    with pytest.raises(ContractError, match="alert_id: missing required field"):
        to_json_form("LapseAlert", record)


def test_to_json_form_fills_absent_optional_fields_with_null() -> None:
    record = sample("LapseAlert")
    del record["agent_id"]
    assert to_json_form("LapseAlert", record)["agent_id"] is None


def test_to_json_line_is_one_line_of_json() -> None:
    line = to_json_line("MemberEnrolled", sample("MemberEnrolled"))
    assert "\n" not in line
    assert json.loads(line)["type"] == "MemberEnrolled"
