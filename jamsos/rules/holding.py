"""How long an event waits for what it needs, and what becomes of it then (events.md).

Events of a member whose `MemberEnrolled` has not arrived, and a reversal whose payment has
not arrived, are *held*: recorded in the ledger but without effect. Each is held for at
most `hold_days` business days after its `occurred_at`; on the first business date past
that it leaves the ledger and becomes a dead letter (`UNHELD_EVENT`, `UNKNOWN_PAYMENT`),
which can be re-published once the missing event is there. Without the limit a member id
nobody enrols, or a reversal of a payment that never existed, would be kept for ever.

The worker (on each business day it closes) and `jamsos replay` (on each tick) both
decide here, so they drop the same events on the same business dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from jamsos.rules.member import MemberLedger

DEFAULT_HOLD_DAYS = 30
UNHELD_EVENT = "UNHELD_EVENT"
"""Dead-letter type of an event whose member never enrolled within the holding period."""
UNKNOWN_PAYMENT = "UNKNOWN_PAYMENT"
"""Dead-letter type of a reversal whose payment never arrived within the holding period."""


@dataclass(frozen=True, slots=True)
class HeldEvent:
    """One event of the ledger that has no effect yet, and what it waits for."""

    event_id: str
    occurred_on: date
    error_type: str
    waits_for: str

    def expires_on(self, hold_days: int) -> date:
        """The first business date on which the event is no longer held."""
        return self.occurred_on + timedelta(days=hold_days + 1)

    def reason(self, hold_days: int) -> str:
        """The dead letter's readable reason (ids and dates only: no personal data)."""
        return (
            f"held {hold_days} business days after {self.occurred_on.isoformat()} "
            f"for {self.waits_for}, which has not arrived"
        )


def held_events(ledger: MemberLedger) -> list[HeldEvent]:
    """Every held event of the ledger, oldest first."""
    if ledger.enrolment is not None and not ledger.reversals:
        return []  # the common case, asked on every event and tick: kept cheap
    if ledger.enrolment is None:
        enrolment = f"the enrolment of member {ledger.member_id}"
        held = [
            HeldEvent(p.event_id, p.occurred_at.date(), UNHELD_EVENT, enrolment)
            for p in ledger.payments
        ]
        held += [
            HeldEvent(r.event_id, r.occurred_at.date(), UNHELD_EVENT, enrolment)
            for r in ledger.reversals.values()
        ]
        if ledger.termination is not None:
            t = ledger.termination
            held.append(HeldEvent(t.event_id, t.occurred_at.date(), UNHELD_EVENT, enrolment))
    else:
        held = [
            HeldEvent(r.event_id, r.occurred_at.date(), UNKNOWN_PAYMENT, f"payment {r.payment_id}")
            for r in ledger.held_reversals()
        ]
    return sorted(held, key=lambda h: (h.occurred_on, h.event_id))


def next_expiry(ledger: MemberLedger, hold_days: int = DEFAULT_HOLD_DAYS) -> date | None:
    """The first business date on which one of the ledger's held events expires."""
    held = held_events(ledger)
    return min(h.expires_on(hold_days) for h in held) if held else None


def expire_held(
    ledger: MemberLedger, business_date: date, hold_days: int = DEFAULT_HOLD_DAYS
) -> list[HeldEvent]:
    """Remove from the ledger every held event whose holding period has passed by
    `business_date`, and return them (the caller dead-letters them)."""
    expired = [h for h in held_events(ledger) if h.expires_on(hold_days) <= business_date]
    if not expired:
        return []
    gone = {h.event_id for h in expired}
    if ledger.enrolment is None:
        ledger.payments = [p for p in ledger.payments if p.event_id not in gone]
        if ledger.termination is not None and ledger.termination.event_id in gone:
            ledger.termination = None
    ledger.reversals = {
        payment_id: r for payment_id, r in ledger.reversals.items() if r.event_id not in gone
    }
    ledger.facts_changed()
    return expired
