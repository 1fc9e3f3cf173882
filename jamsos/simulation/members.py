"""Members: who enrols, through which channel, for which programmes, and how they pay.

:class:`MemberFactory` draws a member's profile at the moment of enrolment and returns the
``MemberEnrolled`` record with a :class:`Member`, the small amount of state the engine keeps
to drive the member's later payments. Personal data goes into the record only and is not
kept, so memory grows with the number of members, not with their profiles.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from jamsos.simulation import people, records, tariff
from jamsos.simulation.agents import Agent, RecruiterPicker
from jamsos.simulation.geography import pick_branch, pick_province
from jamsos.simulation.habits import EMPLOYER_HABITS, Habit, draw_streak
from jamsos.simulation.weighted import Weighted

ENROLMENT_SOURCES = {
    "portal": "portal",
    "agent": "agent-app",
    "branch": "branch-office",
    "employer": "employer-portal",
}
_RECRUIT_PAYS_BY = Weighted.of(
    {"bank": 10, "ewallet": 15, "minimarket": 15, "autodebit": 5, "agent": 55}
)
"""Members an agent recruited mostly hand their contributions to that agent."""
_WALK_IN_PAYS_BY = Weighted.of(
    {"bank": 30, "ewallet": 30, "minimarket": 25, "autodebit": 10, "agent": 5}
)
EMPLOYERS_PER_WORKERS = 20
"""One employer per this many expected PU/JAKON workers: several workers share a payer."""


class Member:
    """What the engine remembers about a member between their events."""

    __slots__ = (
        "channel",
        "employer_paid",
        "enrolled_at",
        "habit",
        "has_jht",
        "in_arrears",
        "member_id",
        "next_due",
        "next_months",
        "next_pay_at",
        "pay_day",
        "rate",
        "recruiter",
        "streak",
        "terminate_at",
        "terminated",
        "will_return",
    )

    def __init__(
        self,
        member_id: str,
        enrolled_at: int,
        start_month: int,
        in_arrears: bool,
        rate: int,
        habit: Habit,
        recruiter: Agent | None,
        channel: str,
        has_jht: bool,
    ) -> None:
        self.member_id = member_id
        self.enrolled_at = enrolled_at
        self.next_due = start_month
        """First month not yet paid, as the member reckons it (mirrors status.md)."""
        self.in_arrears = in_arrears
        self.rate = rate
        self.habit = habit
        self.recruiter = recruiter
        self.channel = channel
        self.employer_paid = channel == "employer"
        self.has_jht = has_jht
        self.pay_day = 1
        self.next_months = 1
        self.streak = 0
        self.will_return = False
        self.next_pay_at: int | None = None
        self.terminate_at: int | None = None
        self.terminated = False


class MemberFactory:
    """Draws members' profiles (segment, place, channel, programmes, income, habit)."""

    def __init__(
        self,
        rng: random.Random,
        picker: RecruiterPicker,
        segment_weights: Mapping[str, float],
        agent_recruited_share: float,
        self_payer_habits: Mapping[str, float],
        employer_habits: Mapping[str, float],
        expected_members: int,
    ) -> None:
        self._rng = rng
        self._picker = picker
        self._segments = Weighted.of(segment_weights)
        self._agent_share = agent_recruited_share
        self._self_habits = Weighted((Habit(name), w) for name, w in self_payer_habits.items())
        self._employer_habits = Weighted((Habit(name), w) for name, w in employer_habits.items())
        wage_earner_share = sum(w for s, w in segment_weights.items() if s in ("PU", "JAKON"))
        total = sum(segment_weights.values())
        self._employers = max(1, int(expected_members * wage_earner_share / total))
        self._employers = max(1, self._employers // EMPLOYERS_PER_WORKERS)

    def enrol(
        self, number: int, at: int, start_month: int, event_id: str
    ) -> tuple[Member, records.Record]:
        """The ``number``-th member, enrolling at ``at``: its state and its enrolment."""
        rng = self._rng
        random_ = rng.random
        segment = self._segments.pick(rng)
        recruiter: Agent | None = None
        employer: str | None = None
        if segment == "BPU":
            if random_() < self._agent_share:
                recruiter = self._picker.pick(rng)
            channel = "agent" if recruiter else ("portal" if random_() < 0.6 else "branch")
        elif segment == "PU":
            employer = self._employer(rng)
            channel = "employer" if random_() < 0.85 else "branch"
        elif segment == "JAKON":
            employer = self._employer(rng) if random_() < 0.7 else None
            channel = "employer" if employer and random_() < 0.85 else "branch"
        else:
            roll = random_()
            if roll < 0.2:
                recruiter = self._picker.pick(rng)
            channel = "agent" if recruiter else ("portal" if roll < 0.7 else "branch")

        if recruiter is not None:
            region, branch = recruiter.region_code, recruiter.branch_code
        else:
            province = pick_province(rng)
            region, branch = province.code, pick_branch(rng, province)

        programmes = ["JKK", "JKM"]
        if segment == "PU":
            programmes.append("JHT")
            if random_() < 0.7:
                programmes.append("JP")
        elif segment != "JAKON" and random_() < 0.45:
            programmes.append("JHT")
        self_paying = segment in ("BPU", "PMI")
        income = tariff.self_payer_income(rng) if self_paying else tariff.wage(rng)

        employer_paid = employer is not None
        if employer_paid:
            pay_channel = "employer"
            habit = self._employer_habits.pick(rng)
        else:
            pay_channel = (_RECRUIT_PAYS_BY if recruiter else _WALK_IN_PAYS_BY).pick(rng)
            habit = self._self_habits.pick(rng)
        if habit in EMPLOYER_HABITS and not employer_paid:
            habit = Habit.ON_TIME

        female = random_() < 0.45
        member = Member(
            member_id=people.member_id(number),
            enrolled_at=at,
            start_month=start_month,
            in_arrears=segment == "PU",
            rate=tariff.monthly_rate(segment, tuple(programmes), income),
            habit=habit,
            recruiter=recruiter,
            channel=pay_channel,
            has_jht="JHT" in programmes,
        )
        member.pay_day = 1 + int(random_() * 15)
        member.streak, member.will_return = draw_streak(rng, habit)
        record = records.member_enrolled(
            event_id=event_id,
            at=at,
            source=ENROLMENT_SOURCES[channel],
            member_id=member.member_id,
            nik=people.nik(rng, region, female),
            full_name=people.full_name(rng, female),
            phone=people.phone(rng) if random_() < 0.7 else None,
            segment=segment,
            programmes=programmes,
            declared_income=income,
            agent_id=recruiter.agent_id if recruiter else None,
            employer_id=employer,
            branch_code=branch,
            region_code=region,
            channel=channel,
        )
        return member, record

    def _employer(self, rng: random.Random) -> str:
        return people.employer_id(1 + int(rng.random() * self._employers))
