"""The offline computation behind ``jamsos replay``.

It deliberately runs the worker's own functions (:func:`apply_event`, :func:`advance`,
:func:`member_agent_shares`, :class:`AgentBook`) rather than a second implementation, so
that explaining a status offline cannot disagree with what the pipeline computed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from jamsos.rules.agent import AgentBook, AgentFigures, PeriodFigures, member_agent_shares
from jamsos.rules.clock import DEFAULT_MAX_TICK_ADVANCE_DAYS, tick_advance_refused
from jamsos.rules.events import (
    AgentRegistered,
    AgentStatusChanged,
    BusinessDayClosed,
    Event,
    MemberEvent,
)
from jamsos.rules.holding import DEFAULT_HOLD_DAYS, HeldEvent, expire_held, held_events
from jamsos.rules.member import (
    DEFAULT_LAPSE_MONTHS,
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
    holding: set[str] = field(default_factory=set)
    """Members whose ledger holds an event, so a tick looks at only those."""

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
    Ticks the business clock refuses (`jamsos.rules.clock`) are left out, as the worker
    dead-letters them; each tick that moves the business date expires the held events
    whose holding period has passed (`jamsos.rules.holding`), as the worker does when it
    closes those days."""
    items = list(events)
    target = as_of if as_of is not None else default_as_of(items, max_tick_advance_days)
    state = ReplayState(as_of=target, lapse_months=lapse_months)
    business_date: date | None = None
    clock: date | None = None
    for event in items:
        if isinstance(event, BusinessDayClosed):
            if tick_advance_refused(clock, event.business_date, max_tick_advance_days):
                continue
            clock = _later_of(clock, event.business_date)
            business_date = _later_of(business_date, event.business_date)
            if target is not None:
                business_date = min(business_date, target)
            _expire_held(state, business_date, hold_days)
        elif isinstance(event, AgentRegistered | AgentStatusChanged):
            state.book(event.agent_id).apply_event(event)
        else:
            _apply_member_event(state, event, business_date, lapse_months, nik_secret)
            if held_events(state.ledgers[event.member_id]):
                state.holding.add(event.member_id)
    for member_id, ledger in sorted(state.ledgers.items()):
        if target is not None and ledger.enrolled:
            advance(ledger, target, lapse_months)
        for agent_id in _agents_named(ledger):
            state.book(agent_id)
        for agent_id, share in member_agent_shares(ledger, target, lapse_months).items():
            state.book(agent_id).set_share(member_id, share)
    return state


def _expire_held(state: ReplayState, business_date: date, hold_days: int) -> None:
    for member_id in sorted(state.holding):
        ledger = state.ledgers[member_id]
        state.expired.extend((member_id, h) for h in expire_held(ledger, business_date, hold_days))
        if not held_events(ledger):
            state.holding.discard(member_id)


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


def _apply_member_event(
    state: ReplayState,
    event: MemberEvent,
    business_date: date | None,
    lapse_months: int,
    nik_secret: bytes,
) -> None:
    ledger = state.ledgers.get(event.member_id)
    if ledger is None:
        ledger = state.ledgers[event.member_id] = MemberLedger(event.member_id)
    apply_event(ledger, event, business_date, lapse_months, nik_secret=nik_secret)


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


def replay_lines(state: ReplayState) -> list[dict[str, Any]]:
    """Output lines sorted by kind (``agent`` < ``agent_period`` < ``member``), then key.

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
