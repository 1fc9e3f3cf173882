"""Per-agent tallies and commission (``agents.md``).

The streaming version must be idempotent and independent of arrival order, so an agent's
figures are never updated by deltas derived from single events. Instead
:func:`member_agent_shares` computes, from one member's whole ledger, the *absolute*
contribution of that member to each agent's figures, and :class:`AgentBook` keeps the
latest share per member and sums them. Re-applying an event, or applying events in another
order, recomputes the same share, and replacing a share by an equal one changes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from jamsos.rules.events import AgentEvent, AgentRegistered, AgentStatusChanged
from jamsos.rules.member import (
    DEFAULT_LAPSE_MONTHS,
    MemberLedger,
    Payment,
    Status,
    evaluate,
    evaluation_date,
)
from jamsos.rules.periods import Month, month_of

JHT = "JHT"
COMMISSION_TIERS: tuple[tuple[int, int], ...] = ((24, 1500), (60, 500))
"""(last contribution month number, rate in basis points): 15 % for 1-24, 5 % for 25-60."""
BASIS_POINTS = 10_000
BONUS_MIN_RECRUITS = 25
BONUS_WITH_JHT = 15_000
BONUS_OTHER = 10_000
BOOK_FORMAT = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --------------------------------------------------------------------------- commission


def month_rate(number: int) -> int:
    """Commission rate, in basis points, of a recruit's contribution month ``number``."""
    for last, rate in COMMISSION_TIERS:
        if number <= last:
            return rate
    return 0


def commission(amount: int, first_number: int, months: int) -> int:
    """Commission on a payment of ``months`` months numbered from ``first_number``.

    ``floor(A * (r1 + ... + rk) / (k * 10000))``, in integers so that figures are exact.
    """
    rates = sum(month_rate(first_number + i) for i in range(months))
    return amount * rates // (months * BASIS_POINTS)


# --------------------------------------------------------------------------- shares


@dataclass(frozen=True, slots=True)
class Recruit:
    """What a recruit contributes to the recruiting agent's current and period figures."""

    status: Status
    period: Month
    with_jht: bool


@dataclass(frozen=True, slots=True)
class PeriodShare:
    """One member's contribution to one agent's figures of one period."""

    contributions_amount: int = 0
    contribution_months: int = 0
    commission_amount: int = 0

    def is_zero(self) -> bool:
        """Zero entries are dropped so that equal figures always compare equal."""
        return not (self.contributions_amount or self.contribution_months or self.commission_amount)


@dataclass(frozen=True, slots=True)
class AgentShare:
    """Everything one member contributes to one agent, as absolute values.

    ``periods`` is sorted by period and holds no zero entries, so two shares describing the
    same figures are equal, which is what makes replacing a share idempotent.
    """

    recruit: Recruit | None = None
    periods: tuple[tuple[Month, PeriodShare], ...] = ()
    last_activity_on: date | None = None

    def is_empty(self) -> bool:
        """A share that contributes nothing is the same as no share."""
        return self.recruit is None and not self.periods and self.last_activity_on is None


@dataclass
class _ShareBuilder:
    recruit: Recruit | None = None
    periods: dict[Month, list[int]] = field(default_factory=dict)
    last_activity_on: date | None = None

    def add(self, period: Month, amount: int = 0, months: int = 0, earned: int = 0) -> None:
        figures = self.periods.setdefault(period, [0, 0, 0])
        figures[0] += amount
        figures[1] += months
        figures[2] += earned

    def touch(self, on: date) -> None:
        if self.last_activity_on is None or on > self.last_activity_on:
            self.last_activity_on = on

    def build(self) -> AgentShare:
        periods = tuple(
            (period, share)
            for period, share in (
                (p, PeriodShare(*figures)) for p, figures in sorted(self.periods.items())
            )
            if not share.is_zero()
        )
        return AgentShare(self.recruit, periods, self.last_activity_on)


def _exited_on(ledger: MemberLedger, on: date) -> bool:
    return ledger.termination is not None and ledger.termination.effective_date <= on


