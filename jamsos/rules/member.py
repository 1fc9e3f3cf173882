"""The per-member ledger and the member status rules (``status.md``).

The ledger stores *facts* (enrolment, payments, reversals, termination), never derived
figures: the paid-through month is recomputed by replaying the non-reversed payments in
business-time order. That is what makes the result a pure function of the set of events,
whatever order they arrive in, and what makes a reversal or a late payment re-number
everything after it without special cases. Per member there are a few dozen payments at
most, so the replay is cheap.

Where two different events claim the same fact (two enrolments of one member, two payments
with one ``payment_id``, two reversals of one payment, two terminations), the one first in
business time wins, so the choice does not depend on arrival order either.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from jamsos.rules.events import (
    ContributionPaid,
    ContributionReversed,
    MemberEnrolled,
    MemberEvent,
    MembershipTerminated,
    nik_token,
)
from jamsos.rules.periods import (
    Month,
    first_day,
    month_label,
    month_of,
    next_overdue_date,
    overdue_count,
)

DEFAULT_LAPSE_MONTHS = 3
LEDGER_FORMAT = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ID_HEX_CHARS = 32


class Status(StrEnum):
    """Member statuses; ``ACTIVE`` + ``GRACE`` are the agency's "active members"."""

    NEW = "NEW"
    ACTIVE = "ACTIVE"
    GRACE = "GRACE"
    LAPSED = "LAPSED"
    EXITED = "EXITED"


class Reason(StrEnum):
    """Why a ``MemberStatusChanged`` was emitted."""

    ENROLLED = "ENROLLED"
    PAYMENT = "PAYMENT"
    REVERSAL = "REVERSAL"
    TIME = "TIME"
    TERMINATED = "TERMINATED"


class AlertType(StrEnum):
    """Kinds of ``LapseAlert``."""

    ARREARS_STARTED = "ARREARS_STARTED"
    FINAL_WARNING = "FINAL_WARNING"
    LAPSED = "LAPSED"


class Rejection(StrEnum):
    """Why an event had no, or not yet its full, effect (see :class:`Outcome`)."""

    DUPLICATE_EVENT = "DUPLICATE_EVENT"
    DUPLICATE_ENROLMENT = "DUPLICATE_ENROLMENT"
    DUPLICATE_PAYMENT = "DUPLICATE_PAYMENT"
    DUPLICATE_REVERSAL = "DUPLICATE_REVERSAL"
    DUPLICATE_TERMINATION = "DUPLICATE_TERMINATION"
    NOT_ENROLLED = "NOT_ENROLLED"
    UNKNOWN_PAYMENT = "UNKNOWN_PAYMENT"


