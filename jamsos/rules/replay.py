"""The offline computation behind ``jamsos replay``.

It deliberately runs the worker's own functions (:func:`apply_event`, :func:`advance`,
:func:`member_agent_shares`, :class:`AgentBook`) rather than a second implementation, so
that explaining a status offline cannot disagree with what the pipeline computed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from jamsos.rules.agent import AgentBook, AgentFigures, PeriodFigures, member_agent_shares
from jamsos.rules.clock import DEFAULT_MAX_TICK_ADVANCE_DAYS, tick_advance_refused
from jamsos.rules.days import close_day, first_day_to_close, next_due
from jamsos.rules.events import (
    AgentRegistered,
    AgentStatusChanged,
    BusinessDayClosed,
    Event,
)
from jamsos.rules.holding import DEFAULT_HOLD_DAYS, HeldEvent
from jamsos.rules.member import (
    DEFAULT_LAPSE_MONTHS,
    LapseAlert,
    MemberLedger,
    MemberState,
    advance,
    apply_event,
    evaluate,
    evaluation_date,
)
from jamsos.rules.periods import month_label

REPLAY_NIK_SECRET = b"jamsos-replay"
"""Keys NIK tokens during a replay; the tokens never appear in the replay output."""


@dataclass
class ReplayState:
    """Final ledgers and books of a replay, for callers that want more than the lines."""

    as_of: date | None
    lapse_months: int = DEFAULT_LAPSE_MONTHS
    ledgers: dict[str, MemberLedger] = field(default_factory=dict)
    books: dict[str, AgentBook] = field(default_factory=dict)
    expired: list[tuple[str, HeldEvent]] = field(default_factory=list)
    """Held events that became dead letters, with their member, in the order they did."""
    alerts: dict[str, LapseAlert] = field(default_factory=dict)
    """Every alert the worker would emit, by `alert_id` (a re-emission keeps its id)."""

    def note_alerts(self, alerts: Iterable[LapseAlert]) -> None:
        for alert in alerts:
            self.alerts.setdefault(alert.alert_id, alert)

    def book(self, agent_id: str) -> AgentBook:
        """The agent's book, created on first use."""
        if agent_id not in self.books:
            self.books[agent_id] = AgentBook(agent_id)
        return self.books[agent_id]


def default_as_of(
    events: Iterable[Event], max_tick_advance_days: int = DEFAULT_MAX_TICK_ADVANCE_DAYS
) -> date | None:
    """The latest accepted ``BusinessDayClosed`` in the input, else the latest event date."""
    latest_close: date | None = None
    latest_event: date | None = None
    for event in events:
        if isinstance(event, BusinessDayClosed):
            if tick_advance_refused(latest_close, event.business_date, max_tick_advance_days):
                continue
            latest_close = _later_of(latest_close, event.business_date)
        latest_event = _later_of(latest_event, event.occurred_on)
    return latest_close if latest_close is not None else latest_event


def _later_of(current: date | None, candidate: date) -> date:
    return candidate if current is None or candidate > current else current


def replay_state(
    events: Iterable[Event],
    as_of: date | None = None,
    lapse_months: int = DEFAULT_LAPSE_MONTHS,
    *,
    nik_secret: bytes = REPLAY_NIK_SECRET,
    max_tick_advance_days: int = DEFAULT_MAX_TICK_ADVANCE_DAYS,
    hold_days: int = DEFAULT_HOLD_DAYS,
) -> ReplayState:
    """Apply ``events`` in the given order, then bring every member and agent to ``as_of``.

    Ticks apply where they stand, as the worker applies them: each closes the days up to
    its date one by one for the members filed under each day (`jamsos.rules.days`), which
    is when alerts are raised and held events expire. Ticks the business clock refuses
    (`jamsos.rules.clock`) are left out, as the worker dead-letters them.
    """
    items = list(events)
    target = as_of if as_of is not None else default_as_of(items, max_tick_advance_days)
    state = ReplayState(as_of=target, lapse_months=lapse_months)
    schedule = _Schedule(state, lapse_months, hold_days)
    clock: date | None = None
    for event in items:
        if isinstance(event, BusinessDayClosed):
            if tick_advance_refused(clock, event.business_date, max_tick_advance_days):
                continue
            clock = _later_of(clock, event.business_date)
            schedule.close_days_to(clock if target is None else min(clock, target))
        elif isinstance(event, AgentRegistered | AgentStatusChanged):
            state.book(event.agent_id).apply_event(event)
        else:
            ledger = state.ledgers.setdefault(event.member_id, MemberLedger(event.member_id))
            outcome = apply_event(
                ledger, event, schedule.business_date, lapse_months, nik_secret=nik_secret
            )
            state.note_alerts(outcome.alerts)
            schedule.refile(ledger, schedule.business_date)
    for member_id, ledger in sorted(state.ledgers.items()):
        if target is not None and ledger.enrolled:
            advance(ledger, target, lapse_months)
        for agent_id in _agents_named(ledger):
            state.book(agent_id)
        for agent_id, share in member_agent_shares(ledger, target, lapse_months).items():
            state.book(agent_id).set_share(member_id, share)
    return state


