"""Where a payment is made: the channel, the collecting agent and the publishing system.

Members mostly stick to one channel (drawn at enrolment) and occasionally use another.
Agent-channel payments are collected by the member's recruiter while that agent is
active; members without one (or whose recruiter has stopped) hand the money to some
other active agent, or go to a minimarket when none is at hand.
"""

from __future__ import annotations

import random

from jamsos.simulation.agents import RecruiterPicker
from jamsos.simulation.members import Member

_OCCASIONAL = ("bank", "ewallet", "minimarket")
_OCCASIONAL_RATE = 0.15
_BANKS = tuple(f"bank:{name}" for name in ("BNI", "BRI", "Mandiri", "BTN", "BCA"))
_SOURCES = {
    "bank": _BANKS,
    "autodebit": _BANKS,
    "ewallet": tuple(f"ewallet:{name}" for name in ("GoPay", "OVO", "DANA", "LinkAja")),
    "minimarket": ("minimarket:Indomaret", "minimarket:Alfamart"),
    "agent": ("agent-app",),
    "employer": ("employer-portal",),
}


class PaymentDesk:
    """Routes a member's payment to a channel and names who published it."""

    def __init__(self, rng: random.Random, picker: RecruiterPicker) -> None:
        self._rng = rng
        self._picker = picker

    def route(self, member: Member) -> tuple[str, str | None, str]:
        """``(channel, collecting_agent_id, source)`` of the member's next payment."""
        random_ = self._rng.random
        channel = member.channel
        if not member.employer_paid and random_() < _OCCASIONAL_RATE:
            channel = _OCCASIONAL[int(random_() * len(_OCCASIONAL))]
        collector: str | None = None
        if channel == "agent":
            agent = member.recruiter
            if agent is None or not agent.active:
                agent = self._picker.pick(self._rng)
            if agent is None:
                channel = "minimarket"
            else:
                collector = agent.agent_id
        return channel, collector, self._source(channel)

    def _source(self, channel: str) -> str:
        sources = _SOURCES[channel]
        return sources[int(self._rng.random() * len(sources))]
