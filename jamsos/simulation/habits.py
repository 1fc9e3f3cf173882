"""How members (or their employers) pay: when the next payment comes and how many months.

A habit is drawn once per member at enrolment. Each habit is a small rule for "given the
payment just made, when is the next one and for how many months", so the mix of habits
decides the mix of statuses the pipeline should find: prompt payers stay ACTIVE, late
payers drift into GRACE, lapsers fall to LAPSED and some come back with a new spell,
never-payers stay NEW until they lapse, employers pay PU months in arrears.
"""

from __future__ import annotations

import random
from enum import StrEnum
from typing import TYPE_CHECKING

from jamsos.simulation.timeline import DAY, DUE_DAY, HOUR, Calendar

if TYPE_CHECKING:
    from jamsos.simulation.members import Member


class Habit(StrEnum):
    """Payment habits; the first six are self-payers', the last three employers'."""

    ON_TIME = "ON_TIME"
    """Pays one month each month before the 15th, on a preferred day."""
    LATE = "LATE"
    """Pays after the due date, sometimes skipping a month and paying two."""
    PREPAY = "PREPAY"
    """Pays 3, 6 or 12 months at once and renews when they run out."""
    LAPSER = "LAPSER"
    """Pays on time for a few months, stops long enough to lapse; half come back."""
    IRREGULAR = "IRREGULAR"
    """Pays 1-3 months at random intervals of one to four months."""
    NEVER = "NEVER"
    """Registers and never pays."""
    EMPLOYER = "EMPLOYER"
    """An employer paying each month in arrears before the 15th of the next."""
    EMPLOYER_LATE = "EMPLOYER_LATE"
    """An employer who pays in arrears, half the time after the due date."""
    EMPLOYER_STOPS = "EMPLOYER_STOPS"
    """An employer who pays a few months and then stops."""


EMPLOYER_HABITS = frozenset({Habit.EMPLOYER, Habit.EMPLOYER_LATE, Habit.EMPLOYER_STOPS})
_PREPAY_MONTHS = (3, 3, 3, 6, 6, 12)
_RENEWAL_RATE = 0.85
_RETURN_RATE = 0.5
_SKIP_RATE = 0.25


def draw_streak(rng: random.Random, habit: Habit) -> tuple[int, bool]:
    """Payments before a lapser or a stopping employer stops, and whether a lapser returns."""
    if habit is Habit.LAPSER:
        return 1 + int(rng.random() * 5), rng.random() < _RETURN_RATE
    if habit is Habit.EMPLOYER_STOPS:
        return 1 + int(rng.random() * 6), False
    return 0, False


def first_payment(
    member: Member, calendar: Calendar, enrolled_at: int, rng: random.Random
) -> int | None:
    """When the member first pays (sets ``member.next_months``); ``None`` for never."""
    habit = member.habit
    if habit is Habit.NEVER:
        return None
    if habit in EMPLOYER_HABITS:
        member.next_months = 1
        return _employer_moment(member, calendar, rng, late=habit is Habit.EMPLOYER_LATE)
    if habit is Habit.PREPAY:
        member.next_months = _PREPAY_MONTHS[int(rng.random() * len(_PREPAY_MONTHS))]
    elif habit is Habit.IRREGULAR:
        member.next_months = 1 + int(rng.random() * 3)
    else:
        member.next_months = 1
    # Self-payers usually pay at sign-up or within a few days of it.
    return enrolled_at + HOUR // 2 + int(rng.random() * 4 * DAY)


def next_payment(
    member: Member, calendar: Calendar, paid_at: int, rng: random.Random
) -> int | None:
    """When the member pays next, after a payment at ``paid_at``; ``None`` when they stop.

    ``member.next_due`` has already moved past the months just paid.
    """
    habit = member.habit
    random_ = rng.random
    if habit is Habit.ON_TIME:
        return _on_time(member, calendar, paid_at, rng)
    if habit is Habit.LATE:
        month = member.next_due
        member.next_months = 1
        if random_() < _SKIP_RATE:
            month += 1
            member.next_months = 2
        return _not_before(
            paid_at, calendar.moment(month, 16 + int(random_() * 13), random_()), rng
        )
    if habit is Habit.PREPAY:
        if random_() >= _RENEWAL_RATE:
            return None
        member.next_months = _PREPAY_MONTHS[int(random_() * len(_PREPAY_MONTHS))]
        moment = calendar.moment(member.next_due, 1 + int(random_() * DUE_DAY), random_())
        return _not_before(paid_at, moment, rng)
    if habit is Habit.LAPSER:
        member.streak -= 1
        if member.streak > 0:
            return _on_time(member, calendar, paid_at, rng)
        if not member.will_return:
            return None
        # Away long enough to lapse (more than three months overdue), then back for good.
        member.habit = Habit.ON_TIME
        member.next_months = 1 + int(random_() * 3)
        month = member.next_due + 4 + int(random_() * 5)
        return _not_before(paid_at, calendar.moment(month, 1 + int(random_() * 28), random_()), rng)
    if habit is Habit.IRREGULAR:
        member.next_months = 1 + int(random_() * 3)
        day = paid_at - paid_at % DAY + (20 + int(random_() * 90)) * DAY
        return calendar.business_moment(day, random_())
    if habit is Habit.EMPLOYER_STOPS:
        member.streak -= 1
        if member.streak <= 0:
            return None
    member.next_months = 1
    return _not_before(
        paid_at,
        _employer_moment(member, calendar, rng, late=habit is Habit.EMPLOYER_LATE),
        rng,
    )


def _on_time(member: Member, calendar: Calendar, paid_at: int, rng: random.Random) -> int:
    member.next_months = 1
    day = member.pay_day + int(rng.random() * 5) - 2
    moment = calendar.moment(member.next_due, min(day, DUE_DAY), rng.random())
    return _not_before(paid_at, moment, rng)


def _employer_moment(member: Member, calendar: Calendar, rng: random.Random, late: bool) -> int:
    """An employer pays month ``next_due``: PU in the following month (in arrears), others
    within the month; by the 15th when on time."""
    if late and rng.random() < 0.5:
        day = 16 + int(rng.random() * 13)
    else:
        day = 1 + int(rng.random() * DUE_DAY)
    month = member.next_due + 1 if member.in_arrears else member.next_due
    return calendar.moment(month, day, rng.random())


def _not_before(paid_at: int, planned: int, rng: random.Random) -> int:
    """A member who is behind (the planned day has passed) pays again within days."""
    if planned > paid_at + HOUR:
        return planned
    return paid_at + DAY + int(rng.random() * 4 * DAY)
