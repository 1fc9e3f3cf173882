"""Properties: order independence, storage round trips, and the tick index."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jamsos.rules.agent import AgentBook, member_agent_shares
from jamsos.rules.events import BusinessDayClosed, Event, MemberEvent
from jamsos.rules.member import (
    MemberLedger,
    advance,
    apply_event,
    evaluate,
    evaluation_date,
    next_change_date,
)
from jamsos.rules.replay import replay, replay_state

from .builders import (
    SECRET,
    agent_status,
    closed,
    enrolled,
    paid,
    registered,
    reversed_,
    terminated,
)

BASE = date(2018, 12, 1)
SPAN_DAYS = 800
AGENTS = [None, "A1", "A2"]
HORIZON_DAYS = 120

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def moments(draw: st.DrawFn, max_day: int = SPAN_DAYS) -> str:
    """A time as ``YYYY-MM-DDTHH:MM``; coarse, so that ties in ``occurred_at`` happen."""
    offset = draw(st.integers(min_value=0, max_value=max_day))
    hour = draw(st.sampled_from([0, 8, 23]))
    return f"{(BASE + timedelta(days=offset)).isoformat()}T{hour:02d}:00"


@st.composite
def member_events(draw: st.DrawFn, member: str, ids: itertools.count[int]) -> list[Event]:
    """Events of one member: 0-2 enrolments, payments (some sharing a payment id),
    reversals (some of unknown payments) and maybe terminations."""

    def eid() -> str:
        return f"ev{next(ids):05d}"

    events: list[Event] = []
    segment = draw(st.sampled_from(["BPU", "PU", "JAKON", "PMI"]))
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        events.append(
            enrolled(
                draw(moments(max_day=400)),
                member,
                segment=segment,
                agent=draw(st.sampled_from(AGENTS)),
                jht=draw(st.booleans()),
                event_id=eid(),
            )
        )
    payment_ids = [f"{member}-p{i}" for i in range(draw(st.integers(min_value=0, max_value=6)))]
    for payment_id in payment_ids + draw(
        st.lists(st.sampled_from(payment_ids or ["x"]), max_size=1)
    ):
        events.append(
            paid(
                draw(moments()),
                draw(st.integers(min_value=1, max_value=12)),
                member,
                amount=draw(st.integers(min_value=1, max_value=500_000)),
                payment_id=payment_id,
                event_id=eid(),
                collector=draw(st.sampled_from(AGENTS)),
            )
        )
    for payment_id in draw(
        st.lists(st.sampled_from([*payment_ids, f"{member}-unknown"]), max_size=3)
    ):
        events.append(reversed_(payment_id, draw(moments()), member, event_id=eid()))
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        effective = draw(moments()).split("T")[0]
        events.append(terminated(effective, draw(moments()), member, event_id=eid()))
    return events


@st.composite
def event_sets(draw: st.DrawFn) -> list[Event]:
    """A set of events with unique ids for a few members and agents, plus closed days."""
    ids = itertools.count()
    events: list[Event] = []
    for index in range(draw(st.integers(min_value=1, max_value=3))):
        events.extend(draw(member_events(f"M{index}", ids)))
    for agent in ("A1", "A2"):
        if draw(st.booleans()):
            events.append(registered(agent, draw(moments()).split("T")[0]))
        if draw(st.booleans()):
            events.append(agent_status(agent, "DEACTIVATED", draw(moments()).split("T")[0]))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        events.append(closed(draw(moments()).split("T")[0]))
    unique = {event.event_id: event for event in events}
    return sorted(unique.values(), key=lambda event: event.sort_key)


HOLD_PAST_EVERY_TICK = 100 * 366
"""A holding period no generated event outlives: nothing held is ever dropped."""


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[Event], list[Event]]:
    """An event set in business-time order, and the same set shuffled with duplicates.

    Business days stay in the order they were closed (only their places among the other
    events move): which ticks the business clock accepts depends on that order by design
    (a tick may move the clock at most `max_tick_advance_days`)."""
    events = draw(event_sets())
    duplicates = draw(st.lists(st.sampled_from(events), max_size=5)) if events else []
    shuffled = list(draw(st.permutations(events + duplicates)))
    places = [i for i, event in enumerate(shuffled) if isinstance(event, BusinessDayClosed)]
    in_closing_order = sorted((shuffled[i] for i in places), key=lambda event: event.sort_key)
    for place, tick in zip(places, in_closing_order, strict=True):
        shuffled[place] = tick
    return events, shuffled


@PROPERTY_SETTINGS
@given(deliveries())
def test_replay_is_independent_of_arrival_order_and_duplicates(
    delivery: tuple[list[Event], list[Event]],
) -> None:
    """Final states, as `status.md` states it: for events that arrive within their holding
    period (the shuffles here move events across months of ticks, past any realistic
    `hold_days`). Alerts are judgements made when a tick applies, so they do depend on
    what had arrived by then."""
    in_order, shuffled = delivery
    assert final_states(shuffled) == final_states(in_order)


def final_states(events: list[Event]) -> list[dict[str, object]]:
    lines = replay(events, hold_days=HOLD_PAST_EVERY_TICK)
    return [line for line in lines if line["kind"] != "alert"]


@PROPERTY_SETTINGS
@given(deliveries())
def test_ledgers_and_books_round_trip_through_json(
    delivery: tuple[list[Event], list[Event]],
) -> None:
    state = replay_state(delivery[1])
    for ledger in state.ledgers.values():
        assert MemberLedger.from_dict(json.loads(json.dumps(ledger.to_dict()))) == ledger
    for book in state.books.values():
        restored = AgentBook.from_dict(json.loads(json.dumps(book.to_dict())))
        assert restored == book
        assert restored.current_figures() == book.current_figures()
        assert restored.periods() == book.periods()


@PROPERTY_SETTINGS
@given(deliveries(), st.integers(min_value=0, max_value=200), st.integers(min_value=1, max_value=4))
def test_next_change_date_agrees_with_day_by_day_evaluation(
    delivery: tuple[list[Event], list[Event]], extra_days: int, lapse_months: int
) -> None:
    state = replay_state(delivery[1], lapse_months=lapse_months)
    for ledger in state.ledgers.values():
        if not ledger.enrolled:
            assert next_change_date(ledger, BASE, lapse_months) is None
            continue
        after = evaluation_date(ledger, state.as_of) + timedelta(days=extra_days)
        start = evaluate(ledger, after, lapse_months)
        expected = None
        for offset in range(1, HORIZON_DAYS + 1):
            candidate = after + timedelta(days=offset)
            current = evaluate(ledger, candidate, lapse_months)
            if (current.status, current.arrears_months) != (start.status, start.arrears_months):
                expected = candidate
                break
        actual = next_change_date(ledger, after, lapse_months)
        if expected is None:
            # Paid far ahead (or exited): no change within the horizon.
            assert actual is None or actual > after + timedelta(days=HORIZON_DAYS)
        else:
            assert actual == expected
        if actual is not None:
            before = evaluate(ledger, actual - timedelta(days=1), lapse_months)
            on = evaluate(ledger, actual, lapse_months)
            assert (before.status, before.arrears_months) == (start.status, start.arrears_months)
            assert (on.status, on.arrears_months) != (start.status, start.arrears_months)


def _deliver(
    ledgers: dict[str, MemberLedger],
    event: MemberEvent,
    business: date | None,
    due: dict[str, date | None],
) -> None:
    ledger = ledgers.setdefault(event.member_id, MemberLedger(event.member_id))
    apply_event(ledger, event, business, nik_secret=SECRET)
    if ledger.enrolled:
        due[event.member_id] = next_change_date(ledger, evaluation_date(ledger, business))


@PROPERTY_SETTINGS
@given(deliveries(), st.lists(st.integers(min_value=0, max_value=SPAN_DAYS + 60), max_size=6))
def test_ticking_only_due_members_keeps_every_member_current(
    delivery: tuple[list[Event], list[Event]], tick_days: list[int]
) -> None:
    """A worker that advances only the members whose next change has come emits exactly
    what re-evaluating every member would, and ends in the evaluated final state."""
    ticks = [closed((BASE + timedelta(days=d)).isoformat()) for d in sorted(tick_days)]
    stream: list[Event] = [e for e in delivery[1] if not isinstance(e, BusinessDayClosed)]
    stream.extend(ticks)
    ledgers: dict[str, MemberLedger] = {}
    due: dict[str, date | None] = {}
    business: date | None = None
    for event in stream:
        if isinstance(event, BusinessDayClosed):
            business = max(business or event.business_date, event.business_date)
            for member_id, ledger in ledgers.items():
                outcome = advance(ledger, business)
                when = due.get(member_id)
                assert bool(outcome.changes) == (when is not None and when <= business)
                if ledger.enrolled:
                    due[member_id] = next_change_date(ledger, evaluation_date(ledger, business))
        elif hasattr(event, "member_id"):
            _deliver(ledgers, event, business, due)  # type: ignore[arg-type]
    for ledger in ledgers.values():
        if ledger.enrolled:
            state = evaluate(ledger, evaluation_date(ledger, business))
            assert ledger.emitted is not None
            assert (ledger.emitted.status, ledger.emitted.arrears_months) == (
                state.status,
                state.arrears_months,
            )


@PROPERTY_SETTINGS
@given(deliveries())
def test_agent_shares_do_not_depend_on_arrival_order(
    delivery: tuple[list[Event], list[Event]],
) -> None:
    in_order, shuffled = (
        replay_state(events, hold_days=HOLD_PAST_EVERY_TICK) for events in delivery
    )
    for member_id, ledger in in_order.ledgers.items():
        other = shuffled.ledgers[member_id]
        assert member_agent_shares(ledger, in_order.as_of) == member_agent_shares(
            other, shuffled.as_of
        )