def _add_commissions(ledger: MemberLedger, builder: _ShareBuilder) -> None:
    """Commission of every payment to the recruiter, and take-backs of reversed ones.

    Numbering runs over all payments, reversed or not, in business-time order, so a late
    payment earlier in time renumbers (and re-prices) the later ones in their own periods.
    """
    number = 1
    for payment in ledger.payments:
        earned = (
            0
            if _exited_on(ledger, payment.paid_on)
            else commission(payment.amount, number, payment.months)
        )
        number += payment.months
        if not earned:
            continue
        builder.add(month_of(payment.paid_on), earned=earned)
        reversal = ledger.reversals.get(payment.payment_id)
        if reversal is not None:
            builder.add(month_of(reversal.occurred_at.date()), earned=-earned)


def _add_collection(builder: _ShareBuilder, payment: Payment) -> None:
    builder.add(month_of(payment.paid_on), amount=payment.amount, months=payment.months)
    builder.touch(payment.paid_on)


def member_agent_shares(
    ledger: MemberLedger, as_of: date | None, lapse_months: int = DEFAULT_LAPSE_MONTHS
) -> dict[str, AgentShare]:
    """What this member contributes to each agent's figures (absolute values).

    ``as_of`` is the business date; the recruit's status is the one the member status
    rules give on :func:`evaluation_date`, so it always agrees with the member's last
    ``MemberStatusChanged``. A member not yet enrolled contributes nothing: its events
    are held.
    """
    enrolment = ledger.enrolment
    if enrolment is None:
        return {}
    builders: dict[str, _ShareBuilder] = {}
    recruiter = enrolment.agent_id
    if recruiter:
        builder = builders.setdefault(recruiter, _ShareBuilder())
        state = evaluate(ledger, evaluation_date(ledger, as_of), lapse_months)
        builder.recruit = Recruit(state.status, enrolment.start_month, JHT in enrolment.programmes)
        builder.touch(enrolment.enrolled_on)
        _add_commissions(ledger, builder)
    for payment in ledger.payments:
        collector = payment.collecting_agent_id
        if collector and payment.payment_id not in ledger.reversals:
            _add_collection(builders.setdefault(collector, _ShareBuilder()), payment)
    shares = {agent_id: builder.build() for agent_id, builder in builders.items()}
    return {agent_id: share for agent_id, share in shares.items() if not share.is_empty()}


def share_updates(
    before: dict[str, AgentShare], after: dict[str, AgentShare]
) -> dict[str, AgentShare | None]:
    """The agents whose share of a member changed, with the new share (``None``: removed).

    The worker computes the shares before and after an event; only these agents' books
    need to be loaded and updated.
    """
    updates: dict[str, AgentShare | None] = {
        agent_id: None for agent_id in before if agent_id not in after
    }
    for agent_id, share in after.items():
        if before.get(agent_id) != share:
            updates[agent_id] = share
    return updates


# --------------------------------------------------------------------------- agent book


@dataclass(frozen=True, slots=True)
class AgentFigures:
    """An agent's current figures (``agents.md`` "Current figures")."""

    recruits_total: int
    recruits_new: int
    recruits_active: int
    recruits_grace: int
    recruits_lapsed: int
    recruits_exited: int
    last_activity_on: date | None


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """An agent's figures of one calendar month (``agents.md`` "Monthly figures")."""

    period: Month
    new_recruits: int
    contributions_amount: int
    contribution_months: int
    commission_amount: int
    bonus_amount: int
    payout_amount: int

    def is_zero(self) -> bool:
        """Periods without any non-zero figure are not reported."""
        return not any(
            (
                self.new_recruits,
                self.contributions_amount,
                self.contribution_months,
                self.commission_amount,
                self.bonus_amount,
            )
        )


@dataclass(frozen=True, slots=True)
class BookChange:
    """What replacing a member's share changed: which periods, and the current figures."""

    periods: frozenset[Month] = frozenset()
    current: bool = False

    @property
    def changed(self) -> bool:
        """Whether anything an ``AgentTally`` carries changed."""
        return self.current or bool(self.periods)


# Order of the per-period running totals.
_NEW, _JHT, _AMOUNT, _MONTHS, _COMMISSION = range(5)