# --------------------------------------------------------------------------- ledger facts


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What the rules and the outputs need from ``MemberEnrolled``; no personal data."""

    event_id: str
    occurred_at: datetime
    segment: str
    branch_code: str
    region_code: str
    agent_id: str | None
    programmes: tuple[str, ...]
    nik_token: str

    @property
    def sort_key(self) -> tuple[datetime, str]:
        """Business-time order of the enrolment event."""
        return (self.occurred_at, self.event_id)

    @property
    def start_month(self) -> Month:
        """``S``: the coverage start month is the month of the enrolment."""
        return month_of(self.occurred_at.date())

    @property
    def enrolled_on(self) -> date:
        """The date of enrolment (the recruitment date for the recruiting agent)."""
        return self.occurred_at.date()


@dataclass(frozen=True, slots=True)
class Payment:
    """One accepted ``ContributionPaid``."""

    payment_id: str
    event_id: str
    occurred_at: datetime
    months: int
    amount: int
    collecting_agent_id: str | None

    @property
    def sort_key(self) -> tuple[datetime, str]:
        """Payments apply in ``occurred_at`` order, ties broken by ``event_id``."""
        return (self.occurred_at, self.event_id)

    @property
    def paid_on(self) -> date:
        """The business date of the payment."""
        return self.occurred_at.date()


@dataclass(frozen=True, slots=True)
class Reversal:
    """One accepted ``ContributionReversed``, kept even before its payment is seen."""

    payment_id: str
    event_id: str
    occurred_at: datetime
    reason: str

    @property
    def sort_key(self) -> tuple[datetime, str]:
        """Business-time order of the reversal event."""
        return (self.occurred_at, self.event_id)


@dataclass(frozen=True, slots=True)
class Termination:
    """One accepted ``MembershipTerminated``."""

    event_id: str
    occurred_at: datetime
    effective_date: date
    reason: str

    @property
    def sort_key(self) -> tuple[date, datetime, str]:
        """The earliest effective date wins: exit is terminal."""
        return (self.effective_date, self.occurred_at, self.event_id)


@dataclass(frozen=True, slots=True)
class MemberState:
    """The evaluated status of a member on a date."""

    status: Status
    paid_through: Month | None
    arrears_months: int


@dataclass
class MemberLedger:
    """Everything the rules need to know about one member, keyed by ``member_id``.

    Events that arrive before the enrolment are recorded in the same fact lists; they are
    "held" simply because nothing is evaluated or emitted until ``enrolment`` is set, and
    the enrolment then releases them in business-time order because the paid-through month
    is always recomputed in that order.

    ``latest_event_on`` is the date of the latest event ever received for the member
    (duplicates included), so the evaluation date never goes back and does not depend on
    which of two competing events won. ``emitted`` is the last state sent downstream, used
    to detect changes. Facts are changed only through :func:`apply_event` and
    :func:`jamsos.rules.holding.expire_held`, which keep the cached paid-through month in
    step.
    """

    member_id: str
    enrolment: Enrolment | None = None
    payments: list[Payment] = field(default_factory=list)
    reversals: dict[str, Reversal] = field(default_factory=dict)
    termination: Termination | None = None
    latest_event_on: date | None = None
    emitted: MemberState | None = None
    changes_emitted: int = 0
    """How many changes were emitted so far: numbers them, so two changes with the same
    content (a payment, its reversal, the same payment again on one day) keep apart ids."""
    _paid_through: dict[int, Month | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def facts_changed(self) -> None:
        """Forget values derived from the facts; called whenever a fact is recorded.

        A tick or an event evaluates status, shares and the next change date, each of which
        needs ``P``; caching it per ``lapse_months`` avoids replaying the payments thrice.
        """
        self._paid_through.clear()

    def derived_paid_through(
        self, lapse_months: int, compute: Callable[[], Month | None]
    ) -> Month | None:
        """``P`` for `lapse_months`: `compute()` once, then the cached value until a fact
        changes (`facts_changed`)."""
        if lapse_months not in self._paid_through:
            self._paid_through[lapse_months] = compute()
        return self._paid_through[lapse_months]

    @property
    def enrolled(self) -> bool:
        """Whether the ``MemberEnrolled`` has arrived (before it, events are held)."""
        return self.enrolment is not None

    def seen_event_ids(self) -> set[str]:
        """Ids of the events whose facts the ledger holds.

        Derived rather than stored: every accepted event is held as a fact, and a rejected
        duplicate is rejected again on redelivery, so the result is the same and the stored
        ledger stays small.
        """
        ids = {payment.event_id for payment in self.payments}
        ids.update(reversal.event_id for reversal in self.reversals.values())
        if self.enrolment is not None:
            ids.add(self.enrolment.event_id)
        if self.termination is not None:
            ids.add(self.termination.event_id)
        return ids

    def payment(self, payment_id: str) -> Payment | None:
        """The recorded payment ``payment_id``, if any."""
        for candidate in self.payments:
            if candidate.payment_id == payment_id:
                return candidate
        return None

    def held_reversals(self) -> list[Reversal]:
        """Reversals whose payment has not been seen (held: `jamsos.rules.holding`)."""
        known = {payment.payment_id for payment in self.payments}
        return [r for pid, r in sorted(self.reversals.items()) if pid not in known]

    def to_dict(self) -> dict[str, Any]:
        """Compact JSON-serialisable form for the state store (see :func:`ledger_from_dict`)."""
        data: dict[str, Any] = {"v": LEDGER_FORMAT, "m": self.member_id}
        if self.enrolment is not None:
            data["e"] = _enrolment_to_list(self.enrolment)
        if self.payments:
            data["p"] = [_payment_to_list(p) for p in self.payments]
        if self.reversals:
            data["r"] = [_reversal_to_list(r) for _, r in sorted(self.reversals.items())]
        if self.termination is not None:
            data["t"] = _termination_to_list(self.termination)
        if self.latest_event_on is not None:
            data["l"] = self.latest_event_on.toordinal()
        if self.emitted is not None:
            data["s"] = _state_to_list(self.emitted)
        if self.changes_emitted:
            data["n"] = self.changes_emitted
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemberLedger:
        """Rebuild a ledger stored with :meth:`to_dict`."""
        if data.get("v") != LEDGER_FORMAT:
            raise ValueError(f"unsupported ledger format: {data.get('v')!r}")
        enrolment = data.get("e")
        termination = data.get("t")
        latest = data.get("l")
        emitted = data.get("s")
        return cls(
            member_id=data["m"],
            enrolment=_enrolment_from_list(enrolment) if enrolment else None,
            payments=[_payment_from_list(item) for item in data.get("p", [])],
            reversals={item[0]: _reversal_from_list(item) for item in data.get("r", [])},
            termination=_termination_from_list(termination) if termination else None,
            latest_event_on=date.fromordinal(latest) if latest is not None else None,
            emitted=_state_from_list(emitted) if emitted else None,
            changes_emitted=data.get("n", 0),
        )


def ledger_from_dict(data: dict[str, Any]) -> MemberLedger:
    """Rebuild a ledger stored with :meth:`MemberLedger.to_dict`."""
    return MemberLedger.from_dict(data)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _enrolment_to_list(e: Enrolment) -> list[Any]:
    return [
        e.event_id,
        _micros(e.occurred_at),
        e.segment,
        e.branch_code,
        e.region_code,
        e.agent_id,
        list(e.programmes),
        e.nik_token,
    ]


def _enrolment_from_list(item: list[Any]) -> Enrolment:
    event_id, micros, segment, branch, region, agent, programmes, token = item
    return Enrolment(
        event_id, _from_micros(micros), segment, branch, region, agent, tuple(programmes), token
    )


def _payment_to_list(p: Payment) -> list[Any]:
    return [
        p.payment_id,
        p.event_id,
        _micros(p.occurred_at),
        p.months,
        p.amount,
        p.collecting_agent_id,
    ]


def _payment_from_list(item: list[Any]) -> Payment:
    payment_id, event_id, micros, months, amount, collector = item
    return Payment(payment_id, event_id, _from_micros(micros), months, amount, collector)


def _reversal_to_list(r: Reversal) -> list[Any]:
    return [r.payment_id, r.event_id, _micros(r.occurred_at), r.reason]


def _reversal_from_list(item: list[Any]) -> Reversal:
    payment_id, event_id, micros, reason = item
    return Reversal(payment_id, event_id, _from_micros(micros), reason)


def _termination_to_list(t: Termination) -> list[Any]:
    return [t.event_id, _micros(t.occurred_at), t.effective_date.toordinal(), t.reason]


def _termination_from_list(item: list[Any]) -> Termination:
    event_id, micros, effective, reason = item
    return Termination(event_id, _from_micros(micros), date.fromordinal(effective), reason)


def _state_to_list(s: MemberState) -> list[Any]:
    return [s.status.value, s.paid_through, s.arrears_months]


def _state_from_list(item: list[Any]) -> MemberState:
    status, paid_through, arrears = item
    return MemberState(Status(status), paid_through, arrears)


# --------------------------------------------------------------------------- status rules


def _check_lapse_months(lapse_months: int) -> None:
    """``GRACE`` and the final warning need room for at least one missed month."""
    if lapse_months < 1:
        raise ValueError(f"lapse_months must be at least 1, got {lapse_months}")


def _require_enrolment(ledger: MemberLedger) -> Enrolment:
    if ledger.enrolment is None:
        raise ValueError(f"member {ledger.member_id!r} is not enrolled")
    return ledger.enrolment


def _exited_on(termination: Termination | None, on: date) -> bool:
    return termination is not None and termination.effective_date <= on


def _first_unpaid(paid_through: Month | None, start: Month) -> Month:
    """The first month counted by ``overdue``: ``P + 1``, or ``S`` when nothing is paid."""
    return start if paid_through is None else paid_through + 1


def _state_on(
    paid_through: Month | None,
    enrolment: Enrolment,
    termination: Termination | None,
    on: date,
    lapse_months: int,
) -> MemberState:
    """Status rules 1-3 of ``status.md`` for a known paid-through month."""
    if _exited_on(termination, on):
        return MemberState(Status.EXITED, paid_through, 0)
    first = _first_unpaid(paid_through, enrolment.start_month)
    arrears = overdue_count(first, on, enrolment.segment)
    if arrears > lapse_months:
        status = Status.LAPSED
    elif paid_through is None:
        status = Status.NEW
    else:
        status = Status.ACTIVE if arrears == 0 else Status.GRACE
    return MemberState(status, paid_through, arrears)


def _apply_payment(
    paid_through: Month | None,
    payment: Payment,
    enrolment: Enrolment,
    termination: Termination | None,
    lapse_months: int,
) -> Month | None:
    """One step of "Applying contributions": the new ``P`` after ``payment``.

    Whether the member is ``LAPSED`` (or ``EXITED``) is judged on the payment's date from
    the payments before it, which is exactly the ``paid_through`` passed in.
    """
    on = payment.paid_on
    state = _state_on(paid_through, enrolment, termination, on, lapse_months)
    if state.status is Status.EXITED:
        return paid_through
    if state.status is Status.LAPSED:
        return month_of(on) + payment.months - 1
    base = enrolment.start_month - 1 if paid_through is None else paid_through
    return base + payment.months


def effective_payments(ledger: MemberLedger) -> list[Payment]:
    """The payments that count, in business-time order: those not reversed."""
    return [p for p in ledger.payments if p.payment_id not in ledger.reversals]


def paid_through(ledger: MemberLedger, lapse_months: int = DEFAULT_LAPSE_MONTHS) -> Month | None:
    """``P``: replay the non-reversed payments in business-time order."""
    enrolment = _require_enrolment(ledger)

    def replayed() -> Month | None:
        result: Month | None = None
        for payment in effective_payments(ledger):
            result = _apply_payment(result, payment, enrolment, ledger.termination, lapse_months)
        return result

    return ledger.derived_paid_through(lapse_months, replayed)


def evaluate(
    ledger: MemberLedger, on: date, lapse_months: int = DEFAULT_LAPSE_MONTHS
) -> MemberState:
    """Status, ``P`` and arrears of an enrolled member on ``on``, from all recorded facts.

    ``on`` is meant to be :func:`evaluation_date`, which is never before the member's
    latest event, so every recorded payment has happened by then.
    """
    _check_lapse_months(lapse_months)
    enrolment = _require_enrolment(ledger)
    current = paid_through(ledger, lapse_months)
    return _state_on(current, enrolment, ledger.termination, on, lapse_months)


def evaluation_date(ledger: MemberLedger, business_date: date | None) -> date:
    """``max(business date, date of the member's latest event)``.

    Both parts only move forward, so a member's evaluation date never goes back.
    """
    candidates = [d for d in (business_date, ledger.latest_event_on) if d is not None]
    if not candidates:
        raise ValueError(f"no business date and no event for member {ledger.member_id!r}")
    return max(candidates)


def next_change_date(
    ledger: MemberLedger, after: date, lapse_months: int = DEFAULT_LAPSE_MONTHS
) -> date | None:
    """First date after ``after`` on which status or arrears change with no new event.

    That is the earlier of the termination's effective date and the date the next month
    becomes overdue. ``arrears_months`` keeps growing every month for ``NEW``, ``GRACE``
    *and* ``LAPSED`` members, and every change of it is a ``MemberStatusChanged``, so
    only an ``EXITED`` (or not yet enrolled) member has no next change: lapsed members are
    re-evaluated, and emit, once a month for as long as they stay lapsed. This is what the
    worker's tick index is keyed on.
    """
    _check_lapse_months(lapse_months)
    if ledger.enrolment is None or _exited_on(ledger.termination, after):
        return None
    first = _first_unpaid(paid_through(ledger, lapse_months), ledger.enrolment.start_month)
    candidate = next_overdue_date(first, after, ledger.enrolment.segment)
    if ledger.termination is not None:
        candidate = min(candidate, ledger.termination.effective_date)
    return candidate


# --------------------------------------------------------------------------- outputs


def stable_id(*parts: object) -> str:
    """A deterministic id from ``parts``: re-emitting the same record gives the same id."""
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_ID_HEX_CHARS]


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One ``MemberStatusChanged``; ``paid_through`` is a month index (see ``record``).

    ``enrolled_on`` is not in the topic's contract yet; it is carried because the
    ``members`` table needs it and this is where it is known.
    """

    member_id: str
    from_status: Status | None
    to_status: Status
    as_of: date
    reason: Reason
    paid_through: Month | None
    arrears_months: int
    segment: str
    branch_code: str
    region_code: str
    agent_id: str | None
    nik_token: str
    enrolled_on: date
    change_id: str
    sequence: int

    def record(self) -> dict[str, Any]:
        """Field values as the output record carries them (``paid_through`` as a date)."""
        return {
            "member_id": self.member_id,
            "from_status": None if self.from_status is None else self.from_status.value,
            "to_status": self.to_status.value,
            "as_of": self.as_of,
            "reason": self.reason.value,
            "paid_through": _month_date(self.paid_through),
            "arrears_months": self.arrears_months,
            "segment": self.segment,
            "branch_code": self.branch_code,
            "region_code": self.region_code,
            "agent_id": self.agent_id,
            "nik_token": self.nik_token,
            "enrolled_on": self.enrolled_on,
            "change_id": self.change_id,
            "sequence": self.sequence,
        }


@dataclass(frozen=True, slots=True)
class LapseAlert:
    """One ``LapseAlert``; ``due_month`` is the month whose going overdue triggered it."""

    alert_id: str
    alert_type: AlertType
    member_id: str
    agent_id: str | None
    branch_code: str
    region_code: str
    as_of: date
    paid_through: Month | None
    arrears_months: int
    due_month: Month

    def record(self) -> dict[str, Any]:
        """Field values as the output record carries them (``paid_through`` as a date)."""
        return {
            "alert_id": self.alert_id,
            "alert_type": self.alert_type.value,
            "member_id": self.member_id,
            "agent_id": self.agent_id,
            "branch_code": self.branch_code,
            "region_code": self.region_code,
            "as_of": self.as_of,
            "paid_through": _month_date(self.paid_through),
            "arrears_months": self.arrears_months,
        }


def _month_date(month: Month | None) -> date | None:
    return None if month is None else first_day(month)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What applying one event (or one tick) produced.

    ``applied`` says the ledger changed and must be saved. ``rejection`` says why the
    event had no effect (a duplicate) or no effect yet (``held``: the member is not
    enrolled, or the reversed payment is unknown); how long it stays held is decided by
    `jamsos.rules.holding`.
    """

    changes: list[StatusChange] = field(default_factory=list)
    alerts: list[LapseAlert] = field(default_factory=list)
    applied: bool = False
    rejection: Rejection | None = None
    held: bool = False


def _make_change(
    ledger: MemberLedger,
    before: MemberState | None,
    after: MemberState,
    on: date,
    reason: Reason,
) -> StatusChange:
    enrolment = _require_enrolment(ledger)
    from_status = None if before is None else before.status
    if after.status is Status.EXITED:
        reason = Reason.TERMINATED
    sequence = ledger.changes_emitted + 1
    change_id = stable_id(
        "status",
        ledger.member_id,
        sequence,
        from_status,
        after.status,
        on.isoformat(),
        None if after.paid_through is None else month_label(after.paid_through),
        after.arrears_months,
        reason,
    )
    return StatusChange(
        member_id=ledger.member_id,
        from_status=from_status,
        to_status=after.status,
        as_of=on,
        reason=reason,
        paid_through=after.paid_through,
        arrears_months=after.arrears_months,
        segment=enrolment.segment,
        branch_code=enrolment.branch_code,
        region_code=enrolment.region_code,
        agent_id=enrolment.agent_id,
        nik_token=enrolment.nik_token,
        enrolled_on=enrolment.enrolled_on,
        change_id=change_id,
        sequence=sequence,
    )


def _alert_triggers(
    before: MemberState | None, after: MemberState, lapse_months: int
) -> list[tuple[AlertType, int]]:
    """Alerts due on a change, each with the 1-based overdue month that triggered it.

    The trigger offset ``n`` means "the n-th unpaid month became overdue", so the due month
    is ``first_unpaid + n - 1`` and a re-emission of the same alert has the same id.
    """
    was = None if before is None else before.status
    was_arrears = None if before is None else before.arrears_months
    triggers: list[tuple[AlertType, int]] = []
    if after.status is Status.GRACE and after.arrears_months == 1 and was is not Status.GRACE:
        triggers.append((AlertType.ARREARS_STARTED, 1))
    warns = after.status in (Status.NEW, Status.GRACE)
    if warns and after.arrears_months == lapse_months and was_arrears != lapse_months:
        triggers.append((AlertType.FINAL_WARNING, lapse_months))
    if after.status is Status.LAPSED and was is not Status.LAPSED:
        triggers.append((AlertType.LAPSED, lapse_months + 1))
    return triggers


def _make_alerts(
    ledger: MemberLedger,
    before: MemberState | None,
    after: MemberState,
    on: date,
    lapse_months: int,
) -> list[LapseAlert]:
    enrolment = _require_enrolment(ledger)
    first = _first_unpaid(after.paid_through, enrolment.start_month)
    alerts = []
    for alert_type, nth in _alert_triggers(before, after, lapse_months):
        due = first + nth - 1
        alerts.append(
            LapseAlert(
                alert_id=stable_id("alert", ledger.member_id, alert_type, month_label(due)),
                alert_type=alert_type,
                member_id=ledger.member_id,
                agent_id=enrolment.agent_id,
                branch_code=enrolment.branch_code,
                region_code=enrolment.region_code,
                as_of=on,
                paid_through=after.paid_through,
                arrears_months=after.arrears_months,
                due_month=due,
            )
        )
    return alerts


def _emit(
    ledger: MemberLedger, business_date: date | None, lapse_months: int, reason: Reason
) -> tuple[list[StatusChange], list[LapseAlert]]:
    """Evaluate, compare with the last emitted state, and emit on a change.

    A change of status or ``arrears_months`` is a change (``status.md`` "Outputs"), and so
    is a move of the paid-through month: the ``members`` table shows ``paid_through``, and
    a payment ahead by an ``ACTIVE`` member would otherwise never reach it.
    """
    on = evaluation_date(ledger, business_date)
    after = evaluate(ledger, on, lapse_months)
    before = ledger.emitted
    if before == after:
        return [], []
    change = _make_change(ledger, before, after, on, reason)
    alerts = _make_alerts(ledger, before, after, on, lapse_months)
    ledger.emitted = after
    ledger.changes_emitted = change.sequence
    return [change], alerts


# --------------------------------------------------------------------------- applying events


def _record_enrolment(
    ledger: MemberLedger, event: MemberEnrolled, nik_secret: bytes | None
) -> Rejection | None:
    current = ledger.enrolment
    if current is not None and current.sort_key <= event.sort_key:
        return Rejection.DUPLICATE_ENROLMENT
    if nik_secret is None:  # checked by apply_event before anything changes
        raise ValueError("a nik_secret is needed to apply a MemberEnrolled")
    ledger.enrolment = Enrolment(
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        segment=event.segment,
        branch_code=event.branch_code,
        region_code=event.region_code,
        agent_id=event.agent_id,
        programmes=tuple(event.programmes),
        nik_token=nik_token(event.nik, nik_secret),
    )
    return None


def _record_payment(ledger: MemberLedger, event: ContributionPaid) -> Rejection | None:
    current = ledger.payment(event.payment_id)
    if current is not None:
        if current.sort_key <= event.sort_key:
            return Rejection.DUPLICATE_PAYMENT
        ledger.payments.remove(current)
    payment = Payment(
        payment_id=event.payment_id,
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        months=event.months,
        amount=event.amount,
        collecting_agent_id=event.collecting_agent_id,
    )
    bisect.insort(ledger.payments, payment, key=lambda p: p.sort_key)
    return None


def _record_reversal(ledger: MemberLedger, event: ContributionReversed) -> Rejection | None:
    current = ledger.reversals.get(event.payment_id)
    if current is not None and current.sort_key <= event.sort_key:
        return Rejection.DUPLICATE_REVERSAL
    ledger.reversals[event.payment_id] = Reversal(
        event.payment_id, event.event_id, event.occurred_at, event.reason
    )
    return None


def _record_termination(ledger: MemberLedger, event: MembershipTerminated) -> Rejection | None:
    candidate = Termination(event.event_id, event.occurred_at, event.effective_date, event.reason)
    current = ledger.termination
    if current is not None and current.sort_key <= candidate.sort_key:
        return Rejection.DUPLICATE_TERMINATION
    ledger.termination = candidate
    return None


def _record(
    ledger: MemberLedger, event: MemberEvent, nik_secret: bytes | None
) -> tuple[Rejection | None, Reason]:
    """Store the event's fact; return a rejection (if refused) and the change reason."""
    ledger.facts_changed()
    if isinstance(event, MemberEnrolled):
        return _record_enrolment(ledger, event, nik_secret), Reason.ENROLLED
    if isinstance(event, ContributionPaid):
        return _record_payment(ledger, event), Reason.PAYMENT
    if isinstance(event, ContributionReversed):
        return _record_reversal(ledger, event), Reason.REVERSAL
    if isinstance(event, MembershipTerminated):
        # A termination dated in the future only moves the evaluation date now.
        return _record_termination(ledger, event), Reason.TIME
    raise TypeError(f"not a member event: {type(event).__name__}")


def _note_event_date(ledger: MemberLedger, event: MemberEvent) -> bool:
    on = event.occurred_on
    if ledger.latest_event_on is None or on > ledger.latest_event_on:
        ledger.latest_event_on = on
        return True
    return False


def apply_event(
    ledger: MemberLedger,
    event: MemberEvent,
    business_date: date | None,
    lapse_months: int = DEFAULT_LAPSE_MONTHS,
    *,
    nik_secret: bytes | None = None,
) -> Outcome:
    """Apply one member event and return what to emit.

    ``business_date`` is the latest closed business day (``None`` before the first one);
    ``nik_secret`` keys the NIK token and is required for a ``MemberEnrolled``. An event
    whose ``event_id`` the ledger already holds is ignored, so redelivery is harmless.
    """
    _check_lapse_months(lapse_months)
    if event.member_id != ledger.member_id:
        raise ValueError(f"event for {event.member_id!r} applied to {ledger.member_id!r}")
    if isinstance(event, MemberEnrolled) and nik_secret is None:
        raise ValueError("a nik_secret is needed to apply a MemberEnrolled")
    if event.event_id in ledger.seen_event_ids():
        return Outcome(rejection=Rejection.DUPLICATE_EVENT)
    moved = _note_event_date(ledger, event)
    rejection, reason = _record(ledger, event, nik_secret)
    applied = moved or rejection is None
    if ledger.enrolment is None:
        held = rejection is None
        return Outcome(applied=applied, rejection=rejection or Rejection.NOT_ENROLLED, held=held)
    # A refused duplicate may still carry a later date, which moves the evaluation date.
    changes, alerts = _emit(
        ledger, business_date, lapse_months, Reason.TIME if rejection else reason
    )
    held = False
    if rejection is None and isinstance(event, ContributionReversed):
        held = ledger.payment(event.payment_id) is None
        rejection = Rejection.UNKNOWN_PAYMENT if held else None
    return Outcome(changes, alerts, applied or bool(changes), rejection, held)


def advance(
    ledger: MemberLedger, business_date: date, lapse_months: int = DEFAULT_LAPSE_MONTHS
) -> Outcome:
    """A business-day tick for one member: emit what time alone has changed.

    The worker calls this only for members whose :func:`next_change_date` has come; it is
    harmless (emits nothing) for any other member.
    """
    _check_lapse_months(lapse_months)
    if ledger.enrolment is None:
        return Outcome()
    changes, alerts = _emit(ledger, business_date, lapse_months, Reason.TIME)
    return Outcome(changes, alerts, applied=bool(changes))
