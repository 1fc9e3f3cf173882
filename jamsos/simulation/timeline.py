"""Simulated business time: whole seconds since the Unix epoch, and the calendar around them.

The engine handles millions of timestamps, so it keeps them as plain integers and turns
them into ``datetime``/``date`` only when a record is built. Months are counted as
``year * 12 + month - 1`` ("absolute months"), which makes "the month after" an addition.
Everything is UTC, like every timestamp of the contract.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

DAY = 86_400
HOUR = 3_600
MINUTE = 60
DUE_DAY = 15
"""Contributions for a month are due on the 15th (status.md)."""

_EPOCH_DATE = date(1970, 1, 1)
_BUSINESS_HOURS = (1 * HOUR, 15 * HOUR)
"""01:00-15:00 UTC is 08:00-22:00 in Jakarta: when counters, apps and agents take money."""


def absolute_month(day: date) -> int:
    """The month of ``day`` as a single integer, so month arithmetic is plain addition."""
    return day.year * 12 + day.month - 1


def first_day_of(month: int) -> date:
    """The first day of an absolute month."""
    return date(month // 12, month % 12 + 1, 1)


def to_datetime(seconds: int) -> datetime:
    """An aware UTC datetime, the form fastavro writes for ``timestamp-millis``."""
    return datetime.fromtimestamp(seconds, UTC)


def to_date(seconds: int) -> date:
    """The UTC date of a moment, the date the rules evaluate an event on."""
    return _EPOCH_DATE + timedelta(days=seconds // DAY)


def seconds_of(day: date) -> int:
    """Midnight UTC at the start of ``day``."""
    return (day - _EPOCH_DATE).days * DAY


class Calendar:
    """The simulated period: ``months`` calendar months from ``start`` (exclusive end).

    Per-day lookups (month and day of month of each day of the period) are precomputed,
    because the engine asks "which month is this payment in?" for every payment.
    """

    def __init__(self, start: date, months: int) -> None:
        if months < 1:
            raise ValueError(f"months must be >= 1, got {months}")
        self.start = start
        self.first_month = absolute_month(start)
        # A period that starts mid-month still ends on a month boundary: ticks and monthly
        # figures then cover whole months at the end.
        self.end = first_day_of(absolute_month(start) + months)
        self.days = (self.end - start).days
        self.start_s = seconds_of(start)
        self.end_s = seconds_of(self.end)
        self._month_of_day: list[int] = []
        self._day_of_month: list[int] = []
        for offset in range(self.days):
            day = start + timedelta(days=offset)
            self._month_of_day.append(absolute_month(day))
            self._day_of_month.append(day.day)
        self._month_start: dict[int, int] = {}

    def contains(self, seconds: int) -> bool:
        """Whether a moment falls inside the simulated period."""
        return self.start_s <= seconds < self.end_s

    def day_index(self, seconds: int) -> int:
        """Days since the start of the period (0 on the first day)."""
        return (seconds - self.start_s) // DAY

    def day_start(self, index: int) -> int:
        """Midnight UTC at the start of day ``index`` of the period."""
        return self.start_s + index * DAY

    def date_of_day(self, index: int) -> date:
        """The calendar date of day ``index`` of the period."""
        return self.start + timedelta(days=index)

    def month_of(self, seconds: int) -> int:
        """The absolute month of a moment (fast inside the period)."""
        index = (seconds - self.start_s) // DAY
        if 0 <= index < self.days:
            return self._month_of_day[index]
        return absolute_month(to_date(seconds))

    def day_of_month(self, seconds: int) -> int:
        """The day of the month of a moment."""
        index = (seconds - self.start_s) // DAY
        if 0 <= index < self.days:
            return self._day_of_month[index]
        return to_date(seconds).day

    def month_start(self, month: int) -> int:
        """Midnight UTC on the first day of an absolute month."""
        found = self._month_start.get(month)
        if found is None:
            found = self._month_start[month] = seconds_of(first_day_of(month))
        return found

    def moment(self, month: int, day: int, time_of_day: float) -> int:
        """A moment on ``day`` of ``month`` (clamped to the 28th, which every month has).

        ``time_of_day`` in [0, 1) is spread over business hours.
        """
        day = min(max(day, 1), 28)
        low, high = _BUSINESS_HOURS
        return self.month_start(month) + (day - 1) * DAY + low + int(time_of_day * (high - low))

    def business_moment(self, day_start: int, time_of_day: float) -> int:
        """A moment during business hours of the day starting at ``day_start``."""
        low, high = _BUSINESS_HOURS
        return day_start + low + int(time_of_day * (high - low))

    def overdue(self, seconds: int, next_due: int, in_arrears: bool) -> int:
        """Months from ``next_due`` on whose due date has passed at ``seconds`` (status.md).

        ``in_arrears`` is true for PU members, whose month ``m`` is due on the 15th of
        ``m + 1``. The simulator uses this to behave like a member who knows whether their
        cover has lapsed; the pipeline computes the authoritative figure itself.
        """
        index = (seconds - self.start_s) // DAY
        if 0 <= index < self.days:
            month, day = self._month_of_day[index], self._day_of_month[index]
        else:
            moment = to_date(seconds)
            month, day = absolute_month(moment), moment.day
        last_overdue = month - 1 if day <= DUE_DAY else month
        if in_arrears:
            last_overdue -= 1
        return max(0, last_overdue - next_due + 1)
