"""The offline replay: line shapes, sort order and the default ``as_of``."""

from __future__ import annotations

from jamsos.rules.events import Event
from jamsos.rules.member import stable_id
from jamsos.rules.replay import default_as_of, replay, replay_lines, replay_state

from .builders import closed, day, enrolled, paid, registered, reversed_


def test_replay_lines_and_order() -> None:
    payment = paid("2019-02-10", member="M2", collector="A2", amount=16_800)
    events: list[Event] = [
        closed("2019-01-31"),
        registered("A1"),
        enrolled("2019-01-10", member="M2"),
        enrolled("2019-01-10", member="M1", jht=False),
        paid("2019-01-12", member="M1", amount=16_800),  # 2,520 commission to A1
        payment,  # 2,520, then taken back
        reversed_(payment, "2019-02-20"),
        paid("2019-01-15", member="M9"),  # never enrolled: left out
        closed("2019-02-28"),
    ]
    assert replay(events) == [
        {
            "kind": "agent",
            "agent_id": "A1",
            "recruits_total": 2,
            "recruits_new": 1,
            "recruits_active": 0,
            "recruits_grace": 1,
            "recruits_lapsed": 0,
            "recruits_exited": 0,
            "last_activity_on": "2019-01-10",
        },
        {
            "kind": "agent",
            "agent_id": "A2",
            "recruits_total": 0,
            "recruits_new": 0,
            "recruits_active": 0,
            "recruits_grace": 0,
            "recruits_lapsed": 0,
            "recruits_exited": 0,
            "last_activity_on": None,
        },
        {
            "kind": "agent_period",
            "agent_id": "A1",
            "period": "2019-01",
            "new_recruits": 2,
            "contributions_amount": 0,
            "contribution_months": 0,
            "commission_amount": 2_520,
            "bonus_amount": 0,
            "payout_amount": 2_520,
        },
        # February: M2's payment earned 2,520 and its reversal took it back; nothing left
        {
            "kind": "alert",
            "alert_id": stable_id("alert", "M1", "ARREARS_STARTED", "2019-02"),
            "alert_type": "ARREARS_STARTED",
            "member_id": "M1",
            "as_of": "2019-02-16",  # closed day by day: February became overdue on the 16th
        },
        {
            "kind": "member",
            "member_id": "M1",
            "status": "GRACE",
            "paid_through": "2019-01",
            "arrears_months": 1,
        },
        {
            "kind": "member",
            "member_id": "M2",
            "status": "NEW",
            "paid_through": None,
            "arrears_months": 2,
        },
    ]


def test_default_as_of() -> None:
    assert default_as_of([closed("2019-01-31"), paid("2019-03-01"), closed("2019-01-30")]) == (
        day("2019-01-31")
    )
    assert default_as_of([enrolled("2019-01-10"), paid("2019-03-01")]) == day("2019-03-01")
    assert default_as_of([]) is None
    assert replay([]) == []


def test_member_is_evaluated_no_earlier_than_its_latest_event() -> None:
    events: list[Event] = [
        closed("2019-01-31"),
        enrolled("2019-01-10"),
        paid("2019-01-12"),
        paid("2019-03-01", months=3),
    ]
    [member] = [line for line in replay(events) if line["kind"] == "member"]
    assert member["paid_through"] == "2019-04"
    assert member["status"] == "ACTIVE"


def test_explicit_as_of_earlier_than_a_closed_day() -> None:
    events: list[Event] = [enrolled("2019-01-10"), paid("2019-01-12"), closed("2019-06-30")]
    [member] = [
        line for line in replay(events, as_of=day("2019-02-16")) if line["kind"] == "member"
    ]
    assert (member["status"], member["arrears_months"]) == ("GRACE", 1)


def test_replay_expires_held_events_on_the_ticks_the_worker_would() -> None:
    """A payment waits 30 business days for its enrolment: the tick of 2019-02-12 drops
    it, so the enrolment that comes after that finds nothing paid."""
    early = paid("2019-01-12", member="LATE")
    kept = paid("2019-01-12", member="SOON")
    events = [closed("2019-01-12"), early, kept, enrolled("2019-01-20", member="SOON")]
    events += [closed("2019-02-11"), closed("2019-02-12"), enrolled("2019-01-10", member="LATE")]
    state = replay_state(events)
    assert [(member, held.event_id) for member, held in state.expired] == [("LATE", early.event_id)]
    lines = {line["member_id"]: line for line in replay_lines(state) if line["kind"] == "member"}
    assert (lines["LATE"]["status"], lines["LATE"]["paid_through"]) == ("NEW", None)
    assert (lines["SOON"]["status"], lines["SOON"]["paid_through"]) == ("ACTIVE", "2019-01")
    assert replay_state(events, hold_days=31).expired == []