@dataclass
class _Totals:
    """Running sums over an agent's shares, so figures cost O(1) to read."""

    statuses: Counter[Status] = field(default_factory=Counter)
    activity: Counter[date] = field(default_factory=Counter)
    periods: dict[Month, list[int]] = field(default_factory=dict)

    def apply(self, share: AgentShare, sign: int) -> set[Month]:
        touched: set[Month] = set()
        if share.recruit is not None:
            self.statuses[share.recruit.status] += sign
            self._bump(share.recruit.period, _NEW, sign)
            if share.recruit.with_jht:
                self._bump(share.recruit.period, _JHT, sign)
            touched.add(share.recruit.period)
        for period, part in share.periods:
            self._bump(period, _AMOUNT, sign * part.contributions_amount)
            self._bump(period, _MONTHS, sign * part.contribution_months)
            self._bump(period, _COMMISSION, sign * part.commission_amount)
            touched.add(period)
        if share.last_activity_on is not None:
            self.activity[share.last_activity_on] += sign
        self._prune(touched, share)
        return touched

    def _bump(self, period: Month, index: int, value: int) -> None:
        self.periods.setdefault(period, [0, 0, 0, 0, 0])[index] += value

    def _prune(self, periods: set[Month], share: AgentShare) -> None:
        """Drop keys whose totals went back to zero, so equal figures compare equal."""
        for period in periods:
            if not any(self.periods.get(period, ())):
                self.periods.pop(period, None)
        if share.recruit is not None and not self.statuses[share.recruit.status]:
            del self.statuses[share.recruit.status]
        if share.last_activity_on is not None and not self.activity[share.last_activity_on]:
            del self.activity[share.last_activity_on]


