"""Calendar-month arithmetic."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jamsos.rules.periods import (
    due_date,
    first_day,
    month_index,
    month_label,
    month_of,
    next_overdue_date,
    overdue_count,
    overdue_from,
    parse_month,
)

JAN_2019 = month_index(2019, 1)


def test_month_round_trips() -> None:
    assert month_label(month_of(date(2019, 12, 31)) + 1) == "2020-01"
    assert first_day(parse_month("2019-02")) == date(2019, 2, 1)


@pytest.mark.parametrize(
    ("segment", "month", "due"),
    [
        ("BPU", "2019-01", date(2019, 1, 15)),
        ("JAKON", "2019-12", date(2019, 12, 15)),
        ("PMI", "2019-06", date(2019, 6, 15)),
        ("PU", "2019-01", date(2019, 2, 15)),
        ("PU", "2019-12", date(2020, 1, 15)),
    ],
)
def test_due_date(segment: str, month: str, due: date) -> None:
    assert due_date(parse_month(month), segment) == due


def test_overdue_is_strictly_after_the_due_date() -> None:
    assert overdue_count(JAN_2019, date(2019, 1, 15), "BPU") == 0
    assert overdue_count(JAN_2019, date(2019, 1, 16), "BPU") == 1
    assert overdue_count(JAN_2019, date(2019, 2, 16), "PU") == 1
    assert overdue_count(JAN_2019, date(2018, 6, 1), "BPU") == 0


@given(
    first=st.integers(min_value=JAN_2019 - 24, max_value=JAN_2019 + 24),
    after=st.dates(min_value=date(2017, 1, 1), max_value=date(2021, 12, 31)),
    segment=st.sampled_from(["BPU", "PU", "JAKON", "PMI"]),
)
def test_next_overdue_date_is_the_first_day_the_count_grows(
    first: int, after: date, segment: str
) -> None:
    expected = after + timedelta(days=1)
    while overdue_count(first, expected, segment) == overdue_count(first, after, segment):
        expected += timedelta(days=1)
    assert next_overdue_date(first, after, segment) == expected
    assert overdue_from(month_of(expected), segment) <= expected + timedelta(days=31)
