"""The simulation: a discrete-event loop over members and agents, streamed lazily.

Enrolments are drawn up front as a sorted list of moments; after that, each member and
agent has a next action (pay, be terminated, change status) in a heap keyed by business
time. Handling an action queues the events it causes in the
:class:`~jamsos.simulation.feed.Feed`, never earlier than the action's time, so every
message published before the next action's time is final and can be yielded at once.
Memory therefore grows with the number of members (a few slots each) plus the feed's
delayed backlog, not with the number of events.

One seeded ``random.Random`` drives everything in a fixed order, so equal configurations
give identical streams, independent of the machine's clock.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator

from jamsos.simulation import habits, people, records
from jamsos.simulation.agents import (
    Agent,
    RecruiterPicker,
    StatusChange,
    build_roster,
    plan_status_changes,
)
from jamsos.simulation.config import SimulationConfig
from jamsos.simulation.feed import Feed
from jamsos.simulation.items import Item, SimulatedEvent
from jamsos.simulation.members import Member, MemberFactory
from jamsos.simulation.payments import PaymentDesk
from jamsos.simulation.summary import SimulationSummary
from jamsos.simulation.terminations import termination
from jamsos.simulation.timeline import DAY, HOUR, MINUTE, Calendar
from jamsos.simulation.weighted import Weighted

_ENROL, _MEMBER, _AGENT = 0, 1, 2
_REVERSAL_REASONS = Weighted.of({"DUPLICATE": 40, "BANK_REVERSAL": 35, "CORRECTION": 25})
_PAYS_AFTER_EXIT = 0.2
"""Share of terminated payers whose next planned payment still comes (e.g. an autodebit)."""
_FIRST_TERMINATION_AFTER = 14 * DAY
_NEVER = 2**62


class SimulationRun:
    """One pass over the period; :meth:`items` yields messages in publication order."""

    def __init__(self, config: SimulationConfig, summary: SimulationSummary) -> None:
        self.config = config
        self.summary = summary
        self.rng = random.Random(config.seed)
        self.calendar = Calendar(config.start, config.months)
        self.roster: list[Agent] = build_roster(self.rng, config.agents, config.star_agent_share)
        picker = RecruiterPicker(self.roster)
        self.factory = MemberFactory(
            self.rng,
            picker,
            config.segment_weights,
            config.agent_recruited_share,
            config.self_payer_habits,
            config.employer_habits,
            config.members,
        )
        self.desk = PaymentDesk(self.rng, picker)
        self.ids = people.EventIds(self.rng)
        self.feed = Feed(self.rng, self.ids, config, summary)
        self.actions: list[tuple[int, int, int, object]] = []
        self._sequence = 0
        self._payments = 0
        self._next_tick = 0
        self._end = self.calendar.end_s
        self._reversal_share = config.reversal_share
        self._lapse_months = config.lapse_months
        self._tick_at = self._close_moment(0)
        summary.members = config.members
        summary.agents = config.agents
        summary.days = self.calendar.days

    # -- the loop ------------------------------------------------------------------------------
    def items(self) -> Iterator[Item]:
        """Every message of the period, in publication order; the last is the final tick."""
        self._register_agents()
        enrolments = self._plan_enrolments()
        actions = self.actions
        queue = self.feed.queue
        pop = heapq.heappop
        enrolled = 0
        next_enrolment = enrolments[0] if enrolments else _NEVER
        subject: object
        while True:
            # Enrolments come from their own sorted list: the heap then holds only members
            # already enrolled, which keeps it small early on and every operation cheaper.
            if actions and actions[0][0] < next_enrolment:
                at, _, kind, subject = pop(actions)
            elif next_enrolment != _NEVER:
                at, kind = next_enrolment, _ENROL
                enrolled += 1
                subject = enrolled
                next_enrolment = enrolments[enrolled] if enrolled < len(enrolments) else _NEVER
            else:
                break
            # Release what is published before this action (inlined _published_before:
            # this runs once per action, and a nested generator per action costs more).
            tick_at = self._tick_at
            while True:
                head = queue[0][0] if queue else _NEVER
                if head < at and head <= tick_at:
                    yield pop(queue)[2]
                elif tick_at < at:
                    yield self._next_close()
                    tick_at = self._tick_at
                else:
                    break
            if kind == _MEMBER:
                self._member_action(subject, at)  # type: ignore[arg-type]
            elif kind == _ENROL:
                self._enrol(subject, at)  # type: ignore[arg-type]
            else:
                self._agent_action(subject)  # type: ignore[arg-type]
        # Stragglers published after the period still come before the last close, so the
        # final BusinessDayClosed follows every event, as a cross-check needs.
        yield from self._published_before(_NEVER)
        yield self._tick(self.calendar.days - 1)

    def _published_before(self, moment: int) -> Iterator[Item]:
        """Queued messages and day closes published before ``moment``, in order.

        The close of day D goes after everything published on D; the period's last close
        is held back for the end of the stream.
        """
        queue = self.feed.queue
        while True:
            if queue and queue[0][0] < moment and queue[0][0] <= self._tick_at:
                yield heapq.heappop(queue)[2]
            elif self._tick_at < moment:
                yield self._next_close()
            else:
                return

    def _next_close(self) -> SimulatedEvent:
        """The close of the next day, and move on to the day after."""
        close = self._tick(self._next_tick)
        self._next_tick += 1
        self._tick_at = self._close_moment(self._next_tick)
        return close

    def _close_moment(self, day: int) -> int:
        """When the close of ``day`` is published; never, for the held-back last day."""
        if day >= self.calendar.days - 1:
            return _NEVER
        return self.calendar.day_start(day) + DAY - 1

    def _tick(self, day: int) -> SimulatedEvent:
        at = self.calendar.day_start(day) + DAY - 1
        self.summary.by_type["BusinessDayClosed"] += 1
        record = records.business_day_closed(event_id=self.ids(), at=at)
        return SimulatedEvent("BusinessDayClosed", record)

    def _schedule(self, at: int, kind: int, subject: object) -> None:
        self._sequence += 1
        heapq.heappush(self.actions, (at, self._sequence, kind, subject))

    # -- agents --------------------------------------------------------------------------------
    def _register_agents(self) -> None:
        """Every agent registers in the first hour of the period, before any enrolment."""
        start = self.calendar.start_s
        for agent in self.roster:
            at = start + int(self.rng.random() * HOUR)
            record = records.agent_registered(event_id=self.ids(), at=at, agent=agent)
            self.feed.publish("AgentRegistered", record, at)
        for change in plan_status_changes(
            self.rng, self.roster, self.config.agent_churn_share, start, self.calendar.end_s
        ):
            self._schedule(change.at, _AGENT, change)

    def _agent_action(self, change: StatusChange) -> None:
        change.agent.active = change.status == "ACTIVE"
        record = records.agent_status_changed(
            event_id=self.ids(),
            at=change.at,
            agent_id=change.agent.agent_id,
            status=change.status,
            reason=change.reason,
        )
        self.feed.publish("AgentStatusChanged", record, change.at)

    # -- members -------------------------------------------------------------------------------
    def _plan_enrolments(self) -> list[int]:
        """Enrolment moments spread over the days of the period, in business hours, sorted;
        the n-th moment is the enrolment of member number n."""
        calendar = self.calendar
        random_ = self.rng.random
        return sorted(
            calendar.business_moment(calendar.day_start(int(random_() * calendar.days)), random_())
            for _ in range(self.config.members)
        )

    def _enrol(self, number: int, at: int) -> None:
        rng = self.rng
        calendar = self.calendar
        end = calendar.end_s
        member, record = self.factory.enrol(number, at, calendar.month_of(at), self.ids())
        first = habits.first_payment(member, calendar, at, rng)
        member.next_pay_at = first if first is not None and first < end else None
        earliest_exit = at + _FIRST_TERMINATION_AFTER
        if rng.random() < self.config.termination_share and earliest_exit < end:
            member.terminate_at = earliest_exit + int(rng.random() * (end - earliest_exit))
        published_at: int | None = None
        if member.next_pay_at is not None and rng.random() < self.config.early_payment_share:
            # The enrolment waits in a branch system while the first payment goes through.
            published_at = member.next_pay_at + HOUR + int(rng.random() * 47 * HOUR)
            self.summary.early_payments += 1
        self.feed.publish("MemberEnrolled", record, at, published_at)
        self._schedule_member(member)

    def _schedule_member(self, member: Member) -> None:
        nxt = member.next_pay_at
        exit_at = member.terminate_at
        if exit_at is not None and (nxt is None or exit_at <= nxt):
            nxt = exit_at
        if nxt is not None and nxt < self._end:
            self._sequence += 1
            heapq.heappush(self.actions, (nxt, self._sequence, _MEMBER, member))

    def _member_action(self, member: Member, at: int) -> None:
        if member.terminate_at is not None and member.terminate_at <= at:
            self._terminate(member, at)
        else:
            self._pay(member, at)
        self._schedule_member(member)

    def _terminate(self, member: Member, at: int) -> None:
        reason, effective, source = termination(self.rng, member, at)
        record = records.membership_terminated(
            event_id=self.ids(),
            at=at,
            source=source,
            member_id=member.member_id,
            reason=reason,
            effective_date=effective,
        )
        self.feed.publish("MembershipTerminated", record, at)
        member.terminated = True
        member.terminate_at = None
        if self.rng.random() >= _PAYS_AFTER_EXIT:
            member.next_pay_at = None

    def _pay(self, member: Member, at: int) -> None:
        rng = self.rng
        months = member.next_months
        amount = months * member.rate
        channel, collector, source = self.desk.route(member)
        record = self._payment(member, at, months, amount, channel, collector, source)
        self.feed.publish("ContributionPaid", record, at)
        # Track cover the way the rules do: a payment while lapsed starts a new spell.
        calendar = self.calendar
        if calendar.overdue(at, member.next_due, member.in_arrears) > self._lapse_months:
            member.next_due = calendar.month_of(at) + months
        else:
            member.next_due += months
        if rng.random() < self._reversal_share:
            self._reverse(member, record, at)
        if member.terminated:
            member.next_pay_at = None
            return
        nxt = habits.next_payment(member, calendar, at, rng)
        member.next_pay_at = nxt if nxt is not None and nxt < self._end else None

    def _payment(
        self,
        member: Member,
        at: int,
        months: int,
        amount: int,
        channel: str,
        collector: str | None,
        source: str,
    ) -> records.Record:
        self._payments += 1
        return records.contribution_paid(
            event_id=self.ids(),
            at=at,
            source=source,
            payment_id=f"PAY{self._payments:010d}",
            member_id=member.member_id,
            months=months,
            amount=amount,
            channel=channel,
            collecting_agent_id=collector,
        )

    def _reverse(self, member: Member, paid: records.Record, at: int) -> None:
        """Undo a payment: a double charge, a bank chargeback, or a correction and re-payment."""
        rng = self.rng
        end = self.calendar.end_s
        reason = _REVERSAL_REASONS.pick(rng)
        months, amount = paid["months"], paid["amount"]
        channel, collector, source = paid["channel"], paid["collecting_agent_id"], paid["source"]
        target = paid
        if reason == "DUPLICATE":
            doubled_at = at + MINUTE + int(rng.random() * 30 * MINUTE)
            if doubled_at >= end:
                return
            target = self._payment(member, doubled_at, months, amount, channel, collector, source)
            self.feed.publish("ContributionPaid", target, doubled_at)
            reversed_at = doubled_at + DAY + int(rng.random() * 4 * DAY)
        elif reason == "BANK_REVERSAL":
            reversed_at = at + DAY + int(rng.random() * 6 * DAY)
        else:
            reversed_at = at + DAY + int(rng.random() * 9 * DAY)
        if reversed_at >= end:
            return
        record = records.contribution_reversed(
            event_id=self.ids(),
            at=reversed_at,
            source=source,
            payment_id=target["payment_id"],
            member_id=member.member_id,
            reason=reason,
        )
        self.feed.publish("ContributionReversed", record, reversed_at)
        if reason == "BANK_REVERSAL":
            member.next_due -= months  # the money never arrived: those months are owed again
        elif reason == "CORRECTION":
            repaid_at = reversed_at + MINUTE + int(rng.random() * HOUR)
            if repaid_at < end:
                repaid = self._payment(
                    member, repaid_at, months, amount, channel, collector, source
                )
                self.feed.publish("ContributionPaid", repaid, repaid_at)