@dataclass
class AgentBook:
    """One agent: registration facts and the latest share of every member it touches.

    Registration and status facts keep the business-time key of the event they came from,
    so the latest fact wins whatever the arrival order and a redelivered event is a no-op.
    """

    agent_id: str
    branch_code: str | None = None
    region_code: str | None = None
    community: str | None = None
    registered_key: tuple[datetime, str] | None = None
    status: str | None = None
    status_key: tuple[datetime, str] | None = None
    shares: dict[str, AgentShare] = field(default_factory=dict)
    _totals: _Totals = field(default_factory=_Totals, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for share in self.shares.values():
            self._totals.apply(share, 1)

    def apply_event(self, event: AgentEvent) -> bool:
        """Record an ``AgentRegistered`` or ``AgentStatusChanged``; return whether it changed."""
        if event.agent_id != self.agent_id:
            raise ValueError(f"event for {event.agent_id!r} applied to {self.agent_id!r}")
        key = event.sort_key
        changed = False
        if isinstance(event, AgentRegistered) and _later(key, self.registered_key):
            self.branch_code, self.region_code = event.branch_code, event.region_code
            self.community, self.registered_key = event.community, key
            changed = True
            status = "ACTIVE"
        elif isinstance(event, AgentStatusChanged):
            status = event.status
        else:
            return changed
        if _later(key, self.status_key):
            self.status, self.status_key = status, key
            changed = True
        return changed

    def set_share(self, member_id: str, share: AgentShare | None) -> BookChange:
        """Replace the member's share (``None`` or an empty share removes it)."""
        if share is not None and share.is_empty():
            share = None
        old = self.shares.pop(member_id, None)
        if share is not None:
            self.shares[member_id] = share
        return self.replace_share(old, share)

    def replace_share(self, old: AgentShare | None, new: AgentShare | None) -> BookChange:
        """Swap one member's share in the running totals, given the share it replaces.

        For books whose shares are stored apart from the totals (the stream worker keeps
        one record per agent and member, so an update never loads all of an agent's
        recruits); ``self.shares`` is left alone.
        """
        if new is not None and new.is_empty():
            new = None
        if old is not None and old.is_empty():
            old = None
        if old == new:
            return BookChange()
        before = self.current_figures()
        touched: set[Month] = set()
        if old is not None:
            touched |= self._totals.apply(old, -1)
        if new is not None:
            touched |= self._totals.apply(new, 1)
        return BookChange(frozenset(touched), self.current_figures() != before)

    def totals_to_list(self) -> list[Any]:
        """The running totals in compact JSON form (see :meth:`restore_totals`)."""
        totals = self._totals
        return [
            dict(totals.statuses),
            [[day.toordinal(), count] for day, count in totals.activity.items()],
            [[period, figures] for period, figures in totals.periods.items()],
        ]

    def restore_totals(self, data: list[Any]) -> None:
        """Load totals saved with :meth:`totals_to_list` (for a book without ``shares``)."""
        statuses, activity, periods = data
        self._totals = _Totals(
            Counter({Status(name): count for name, count in statuses.items()}),
            Counter({date.fromordinal(day): count for day, count in activity}),
            {period: list(figures) for period, figures in periods},
        )

    def current_figures(self) -> AgentFigures:
        """Recruits by current status and the date of the latest activity."""
        statuses = self._totals.statuses
        activity = self._totals.activity
        return AgentFigures(
            recruits_total=sum(statuses.values()),
            recruits_new=statuses[Status.NEW],
            recruits_active=statuses[Status.ACTIVE],
            recruits_grace=statuses[Status.GRACE],
            recruits_lapsed=statuses[Status.LAPSED],
            recruits_exited=statuses[Status.EXITED],
            last_activity_on=max(activity) if activity else None,
        )

    def period_figures(self, period: Month) -> PeriodFigures:
        """The agent's figures of ``period``, with the bonus rule applied."""
        new, jht, amount, months, earned = self._totals.periods.get(period, [0, 0, 0, 0, 0])
        bonus = bonus_amount(new, jht)
        return PeriodFigures(period, new, amount, months, earned, bonus, earned + bonus)

    def periods(self) -> list[Month]:
        """Periods with at least one non-zero figure, in order."""
        return sorted(self._totals.periods)

    def to_dict(self) -> dict[str, Any]:
        """Compact JSON-serialisable form for the state store."""
        data: dict[str, Any] = {"v": BOOK_FORMAT, "a": self.agent_id}
        if self.registered_key is not None:
            data["g"] = [
                self.branch_code,
                self.region_code,
                self.community,
                *_key_to_list(self.registered_key),
            ]
        if self.status_key is not None:
            data["s"] = [self.status, *_key_to_list(self.status_key)]
        if self.shares:
            data["m"] = {member: share_to_list(s) for member, s in sorted(self.shares.items())}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentBook:
        """Rebuild a book stored with :meth:`to_dict`; running totals are recomputed."""
        if data.get("v") != BOOK_FORMAT:
            raise ValueError(f"unsupported agent book format: {data.get('v')!r}")
        book = cls(
            agent_id=data["a"],
            shares={member: share_from_list(item) for member, item in data.get("m", {}).items()},
        )
        if "g" in data:
            branch, region, community, micros, event_id = data["g"]
            book.branch_code, book.region_code, book.community = branch, region, community
            book.registered_key = _key_from_list(micros, event_id)
        if "s" in data:
            status, micros, event_id = data["s"]
            book.status, book.status_key = status, _key_from_list(micros, event_id)
        return book


def bonus_amount(new_recruits: int, with_jht: int) -> int:
    """Rp 15,000 per new recruit with JHT, Rp 10,000 per other, from 25 new recruits on."""
    if new_recruits < BONUS_MIN_RECRUITS:
        return 0
    return with_jht * BONUS_WITH_JHT + (new_recruits - with_jht) * BONUS_OTHER


def _later(key: tuple[datetime, str], current: tuple[datetime, str] | None) -> bool:
    return current is None or key > current


def _key_to_list(key: tuple[datetime, str]) -> list[Any]:
    return [(key[0] - _EPOCH) // timedelta(microseconds=1), key[1]]


def _key_from_list(micros: int, event_id: str) -> tuple[datetime, str]:
    return (_EPOCH + timedelta(microseconds=micros), event_id)


def share_to_list(share: AgentShare) -> list[Any]:
    recruit = share.recruit
    return [
        None if recruit is None else [recruit.status.value, recruit.period, int(recruit.with_jht)],
        [
            [period, p.contributions_amount, p.contribution_months, p.commission_amount]
            for period, p in share.periods
        ],
        None if share.last_activity_on is None else share.last_activity_on.toordinal(),
    ]


def share_from_list(item: list[Any]) -> AgentShare:
    recruit, periods, activity = item
    return AgentShare(
        recruit=None
        if recruit is None
        else Recruit(Status(recruit[0]), recruit[1], bool(recruit[2])),
        periods=tuple(
            (p, PeriodShare(amount, months, earned)) for p, amount, months, earned in periods
        ),
        last_activity_on=None if activity is None else date.fromordinal(activity),
    )
