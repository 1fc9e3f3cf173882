"""The contract's bounds (events.md, *Bounds*): dates in 1990-2099, money up to 10^12
Rupiah, ids of 1-64 characters of A-Z a-z 0-9 . _ -; each broken bound is a readable
validation error that names the field and never quotes a huge value whole."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from jamsos.contracts.errors import ContractError
from jamsos.contracts.validation import MAX_RUPIAH, validate
from tests.unit.contracts.samples import sample

pytestmark = pytest.mark.unit


def _reason(type_name: str, **changes: Any) -> ContractError:
    with pytest.raises(ContractError) as err:
        validate(type_name, sample(type_name, **changes))
    assert err.value.error_type == "VALIDATION_ERROR"
    return err.value


@pytest.mark.parametrize(
    "moment",
    [
        datetime(1969, 12, 31, 23, 0, tzinfo=UTC),
        datetime(1989, 12, 31, 23, 59, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
        datetime(2200, 1, 10, tzinfo=UTC),
        datetime(9999, 12, 31, tzinfo=UTC),
    ],
)
@pytest.mark.parametrize("type_name", ["MemberEnrolled", "ContributionPaid", "BusinessDayClosed"])
def test_timestamps_outside_1990_to_2099_are_rejected(type_name: str, moment: datetime) -> None:
    error = _reason(type_name, occurred_at=moment)
    assert error.field == "occurred_at"
    assert "1990-01-01 .. 2099-12-31" in str(error)


@pytest.mark.parametrize(
    "moment", [datetime(1990, 1, 1, tzinfo=UTC), datetime(2099, 12, 31, 23, tzinfo=UTC)]
)
def test_the_ends_of_the_range_are_accepted(moment: datetime) -> None:
    validate("ContributionPaid", sample("ContributionPaid", occurred_at=moment))


@pytest.mark.parametrize("day", [date(2100, 12, 31), date(9999, 12, 31), date(1989, 1, 1)])
def test_business_dates_and_effective_dates_outside_the_range_are_rejected(day: date) -> None:
    assert _reason("BusinessDayClosed", business_date=day).field == "business_date"
    assert _reason("MembershipTerminated", effective_date=day).field == "effective_date"


def test_money_above_10_to_the_12_is_rejected_and_the_limit_itself_accepted() -> None:
    validate("ContributionPaid", sample("ContributionPaid", amount=MAX_RUPIAH))
    assert _reason("ContributionPaid", amount=2**63 - 1).field == "amount"
    assert _reason("ContributionPaid", amount=MAX_RUPIAH + 1).field == "amount"
    assert _reason("MemberEnrolled", declared_income=MAX_RUPIAH + 1).field == "declared_income"
    assert _reason("ContributionPaid", amount=-1).field == "amount"


@pytest.mark.parametrize(
    "bad",
    ["", "M\x00001", "M\n001", "M🙂", "share:X:Y", "with space", "x" * 65, "M" * 10_000],
)
@pytest.mark.parametrize(
    ("type_name", "field"),
    [
        ("MemberEnrolled", "member_id"),
        ("MemberEnrolled", "agent_id"),
        ("MemberEnrolled", "employer_id"),
        ("MemberEnrolled", "branch_code"),
        ("MemberEnrolled", "region_code"),
        ("ContributionPaid", "payment_id"),
        ("ContributionPaid", "collecting_agent_id"),
        ("ContributionPaid", "event_id"),
        ("AgentRegistered", "agent_id"),
    ],
)
def test_ids_outside_the_charset_or_length_are_rejected(
    type_name: str, field: str, bad: str
) -> None:
    error = _reason(type_name, **{field: bad})
    assert error.field == field
    assert len(str(error)) < 200  # a 10 kB id is not quoted whole


def test_ids_of_64_allowed_characters_are_accepted() -> None:
    validate("ContributionPaid", sample("ContributionPaid", member_id="A-z_0.9" * 9 + "x"))


def test_optional_ids_may_still_be_absent() -> None:
    validate("ContributionPaid", sample("ContributionPaid", collecting_agent_id=None))
    validate("MemberEnrolled", sample("MemberEnrolled", agent_id=None))