@dataclass
class _Schedule:
    """The replay's business clock and due index: a dict where the worker has a table."""

    state: ReplayState
    lapse_months: int
    hold_days: int
    business_date: date | None = None
    due: dict[date, set[str]] = field(default_factory=dict)
    due_on: dict[str, date] = field(default_factory=dict)

    def refile(self, ledger: MemberLedger, business_date: date | None) -> None:
        """File the member under the next day a tick must visit it."""
        member_id = ledger.member_id
        old = self.due_on.pop(member_id, None)
        if old is not None:
            self.due[old].discard(member_id)
        new = next_due(ledger, business_date, self.lapse_months, self.hold_days)
        if new is not None:
            self.due.setdefault(new, set()).add(member_id)
            self.due_on[member_id] = new

    def close_days_to(self, closing: date) -> None:
        """Close every day after the business date up to `closing`, as a tick does."""
        earliest = min(self.due) if self.due else None
        day = first_day_to_close(self.business_date, earliest, closing)
        while day is not None and day <= closing:
            for member_id in sorted(self.due.pop(day, ())):
                del self.due_on[member_id]
                ledger = self.state.ledgers[member_id]
                outcome, expired = close_day(ledger, day, self.lapse_months, self.hold_days)
                self.state.note_alerts(outcome.alerts)
                self.state.expired.extend((member_id, held) for held in expired)
                self.refile(ledger, day)
            day += timedelta(days=1)
        self.business_date = _later_of(self.business_date, closing)


def _agents_named(ledger: MemberLedger) -> set[str]:
    """Agents an enrolled member's facts name, even if their share came to nothing.

    The worker has a book for such an agent (e.g. a collector whose only payment was
    reversed), so the replay lists it too, with zero figures.
    """
    if ledger.enrolment is None:
        return set()
    named = {p.collecting_agent_id for p in ledger.payments if p.collecting_agent_id}
    if ledger.enrolment.agent_id:
        named.add(ledger.enrolment.agent_id)
    return named


def member_line(member_id: str, member_state: MemberState) -> dict[str, Any]:
    """``{"kind": "member", ...}`` as specified in ``cli.md``."""
    paid = member_state.paid_through
    return {
        "kind": "member",
        "member_id": member_id,
        "status": member_state.status.value,
        "paid_through": None if paid is None else month_label(paid),
        "arrears_months": member_state.arrears_months,
    }


def agent_line(agent_id: str, figures: AgentFigures) -> dict[str, Any]:
    """``{"kind": "agent", ...}`` as specified in ``cli.md``."""
    last = figures.last_activity_on
    return {
        "kind": "agent",
        "agent_id": agent_id,
        "recruits_total": figures.recruits_total,
        "recruits_new": figures.recruits_new,
        "recruits_active": figures.recruits_active,
        "recruits_grace": figures.recruits_grace,
        "recruits_lapsed": figures.recruits_lapsed,
        "recruits_exited": figures.recruits_exited,
        "last_activity_on": None if last is None else last.isoformat(),
    }


def agent_period_line(agent_id: str, figures: PeriodFigures) -> dict[str, Any]:
    """``{"kind": "agent_period", ...}`` as specified in ``cli.md``."""
    return {
        "kind": "agent_period",
        "agent_id": agent_id,
        "period": month_label(figures.period),
        "new_recruits": figures.new_recruits,
        "contributions_amount": figures.contributions_amount,
        "contribution_months": figures.contribution_months,
        "commission_amount": figures.commission_amount,
        "bonus_amount": figures.bonus_amount,
        "payout_amount": figures.payout_amount,
    }


def alert_line(alert: LapseAlert) -> dict[str, Any]:
    """``{"kind": "alert", ...}`` as specified in ``cli.md``."""
    return {
        "kind": "alert",
        "alert_id": alert.alert_id,
        "alert_type": alert.alert_type.value,
        "member_id": alert.member_id,
        "as_of": alert.as_of.isoformat(),
    }


def replay_lines(state: ReplayState) -> list[dict[str, Any]]:
    """Output lines sorted by kind (``agent`` < ``agent_period`` < ``alert`` < ``member``),
    then key.

    Members whose enrolment is not in the input have no status and are left out, as the
    worker would still be holding their events.
    """
    lines: list[dict[str, Any]] = []
    for agent_id, book in sorted(state.books.items()):
        lines.append(agent_line(agent_id, book.current_figures()))
    for agent_id, book in sorted(state.books.items()):
        for period in book.periods():
            figures = book.period_figures(period)
            if not figures.is_zero():
                lines.append(agent_period_line(agent_id, figures))
    for _, alert in sorted(state.alerts.items()):
        lines.append(alert_line(alert))
    for member_id, ledger in sorted(state.ledgers.items()):
        if ledger.enrolled:
            # Evaluated afresh: the last emitted state may carry an older paid-through month.
            on = evaluation_date(ledger, state.as_of)
            lines.append(member_line(member_id, evaluate(ledger, on, state.lapse_months)))
    return lines


def replay(
    events: Iterable[Event],
    as_of: date | None = None,
    lapse_months: int = DEFAULT_LAPSE_MONTHS,
    *,
    max_tick_advance_days: int = DEFAULT_MAX_TICK_ADVANCE_DAYS,
    hold_days: int = DEFAULT_HOLD_DAYS,
) -> list[dict[str, Any]]:
    """The final state of every member and agent in ``events``, as ``jamsos replay`` prints.

    ``as_of`` defaults to the latest ``BusinessDayClosed`` in the input, else the latest
    event date; each member is evaluated on the later of it and its own latest event.
    """
    return replay_lines(
        replay_state(
            events,
            as_of,
            lapse_months,
            max_tick_advance_days=max_tick_advance_days,
            hold_days=hold_days,
        )
    )
