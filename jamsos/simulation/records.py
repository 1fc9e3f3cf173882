"""Builders of input records in the dict form fastavro writes.

Field names are exactly the schemas'; timestamps are aware UTC datetimes and dates are
``date`` objects. Builders take already-drawn values and draw nothing themselves, so
what a record contains is decided in one place (the engine and its helpers).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from jamsos.simulation.agents import Agent
from jamsos.simulation.timeline import to_date, to_datetime

Record = dict[str, Any]


def member_enrolled(
    *,
    event_id: str,
    at: int,
    source: str,
    member_id: str,
    nik: str,
    full_name: str,
    phone: str | None,
    segment: str,
    programmes: list[str],
    declared_income: int,
    agent_id: str | None,
    employer_id: str | None,
    branch_code: str,
    region_code: str,
    channel: str,
) -> Record:
    """A ``MemberEnrolled``; the coverage start month is the month of ``at``."""
    return {
        "event_id": event_id,
        "occurred_at": to_datetime(at),
        "source": source,
        "member_id": member_id,
        "nik": nik,
        "full_name": full_name,
        "phone": phone,
        "segment": segment,
        "programmes": programmes,
        "declared_income": declared_income,
        "agent_id": agent_id,
        "employer_id": employer_id,
        "branch_code": branch_code,
        "region_code": region_code,
        "channel": channel,
    }


def contribution_paid(
    *,
    event_id: str,
    at: int,
    source: str,
    payment_id: str,
    member_id: str,
    months: int,
    amount: int,
    channel: str,
    collecting_agent_id: str | None,
) -> Record:
    """A ``ContributionPaid`` of ``months`` months for ``amount`` Rupiah in all."""
    return {
        "event_id": event_id,
        "occurred_at": to_datetime(at),
        "source": source,
        "payment_id": payment_id,
        "member_id": member_id,
        "months": months,
        "amount": amount,
        "channel": channel,
        "collecting_agent_id": collecting_agent_id,
    }


def contribution_reversed(
    *, event_id: str, at: int, source: str, payment_id: str, member_id: str, reason: str
) -> Record:
    """A ``ContributionReversed`` of the payment ``payment_id``."""
    return {
        "event_id": event_id,
        "occurred_at": to_datetime(at),
        "source": source,
        "payment_id": payment_id,
        "member_id": member_id,
        "reason": reason,
    }


def membership_terminated(
    *, event_id: str, at: int, source: str, member_id: str, reason: str, effective_date: date
) -> Record:
    """A ``MembershipTerminated``; the member is EXITED from ``effective_date`` on."""
    return {
        "event_id": event_id,
        "occurred_at": to_datetime(at),
        "source": source,
        "member_id": member_id,
        "reason": reason,
        "effective_date": effective_date,
    }


def agent_registered(*, event_id: str, at: int, agent: Agent) -> Record:
    """An ``AgentRegistered`` for a roster entry."""
    return {
        "event_id": event_id,
        "occurred_at": to_datetime(at),
        "source": "agent-admin",
        "agent_id": agent.agent_id,
        "full_name": agent.full_name,
        "branch_code": agent.branch_code,
        "region_code": agent.region_code,
        "community": agent.community,
    }


def agent_status_changed(
    *, event_id: str, at: int, agent_id: str, status: str, reason: str
) -> Record:
    """An ``AgentStatusChanged``."""
    return {
        "event_id": event_id,
        "occurred_at": to_datetime(at),
        "source": "agent-admin",
        "agent_id": agent_id,
        "status": status,
        "reason": reason,
    }


def business_day_closed(*, event_id: str, at: int) -> Record:
    """The scheduler's ``BusinessDayClosed`` for the UTC day of ``at``."""
    return {
        "event_id": event_id,
        "occurred_at": to_datetime(at),
        "source": "scheduler",
        "business_date": to_date(at),
    }
