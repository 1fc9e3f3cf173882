"""The holding period (events.md): held events expire `hold_days` business days after
they occurred, and leave the ledger as dead letters of a readable reason."""

from __future__ import annotations

from jamsos.rules.holding import (
    UNHELD_EVENT,
    UNKNOWN_PAYMENT,
    expire_held,
    held_events,
    next_expiry,
)
from jamsos.rules.member import apply_event, paid_through

from .builders import SECRET, day, enrolled, ledger_of, month, paid, reversed_, terminated


def test_events_of_a_member_never_enrolled_expire_on_the_31st_business_day() -> None:
    payment = paid("2019-01-12")
    reversal = reversed_("P-ELSEWHERE", "2019-01-20")
    exit_ = terminated("2019-03-01", "2019-01-25")
    ledger = ledger_of([payment, reversal, exit_])
    assert [h.event_id for h in held_events(ledger)] == [
        payment.event_id,
        reversal.event_id,
        exit_.event_id,
    ]
    assert next_expiry(ledger, 30) == day("2019-02-12")
    assert expire_held(ledger, day("2019-02-11"), 30) == []  # 30 days held: still held
    expired = expire_held(ledger, day("2019-02-12"), 30)
    assert [(h.event_id, h.error_type) for h in expired] == [(payment.event_id, UNHELD_EVENT)]
    assert "enrolment of member M1" in expired[0].reason(30)
    assert ledger.payments == []
    assert next_expiry(ledger, 30) == day("2019-02-20")
    assert len(expire_held(ledger, day("2019-03-31"), 30)) == 2
    assert held_events(ledger) == []
    assert ledger.termination is None
    assert not ledger.reversals
    assert next_expiry(ledger, 30) is None


def test_an_expired_event_no_longer_applies_when_the_enrolment_comes() -> None:
    early, late = paid("2019-01-12"), paid("2019-02-20")
    ledger = ledger_of([early, late])
    expire_held(ledger, day("2019-02-15"), 30)
    apply_event(ledger, enrolled("2019-01-10"), day("2019-02-25"), nik_secret=SECRET)
    assert [p.event_id for p in ledger.payments] == [late.event_id]
    assert paid_through(ledger) == month("2019-01")  # only the late month fills January


def test_an_expired_event_can_be_applied_again_once_republished() -> None:
    payment = paid("2019-01-12")
    ledger = ledger_of([payment])
    expire_held(ledger, day("2019-03-01"), 30)
    apply_event(ledger, enrolled("2019-01-10"), day("2019-03-01"), nik_secret=SECRET)
    outcome = apply_event(ledger, payment, day("2019-03-01"))
    assert outcome.rejection is None
    assert paid_through(ledger) == month("2019-01")


def test_a_reversal_of_a_payment_that_never_comes_expires_as_unknown_payment() -> None:
    ledger = ledger_of([enrolled("2019-01-10"), paid("2019-01-12")])
    apply_event(ledger, reversed_("P-NEVER", "2019-02-01"), day("2019-02-01"))
    assert next_expiry(ledger, 10) == day("2019-02-12")
    expired = expire_held(ledger, day("2019-02-12"), 10)
    assert [h.error_type for h in expired] == [UNKNOWN_PAYMENT]
    assert expired[0].reason(10) == (
        "held 10 business days after 2019-02-01 for payment P-NEVER, which has not arrived"
    )
    assert ledger.reversals == {}
    late = paid("2019-01-20", payment_id="P-NEVER")
    apply_event(ledger, late, day("2019-02-13"))
    assert paid_through(ledger) == month("2019-02")  # the reversal no longer applies


def test_a_reversal_whose_payment_arrived_is_never_held_or_expired() -> None:
    payment = paid("2019-01-12")
    ledger = ledger_of([enrolled("2019-01-10"), payment, reversed_(payment, "2019-01-13")])
    assert held_events(ledger) == []
    assert expire_held(ledger, day("2030-01-01"), 30) == []
    assert len(ledger.reversals) == 1
