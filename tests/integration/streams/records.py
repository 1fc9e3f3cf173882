"""Input records in the Avro dict form, for stream tests."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from tests.unit.contracts.samples import sample

_ids = itertools.count()


def _at(day: str, hour: int = 8) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def enrolled(
    member: str, day: str, *, agent: str | None = "AG-1", segment: str = "BPU", **changes: Any
) -> tuple[str, dict[str, Any]]:
    return "MemberEnrolled", sample(
        "MemberEnrolled",
        member_id=member,
        event_id=f"enr-{member}-{next(_ids)}",
        occurred_at=_at(day),
        agent_id=agent,
        segment=segment,
        employer_id="EMP-1" if segment == "PU" else None,
        **changes,
    )


def paid(
    member: str,
    day: str,
    months: int = 1,
    *,
    payment: str | None = None,
    collector: str | None = None,
    amount: int | None = None,
) -> tuple[str, dict[str, Any]]:
    return "ContributionPaid", sample(
        "ContributionPaid",
        member_id=member,
        event_id=f"pay-{next(_ids)}",
        payment_id=payment or f"P-{next(_ids)}",
        occurred_at=_at(day, 10),
        months=months,
        amount=amount or 36_800 * months,
        channel="agent" if collector else "bank",
        collecting_agent_id=collector,
    )


def reversed_(member: str, day: str, payment: str) -> tuple[str, dict[str, Any]]:
    return "ContributionReversed", sample(
        "ContributionReversed",
        member_id=member,
        event_id=f"rev-{next(_ids)}",
        payment_id=payment,
        occurred_at=_at(day, 12),
    )


def closed(day: str) -> tuple[str, dict[str, Any]]:
    return "BusinessDayClosed", sample(
        "BusinessDayClosed",
        event_id=f"tick-{day}",
        occurred_at=_at(day, 23),
        business_date=date.fromisoformat(day),
    )
