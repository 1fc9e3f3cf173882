"""Decoded records to table rows: column order, versions, and no personal data."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from jamsos.warehouse.migrations import MIGRATIONS_DIR
from jamsos.warehouse.rows import (
    TABLE_COLUMNS,
    UNKNOWN_DATE,
    Position,
    agent_period_row,
    dead_letter_row,
    enrolled_on,
    keep_first,
    member_row,
    member_version,
    rows_for,
)

AT = Position(partition=1, offset=42, timestamp_ms=1_550_000_000_123)

CHANGE = {
    "member_id": "M1",
    "from_status": None,
    "to_status": "NEW",
    "as_of": date(2019, 1, 10),
    "reason": "ENROLLED",
    "paid_through": None,
    "arrears_months": 0,
    "segment": "BPU",
    "branch_code": "B1",
    "region_code": "51",
    "agent_id": None,
    "nik_token": "ab" * 32,
    "change_id": "c1",
    "enrolled_on": None,
}
TALLY = {
    "agent_id": "A1", "branch_code": None, "region_code": None, "agent_status": None,
    "recruits_total": 3, "recruits_new": 1, "recruits_active": 1, "recruits_grace": 1,
    "recruits_lapsed": 0, "recruits_exited": 0, "last_activity_on": None, "period": None,
    "new_recruits": 0, "contributions_amount": 0, "contribution_months": 0,
    "commission_amount": 0, "bonus_amount": 0, "payout_amount": 0,
    "as_of": date(2019, 2, 1), "version": 7, "tally_id": "t7",
}  # fmt: skip
LETTER = {
    "topic": "contributions", "partition": 2, "offset": 9, "key": None,
    "value": b"\x00\xff", "error_type": "DECODE_ERROR", "error": "bad",
    "failed_at": datetime(2019, 2, 1, tzinfo=UTC), "dead_letter_id": None,
}  # fmt: skip
PAYMENT = {
    "event_id": "e1", "occurred_at": datetime(2019, 1, 12, tzinfo=UTC), "source": "bank",
    "payment_id": "p1", "member_id": "M1", "months": 2, "amount": 70_000,
    "channel": "agent", "collecting_agent_id": None,
}  # fmt: skip
REVERSAL = {
    "event_id": "e2", "occurred_at": datetime(2019, 1, 20, tzinfo=UTC), "source": "bank",
    "payment_id": "p1", "member_id": "M1", "reason": "CORRECTION",
}  # fmt: skip
ALERT = {
    "alert_id": "a1", "alert_type": "LAPSED", "member_id": "M1", "agent_id": "A1",
    "branch_code": "B1", "region_code": "51", "as_of": date(2019, 5, 16),
    "paid_through": date(2019, 1, 1), "arrears_months": 4,
}  # fmt: skip

SAMPLES = {
    "MemberStatusChanged": CHANGE,
    "LapseAlert": ALERT,
    "AgentTally": {**TALLY, "period": date(2019, 2, 1)},
    "DeadLetter": LETTER,
    "ContributionPaid": PAYMENT,
    "ContributionReversed": REVERSAL,
}


@pytest.mark.parametrize("record_name", sorted(SAMPLES))
def test_every_row_has_its_table_columns(record_name: str) -> None:
    landed = rows_for(record_name, SAMPLES[record_name], AT)
    assert landed
    for table, row in landed:
        assert len(row) == len(TABLE_COLUMNS[table])


def test_status_change_lands_in_members_and_changes() -> None:
    tables = [table for table, _ in rows_for("MemberStatusChanged", CHANGE, AT)]
    assert tables == ["members", "member_status_changes"]
    row = dict(zip(TABLE_COLUMNS["members"], member_row(CHANGE, AT), strict=True))
    assert row["agent_id"] == ""
    assert row["status"] == "NEW"
    assert row["paid_through"] is None
    assert row["updated_at"] == datetime(2019, 2, 12, 19, 33, 20, 123000, tzinfo=UTC)


def test_enrolment_date_comes_from_the_record_or_the_enrolment_change() -> None:
    assert enrolled_on({**CHANGE, "enrolled_on": date(2019, 1, 9)}) == date(2019, 1, 9)
    assert enrolled_on(CHANGE) == date(2019, 1, 10)  # the ENROLLED change's as_of
    assert enrolled_on({**CHANGE, "reason": "TIME"}) == UNKNOWN_DATE


def test_member_version_orders_by_business_date_then_emission() -> None:
    day, next_day = date(2019, 1, 10), date(2019, 1, 11)
    assert member_version(day, 10) < member_version(day, 11)
    assert member_version(day, 999_999_999) < member_version(next_day, 0)
    with pytest.raises(ValueError, match="40 bits"):
        member_version(day, 1 << 40)


def test_keep_first_prefers_the_earliest_delivery() -> None:
    assert keep_first(3) > keep_first(4) > 0


def test_tally_without_period_lands_in_agents_only() -> None:
    assert agent_period_row(TALLY, AT) is None
    assert [table for table, _ in rows_for("AgentTally", TALLY, AT)] == ["agents"]
    _, row = rows_for("AgentTally", TALLY, AT)[0]
    assert row[-1] == 7  # version of the tally
    assert row[1:4] == ("", "", "")  # never-registered agent


def test_dead_letter_derives_its_id_and_stores_only_what_the_redactor_gives() -> None:
    row = dict(zip(TABLE_COLUMNS["dead_letters"], dead_letter_row(LETTER, AT), strict=True))
    assert row["key"] is None
    assert row["dead_letter_id"] == "contributions:2:9"
    # By default (no redactor given) only the length and a hash are stored.
    assert row["value"].startswith(b"undecodable value: 2 bytes, sha256 ")
    given = dead_letter_row(LETTER, AT, redact=lambda value: b"redacted")
    assert dict(zip(TABLE_COLUMNS["dead_letters"], given, strict=True))["value"] == b"redacted"


def test_unknown_record_lands_nowhere() -> None:
    assert rows_for("MemberEnrolled", {"nik": "3171234567890123"}, AT) == []


def test_no_personal_data_column_in_rows_or_ddl() -> None:
    personal = {"nik", "full_name", "phone"}
    for columns in TABLE_COLUMNS.values():
        assert not personal & set(columns)
    for path in MIGRATIONS_DIR.glob("*.sql"):
        words = set(re.findall(r"[a-z_]+", path.read_text().lower()))
        assert not personal & words, path.name
