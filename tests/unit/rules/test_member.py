"""Member ledger behaviour: emissions, alerts, ids, duplicates, reversals, holding, exit."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from jamsos.rules.events import MemberEvent
from jamsos.rules.member import (
    AlertType,
    LapseAlert,
    MemberLedger,
    Outcome,
    Reason,
    Rejection,
    Status,
    StatusChange,
    advance,
    apply_event,
    evaluate,
    next_change_date,
    paid_through,
)

from .builders import SECRET, day, enrolled, ledger_of, month, paid, reversed_, terminated


def apply(ledger: MemberLedger, event: MemberEvent, business: str | None = None) -> Outcome:
    return apply_event(ledger, event, day(business) if business else None, nik_secret=SECRET)


def tick_through(ledger: MemberLedger, start: str, end: str) -> list[Outcome]:
    """Advance day by day, as a worker would if it ticked every member every day."""
    outcomes = []
    current = day(start)
    while current <= day(end):
        outcome = advance(ledger, current)
        if outcome.changes or outcome.alerts:
            outcomes.append(outcome)
        current += timedelta(days=1)
    return outcomes


def changes_of(outcomes: list[Outcome]) -> list[StatusChange]:
    return [change for outcome in outcomes for change in outcome.changes]


def alerts_of(outcomes: list[Outcome]) -> list[LapseAlert]:
    return [alert for outcome in outcomes for alert in outcome.alerts]


# --------------------------------------------------------------------------- emission


def test_enrolment_emits_first_change_with_no_from_status() -> None:
    ledger = MemberLedger("M1")
    outcome = apply(ledger, enrolled("2019-01-10"), "2019-01-09")
    [change] = outcome.changes
    assert (change.from_status, change.to_status, change.reason) == (
        None,
        Status.NEW,
        Reason.ENROLLED,
    )
    assert change.as_of == date(2019, 1, 10)
    assert change.nik_token
    assert "3201234567890123" not in json.dumps(ledger.to_dict())
    assert change.record()["paid_through"] is None


def test_payment_ahead_emits_the_new_paid_through_month() -> None:
    # Status and arrears stay ACTIVE/0, but the members table must learn the new P.
    ledger = ledger_of([enrolled("2019-01-10"), paid("2019-01-12")])
    outcome = apply(ledger, paid("2019-01-13", months=3), "2019-01-13")
    assert outcome.applied
    [change] = outcome.changes
    assert (change.from_status, change.to_status) == (Status.ACTIVE, Status.ACTIVE)
    assert change.paid_through == month("2019-04")
    assert outcome.alerts == []
    assert paid_through(ledger) == month("2019-04")


def test_duplicate_payment_emits_nothing() -> None:
    payment = paid("2019-01-12")
    ledger = ledger_of([enrolled("2019-01-10"), payment])
    outcome = apply(ledger, payment, "2019-01-13")
    assert outcome.changes == []


def test_time_driven_changes_and_alerts_of_example_1() -> None:
    ledger = ledger_of([enrolled("2019-01-10"), paid("2019-01-12")])
    advance(ledger, day("2019-01-12"))
    outcomes = tick_through(ledger, "2019-01-13", "2019-06-30")
    summary = [
        (c.as_of.isoformat(), c.from_status, c.to_status, c.arrears_months, c.reason)
        for c in changes_of(outcomes)
    ]
    assert summary == [
        ("2019-02-16", Status.ACTIVE, Status.GRACE, 1, Reason.TIME),
        ("2019-03-16", Status.GRACE, Status.GRACE, 2, Reason.TIME),
        ("2019-04-16", Status.GRACE, Status.GRACE, 3, Reason.TIME),
        ("2019-05-16", Status.GRACE, Status.LAPSED, 4, Reason.TIME),
        ("2019-06-16", Status.LAPSED, Status.LAPSED, 5, Reason.TIME),
    ]
    alerts = [(a.as_of.isoformat(), a.alert_type, a.due_month) for a in alerts_of(outcomes)]
    assert alerts == [
        ("2019-02-16", AlertType.ARREARS_STARTED, month("2019-02")),
        ("2019-04-16", AlertType.FINAL_WARNING, month("2019-04")),
        ("2019-05-16", AlertType.LAPSED, month("2019-05")),
    ]


def test_never_paid_member_gets_final_warning_then_lapsed_but_no_arrears_started() -> None:
    ledger = ledger_of([enrolled("2019-01-10")])
    advance(ledger, day("2019-01-10"))
    outcomes = tick_through(ledger, "2019-01-11", "2019-04-30")
    alerts = [(a.as_of.isoformat(), a.alert_type) for a in alerts_of(outcomes)]
    assert alerts == [("2019-03-16", AlertType.FINAL_WARNING), ("2019-04-16", AlertType.LAPSED)]
    assert [c.to_status for c in changes_of(outcomes)] == [
        Status.NEW,
        Status.NEW,
        Status.NEW,
        Status.LAPSED,
    ]


def test_lapse_months_is_configurable() -> None:
    ledger = ledger_of([enrolled("2019-01-10"), paid("2019-01-12")])
    assert evaluate(ledger, day("2019-03-16"), lapse_months=1).status is Status.LAPSED
    assert evaluate(ledger, day("2019-02-16"), lapse_months=1).status is Status.GRACE
    with pytest.raises(ValueError, match="lapse_months"):
        evaluate(ledger, day("2019-02-16"), lapse_months=0)


# --------------------------------------------------------------------------- ids


def test_ids_are_deterministic() -> None:
    def run() -> tuple[list[str], list[str]]:
        ledger = ledger_of(
            [
                enrolled("2019-01-10", event_id="e1"),
                paid("2019-01-12", payment_id="p1", event_id="e2"),
            ]
        )
        outcomes = tick_through(ledger, "2019-01-12", "2019-06-30")
        return (
            [c.change_id for c in changes_of(outcomes)],
            [a.alert_id for a in alerts_of(outcomes)],
        )

    first, second = run(), run()
    assert first == second
    assert len(set(first[0])) == len(first[0])
    assert len(set(first[1])) == len(first[1])


def test_re_emitted_alert_keeps_its_id() -> None:
    """Grace, a payment that is then reversed, and grace again: the same due month."""
    ledger = ledger_of([enrolled("2019-01-10"), paid("2019-01-12")])
    grace = advance(ledger, day("2019-02-16"))
    first = grace.alerts
    late = paid("2019-02-18")
    assert apply(ledger, late, "2019-02-18").changes[0].to_status is Status.ACTIVE
    again = apply(ledger, reversed_(late, "2019-02-20"), "2019-02-20")
    assert again.changes[0].reason is Reason.REVERSAL
    assert [a.alert_type for a in first] == [AlertType.ARREARS_STARTED]
    assert [a.alert_id for a in again.alerts] == [a.alert_id for a in first]
    # Same transition, other day and reason: a different change, so a different id.
    assert again.changes[0].change_id != grace.changes[0].change_id


# --------------------------------------------------------------------------- duplicates


def test_repeated_event_id_is_applied_once() -> None:
    ledger = ledger_of([enrolled("2019-01-10")])
    payment = paid("2019-01-12", months=2)
    assert apply(ledger, payment).applied
    repeat = apply(ledger, payment)
    assert (repeat.applied, repeat.rejection, repeat.changes) == (
        False,
        Rejection.DUPLICATE_EVENT,
        [],
    )
    assert paid_through(ledger) == month("2019-02")


@pytest.mark.parametrize("earlier_first", [True, False])
def test_repeated_payment_id_keeps_the_earliest_in_business_time(earlier_first: bool) -> None:
    earlier = paid("2019-01-12", months=1, payment_id="p1", event_id="a")
    later = paid("2019-01-20", months=3, payment_id="p1", event_id="b")
    ledger = ledger_of([enrolled("2019-01-10")])
    outcomes = [apply(ledger, e) for e in ([earlier, later] if earlier_first else [later, earlier])]
    assert outcomes[1].rejection is (Rejection.DUPLICATE_PAYMENT if earlier_first else None)
    assert [p.event_id for p in ledger.payments] == ["a"]
    assert paid_through(ledger) == month("2019-01")


# --------------------------------------------------------------------------- reversals


def test_reversal_recomputes_from_remaining_payments() -> None:
    second = paid("2019-02-10")
    ledger = ledger_of([enrolled("2019-01-10"), paid("2019-01-12"), second, paid("2019-03-10")])
    assert paid_through(ledger) == month("2019-03")
    outcome = apply(ledger, reversed_(second, "2019-03-20"), "2019-03-20")
    assert paid_through(ledger) == month("2019-02")
    [change] = outcome.changes
    assert (change.to_status, change.arrears_months, change.reason) == (
        Status.GRACE,
        1,
        Reason.REVERSAL,
    )


def test_reversal_can_turn_arrears_filling_into_a_new_spell() -> None:
    """Without the first payment the member was lapsed when the second one came."""
    first = paid("2019-01-12")
    ledger = ledger_of([enrolled("2019-01-10"), first, paid("2019-05-10")])
    assert paid_through(ledger) == month("2019-02")  # fills February (GRACE on 05-10)
    apply(ledger, reversed_(first, "2019-05-20"))
    assert paid_through(ledger) == month("2019-05")  # never paid, lapsed on 05-10: new spell


def test_reversal_of_unknown_payment_is_held_until_the_payment_arrives() -> None:
    ledger = ledger_of([enrolled("2019-01-10"), paid("2019-01-12")])
    payment = paid("2019-02-10")
    held = apply(ledger, reversed_(payment, "2019-02-12"))
    assert (held.applied, held.held, held.rejection) == (True, True, Rejection.UNKNOWN_PAYMENT)
    assert [r.payment_id for r in ledger.held_reversals()] == [payment.payment_id]
    arrived = apply(ledger, payment)
    assert arrived.rejection is None
    assert paid_through(ledger) == month("2019-01")
    assert ledger.held_reversals() == []


# --------------------------------------------------------------------------- holding


def test_events_before_enrolment_are_held_then_released_in_business_time_order() -> None:
    ledger = MemberLedger("M1")
    early = [paid("2019-03-01", months=2), paid("2019-01-12")]
    for event in early:
        outcome = apply(ledger, event, "2019-03-05")
        assert (outcome.held, outcome.rejection, outcome.changes) == (
            True,
            Rejection.NOT_ENROLLED,
            [],
        )
    assert next_change_date(ledger, day("2019-03-05")) is None
    assert advance(ledger, day("2019-03-05")).changes == []
    outcome = apply(ledger, enrolled("2019-01-10"), "2019-03-05")
    [change] = outcome.changes
    assert (change.from_status, change.to_status, change.reason, change.paid_through) == (
        None,
        Status.ACTIVE,
        Reason.ENROLLED,
        month("2019-03"),
    )


def test_payment_before_the_enrolment_date_fills_from_the_start_month() -> None:
    ledger = ledger_of([paid("2019-01-05", months=2), enrolled("2019-01-10")])
    assert paid_through(ledger) == month("2019-02")


def test_earlier_enrolment_replaces_a_later_one() -> None:
    ledger = ledger_of([enrolled("2019-03-10", event_id="late")])
    outcome = apply(ledger, enrolled("2019-01-10", event_id="early"))
    assert outcome.rejection is None
    assert ledger.enrolment is not None
    assert ledger.enrolment.event_id == "early"
    again = apply(ledger, enrolled("2019-05-10", event_id="later"))
    assert again.rejection is Rejection.DUPLICATE_ENROLMENT


def test_enrolment_needs_a_secret_and_leaves_the_ledger_untouched_without() -> None:
    ledger = MemberLedger("M1")
    with pytest.raises(ValueError, match="nik_secret"):
        apply_event(ledger, enrolled("2019-01-10"), None)
    assert ledger == MemberLedger("M1")


def test_event_for_another_member_is_refused() -> None:
    with pytest.raises(ValueError, match="applied to"):
        apply(MemberLedger("M2"), paid("2019-01-12"))


# --------------------------------------------------------------------------- termination


def test_future_termination_takes_effect_on_its_date() -> None:
    ledger = ledger_of([enrolled("2019-01-10"), paid("2019-01-12", months=12)])
    advance(ledger, day("2019-01-12"))
    outcome = apply(ledger, terminated("2019-06-30", on="2019-03-01"), "2019-03-01")
    assert outcome.applied
    assert outcome.changes == []
    assert next_change_date(ledger, day("2019-03-01")) == day("2019-06-30")
    assert advance(ledger, day("2019-06-29")).changes == []
    [change] = advance(ledger, day("2019-06-30")).changes
    assert (change.to_status, change.reason, change.arrears_months, change.paid_through) == (
        Status.EXITED,
        Reason.TERMINATED,
        0,
        month("2019-12"),
    )
    assert next_change_date(ledger, day("2019-06-30")) is None


def test_payment_after_exit_is_recorded_but_changes_nothing() -> None:
    ledger = ledger_of([enrolled("2019-01-10"), paid("2019-01-12"), terminated("2019-03-31")])
    outcome = apply(ledger, paid("2019-04-02", months=6), "2019-04-02")
    assert outcome.applied
    assert outcome.changes == []
    assert len(ledger.payments) == 2
    assert evaluate(ledger, day("2019-04-02")).paid_through == month("2019-01")


def test_earliest_termination_wins() -> None:
    ledger = ledger_of([enrolled("2019-01-10"), terminated("2019-08-31")])
    assert apply(ledger, terminated("2019-06-30")).rejection is None
    assert apply(ledger, terminated("2019-09-30")).rejection is Rejection.DUPLICATE_TERMINATION
    assert ledger.termination is not None
    assert ledger.termination.effective_date == day("2019-06-30")


# --------------------------------------------------------------------------- next change


def test_lapsed_members_still_change_every_month() -> None:
    ledger = ledger_of([enrolled("2019-01-10"), paid("2019-01-12")])
    assert next_change_date(ledger, day("2019-05-16")) == day("2019-06-16")
    assert next_change_date(ledger, day("2019-01-12")) == day("2019-02-16")


def test_next_change_for_pu_uses_the_following_month_due_date() -> None:
    ledger = ledger_of([enrolled("2019-01-10", segment="PU"), paid("2019-02-10")])
    assert next_change_date(ledger, day("2019-02-16")) == day("2019-03-16")


# --------------------------------------------------------------------------- storage


def test_to_dict_is_json_and_round_trips() -> None:
    payment = paid("2019-02-10", collector="A2")
    ledger = ledger_of(
        [
            enrolled("2019-01-10"),
            paid("2019-01-12"),
            payment,
            reversed_(payment, "2019-02-20"),
            reversed_("unknown", "2019-02-21"),
            terminated("2019-06-30"),
        ]
    )
    advance(ledger, day("2019-07-01"))
    data = json.loads(json.dumps(ledger.to_dict()))
    assert MemberLedger.from_dict(data) == ledger
    assert MemberLedger.from_dict(MemberLedger("M9").to_dict()) == MemberLedger("M9")
