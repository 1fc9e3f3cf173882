"""Small event builders for the rules tests: dates as ``YYYY-MM-DD`` strings, UTC times."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime

from jamsos.rules.events import (
    AgentRegistered,
    AgentStatusChanged,
    BusinessDayClosed,
    ContributionPaid,
    ContributionReversed,
    MemberEnrolled,
    MemberEvent,
    MembershipTerminated,
)
from jamsos.rules.member import MemberLedger, MemberState, apply_event, evaluate, evaluation_date
from jamsos.rules.periods import parse_month

SECRET = b"test-secret"
BPU_MONTH = 16_800
"""A plausible BPU monthly contribution (JKK + JKM) in Rupiah."""

_ids = itertools.count(1)


def _next_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids):06d}"


def at(text: str) -> datetime:
    """``YYYY-MM-DD`` (08:00 UTC) or ``YYYY-MM-DDTHH:MM`` as an aware UTC datetime."""
    moment = datetime.fromisoformat(text if "T" in text else f"{text}T08:00")
    return moment.replace(tzinfo=UTC)


def day(text: str) -> date:
    """``YYYY-MM-DD`` as a date."""
    return date.fromisoformat(text)


def month(text: str | None) -> int | None:
    """``YYYY-MM`` as a month index (``None`` stays ``None``)."""
    return None if text is None else parse_month(text)


def enrolled(
    on: str,
    member: str = "M1",
    *,
    segment: str = "BPU",
    agent: str | None = "A1",
    jht: bool = True,
    event_id: str | None = None,
) -> MemberEnrolled:
    """A ``MemberEnrolled`` of ``member`` at ``on``."""
    programmes = ("JKK", "JKM", "JHT") if jht else ("JKK", "JKM")
    return MemberEnrolled(
        event_id=event_id or _next_id("enr"),
        occurred_at=at(on),
        source="portal",
        member_id=member,
        nik="3201234567890123",
        full_name="Wayan Test",
        segment=segment,
        programmes=programmes,
        declared_income=2_000_000,
        branch_code="DPS01",
        region_code="51",
        channel="agent",
        agent_id=agent,
        employer_id="E1" if segment == "PU" else None,
    )


def paid(
    on: str,
    months: int = 1,
    member: str = "M1",
    *,
    amount: int | None = None,
    payment_id: str | None = None,
    event_id: str | None = None,
    collector: str | None = None,
) -> ContributionPaid:
    """A ``ContributionPaid`` of ``months`` months at ``on``."""
    return ContributionPaid(
        event_id=event_id or _next_id("pay-ev"),
        occurred_at=at(on),
        source="bank:BNI",
        payment_id=payment_id or _next_id("pay"),
        member_id=member,
        months=months,
        amount=amount if amount is not None else months * BPU_MONTH,
        channel="agent" if collector else "bank",
        collecting_agent_id=collector,
    )


def reversed_(
    payment: ContributionPaid | str, on: str, member: str = "M1", *, event_id: str | None = None
) -> ContributionReversed:
    """A ``ContributionReversed`` of ``payment`` at ``on``."""
    payment_id = payment if isinstance(payment, str) else payment.payment_id
    if not isinstance(payment, str):
        member = payment.member_id
    return ContributionReversed(
        event_id=event_id or _next_id("rev"),
        occurred_at=at(on),
        source="bank:BNI",
        payment_id=payment_id,
        member_id=member,
        reason="BANK_REVERSAL",
    )


def terminated(
    effective: str, on: str | None = None, member: str = "M1", *, event_id: str | None = None
) -> MembershipTerminated:
    """A ``MembershipTerminated`` effective ``effective`` (recorded at ``on``)."""
    return MembershipTerminated(
        event_id=event_id or _next_id("term"),
        occurred_at=at(on or effective),
        source="portal",
        member_id=member,
        reason="RETIREMENT",
        effective_date=day(effective),
    )


def closed(on: str) -> BusinessDayClosed:
    """A ``BusinessDayClosed`` for ``on``."""
    return BusinessDayClosed(
        event_id=f"close-{on}",
        occurred_at=at(f"{on}T23:00"),
        source="scheduler",
        business_date=day(on),
    )


def registered(agent: str, on: str = "2018-06-01") -> AgentRegistered:
    """An ``AgentRegistered``."""
    return AgentRegistered(
        event_id=_next_id("agent"),
        occurred_at=at(on),
        source="portal",
        agent_id=agent,
        full_name="Made Agent",
        branch_code="DPS01",
        region_code="51",
        community="OJEK",
    )


def agent_status(agent: str, status: str, on: str) -> AgentStatusChanged:
    """An ``AgentStatusChanged``."""
    return AgentStatusChanged(
        event_id=_next_id("agent-st"),
        occurred_at=at(on),
        source="portal",
        agent_id=agent,
        status=status,
        reason="test",
    )


def ledger_of(events: Iterable[MemberEvent], member: str = "M1") -> MemberLedger:
    """A ledger with ``events`` applied in the given order (no business date)."""
    ledger = MemberLedger(member)
    for event in events:
        apply_event(ledger, event, None, nik_secret=SECRET)
    return ledger


def state_on(ledger: MemberLedger, on: str, lapse_months: int = 3) -> MemberState:
    """The member's state as the worker evaluates it with business date ``on``."""
    return evaluate(ledger, evaluation_date(ledger, day(on)), lapse_months)
