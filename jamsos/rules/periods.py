"""Calendar-month arithmetic for contribution rules.

A month is an ``int`` index ``year * 12 + (month - 1)``. Plain integers keep the ledger
compact when stored and make "m + k" and "number of months between" trivial, which is
most of what the status rules do.
"""

from __future__ import annotations

from datetime import date, timedelta

Month = int
"""A calendar month as ``year * 12 + (month - 1)``."""

PU_SEGMENT = "PU"
"""The segment whose employer pays a month in arrears (due on the 15th of the next month)."""

DUE_DAY = 15
"""Day of the month on which a contribution falls due."""


def month_index(year: int, month: int) -> Month:
    """Return the index of calendar month ``month`` (1-12) of ``year``."""
    if not 1 <= month <= 12:
        raise ValueError(f"month out of range: {month}")
    return year * 12 + month - 1


def month_of(day: date) -> Month:
    """Return the month containing ``day``."""
    return month_index(day.year, day.month)


def year_month(month: Month) -> tuple[int, int]:
    """Split a month index back into ``(year, month)``."""
    year, zero_based = divmod(month, 12)
    return year, zero_based + 1


def first_day(month: Month) -> date:
    """First day of ``month``: how the output records carry a month as a date."""
    year, mon = year_month(month)
    return date(year, mon, 1)


def month_label(month: Month) -> str:
    """``YYYY-MM``, the form used by the replay output and in stable ids."""
    year, mon = year_month(month)
    return f"{year:04d}-{mon:02d}"


def parse_month(label: str) -> Month:
    """Inverse of :func:`month_label`."""
    year_text, month_text = label.split("-")
    return month_index(int(year_text), int(month_text))


def due_date(month: Month, segment: str) -> date:
    """The date on which the contribution for ``month`` is due.

    Wage earners (``PU``) are paid for by their employer in arrears, so their month is due
    one month later than for the segments that pay for themselves.
    """
    due_month = month + 1 if segment == PU_SEGMENT else month
    year, mon = year_month(due_month)
    return date(year, mon, DUE_DAY)


def overdue_from(month: Month, segment: str) -> date:
    """The first date on which ``month`` is overdue (the day after its due date)."""
    return due_date(month, segment) + timedelta(days=1)


def last_overdue_month(on: date, segment: str) -> Month:
    """The latest month that is overdue on ``on``; every earlier month is overdue too.

    A month is overdue when its due date is strictly before ``on``: on the 16th or later
    the current month's due date (15th) has passed, before that only the previous one's.
    """
    latest = month_of(on) if on.day > DUE_DAY else month_of(on) - 1
    return latest - 1 if segment == PU_SEGMENT else latest


def overdue_count(first_unpaid: Month, on: date, segment: str) -> int:
    """Number of months ``m >= first_unpaid`` that are overdue on ``on``."""
    return max(0, last_overdue_month(on, segment) - first_unpaid + 1)


def next_overdue_date(first_unpaid: Month, after: date, segment: str) -> date:
    """The first date after ``after`` on which :func:`overdue_count` grows by one.

    Overdue counts only ever grow with time, one month at a time, so this is the date the
    next not-yet-overdue month (no earlier than ``first_unpaid``) passes its due date.
    """
    candidate = max(first_unpaid, last_overdue_month(after, segment) + 1)
    return overdue_from(candidate, segment)
