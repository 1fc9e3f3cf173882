"""What closing a business day does to one member, and on which day to look at it next.

A tick closes business days one by one and visits only the members filed under each day
(`status.md`: a tick's cost grows with the members that change). These two functions are
that step for one member; the worker (`streams.member_processor`, over its stored due
index) and `jamsos replay` (over a dict) both call them, so the days on which statuses
change, alerts are raised and held events expire are the same in both.
"""

from __future__ import annotations

from datetime import date, timedelta

from jamsos.rules.holding import HeldEvent, expire_held, next_expiry
from jamsos.rules.member import (
    MemberLedger,
    Outcome,
    advance,
    evaluation_date,
    next_change_date,
)


def close_day(
    ledger: MemberLedger, day: date, lapse_months: int, hold_days: int
) -> tuple[Outcome, list[HeldEvent]]:
    """Close `day` for a member filed under it: held events past their period leave the
    ledger (to be dead-lettered), then time moves the status on."""
    expired = expire_held(ledger, day, hold_days)
    return advance(ledger, day, lapse_months), expired


def next_due(
    ledger: MemberLedger, business_date: date | None, lapse_months: int, hold_days: int
) -> date | None:
    """The next day a tick must visit the member: its next time-driven change, or the day
    its first held event expires, whichever is earlier. Never a day already closed: a
    late event held past its period is dead-lettered by the next tick."""
    change_on = None
    if ledger.enrolled:
        on = evaluation_date(ledger, business_date)
        change_on = next_change_date(ledger, on, lapse_months)
    expiry = next_expiry(ledger, hold_days)
    if expiry is not None and business_date is not None:
        expiry = max(expiry, business_date + timedelta(days=1))
    if change_on is None or expiry is None:
        return change_on or expiry
    return min(change_on, expiry)


def first_day_to_close(
    business_date: date | None, earliest_due: date | None, closing: date
) -> date | None:
    """The first day a tick to `closing` closes, or None when the business date does not
    move. The first tick starts at the earliest day any member was filed under, so members
    that changed before the clock was first set pass through those days too."""
    if business_date is not None:
        if closing <= business_date:
            return None
        return business_date + timedelta(days=1)
    return min(earliest_due or closing, closing)
