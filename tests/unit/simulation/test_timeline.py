"""The simulator's calendar reckons overdue months as status.md does."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from jamsos.simulation.timeline import Calendar, absolute_month, seconds_of, to_date, to_datetime

CALENDAR = Calendar(date(2019, 1, 1), 12)
JAN = absolute_month(date(2019, 1, 1))


def _at(day: str) -> int:
    return seconds_of(date.fromisoformat(day)) + 3_600


@pytest.mark.parametrize(
    ("day", "next_due", "in_arrears", "overdue"),
    [
        ("2019-02-15", JAN + 1, False, 0),  # example 2: paid January, due day not passed
        ("2019-02-16", JAN + 1, False, 1),  # example 3
        ("2019-05-16", JAN + 1, False, 4),  # example 5: lapsed
        ("2019-04-15", JAN, False, 3),  # example 10: never paid, still NEW
        ("2019-03-16", JAN + 1, True, 1),  # example 9: PU pays in arrears
        ("2019-02-16", JAN + 1, True, 0),  # example 8
    ],
)
def test_overdue_months_follow_the_status_examples(
    day: str, next_due: int, in_arrears: bool, overdue: int
) -> None:
    assert CALENDAR.overdue(_at(day), next_due, in_arrears) == overdue


def test_period_and_time_conversions() -> None:
    assert CALENDAR.days == 365
    assert CALENDAR.end == date(2020, 1, 1)
    moment = CALENDAR.moment(JAN + 1, 31, 0.0)
    assert to_date(moment) == date(2019, 2, 28)
    assert to_datetime(seconds_of(date(2019, 1, 12))) == datetime(2019, 1, 12, tzinfo=UTC)
    assert CALENDAR.month_of(seconds_of(date(2021, 3, 3))) == absolute_month(date(2021, 3, 1))
