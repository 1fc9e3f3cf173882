"""Building typed events from decoded records and the JSON form."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from jamsos.rules.events import (
    ContributionPaid,
    EventError,
    MemberEnrolled,
    event_from_record,
    event_to_record,
    nik_key_id,
    nik_token,
)

from .builders import closed, enrolled, paid, terminated

JSON_PAYMENT = {
    "type": "ContributionPaid",
    "event_id": "e-1",
    "occurred_at": "2019-01-12T08:30:00Z",
    "source": "bank:BNI",
    "payment_id": "p-1",
    "member_id": "M1",
    "months": 1,
    "amount": 16800,
    "channel": "bank",
}


def test_json_form_is_parsed_to_aware_utc() -> None:
    event = event_from_record("ContributionPaid", JSON_PAYMENT)
    assert isinstance(event, ContributionPaid)
    assert event.occurred_at == datetime(2019, 1, 12, 8, 30, tzinfo=UTC)
    assert event.collecting_agent_id is None


def test_avro_style_values_are_accepted() -> None:
    wita = timezone(timedelta(hours=8))
    record = dict(JSON_PAYMENT, occurred_at=datetime(2019, 1, 12, 16, 30, tzinfo=wita))
    event = event_from_record("ContributionPaid", record)
    assert event.occurred_at == datetime(2019, 1, 12, 8, 30, tzinfo=UTC)
    assert event.occurred_at.tzinfo == UTC
    millis = event_from_record("ContributionPaid", dict(record, occurred_at=1547281800000))
    assert millis.occurred_at == event.occurred_at


def test_dates_from_string_date_or_epoch_days() -> None:
    base = {
        "event_id": "e",
        "occurred_at": "2019-06-30T00:00:00Z",
        "source": "portal",
        "member_id": "M1",
        "reason": "DEATH",
    }
    for value in ("2019-06-30", date(2019, 6, 30), (date(2019, 6, 30) - date(1970, 1, 1)).days):
        event = event_from_record("MembershipTerminated", dict(base, effective_date=value))
        assert event.effective_date == date(2019, 6, 30)  # type: ignore[union-attr]


def test_missing_required_field_and_unknown_type_are_errors() -> None:
    record = dict(JSON_PAYMENT)
    del record["amount"]
    with pytest.raises(EventError, match="amount"):
        event_from_record("ContributionPaid", record)
    with pytest.raises(EventError, match="unknown event type"):
        event_from_record("Nope", JSON_PAYMENT)


@pytest.mark.parametrize(
    "event",
    [
        enrolled("2019-01-10"),
        paid("2019-01-12", collector="A2"),
        terminated("2019-06-30"),
        closed("2019-01-31"),
    ],
)
def test_json_round_trip(event: object) -> None:
    record = event_to_record(event)  # type: ignore[arg-type]
    assert event_from_record(record["type"], record) == event


def test_personal_data_is_not_in_repr() -> None:
    event = enrolled("2019-01-10")
    assert isinstance(event, MemberEnrolled)
    assert event.nik not in repr(event)
    assert event.full_name not in repr(event)


def test_nik_token_is_keyed_and_stable() -> None:
    nik = "3201234567890123"
    assert nik_token(nik, b"a") == nik_token(nik, b"a")
    assert nik_token(nik, b"a") != nik_token(nik, b"b")
    key_id, digest = nik_token(nik, b"a").split(":")
    assert (key_id, len(digest)) == (nik_key_id(b"a"), 32)
    assert nik_key_id(b"a") != nik_key_id(b"b")
    assert len(nik_key_id(b"a")) == 8
    assert nik not in nik_token(nik, b"a")
