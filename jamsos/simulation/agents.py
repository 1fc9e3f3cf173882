"""The Perisai agent roster: who recruits, where, how much, and when they stop.

Recruiting is very uneven among real agents, so each agent gets an activity weight: most
draw a modest one from a heavy-tailed distribution, and a share of "star" agents recruit
ten times as much; they reach 25 recruits in a month, which the bonus rule needs.
An agent's ``active`` flag follows their ``AgentStatusChanged`` events as the simulation
clock passes them, so a deactivated agent stops recruiting and collecting.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from itertools import accumulate

from jamsos.simulation import people
from jamsos.simulation.geography import pick_branch, pick_province
from jamsos.simulation.weighted import Weighted

COMMUNITIES = Weighted.of({"OJEK": 30, "FARMER": 25, "FISHER": 10, "TRADER": 25, "OTHER": 10})
STAR_WEIGHT = 10.0
_TYPICAL_WEIGHT_CAP = 4.0

DEACTIVATION_REASONS = (
    "no recruitment for three months",
    "moved out of the branch area",
    "on leave",
)
TERMINATION_REASONS = ("contract ended", "misconduct: contributions not remitted")
REACTIVATION_REASON = "resumed activity"


@dataclass(slots=True)
class Agent:
    """One agent: fixed profile plus the current ``active`` flag."""

    agent_id: str
    full_name: str
    branch_code: str
    region_code: str
    community: str
    weight: float
    active: bool = True


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A planned ``AgentStatusChanged``: at ``at`` (seconds), ``agent`` gets ``status``."""

    at: int
    agent: Agent
    status: str
    reason: str


def build_roster(rng: random.Random, count: int, star_share: float) -> list[Agent]:
    """``count`` agents with provinces, branches, communities and activity weights."""
    roster: list[Agent] = []
    for number in range(1, count + 1):
        province = pick_province(rng)
        star = rng.random() < star_share
        weight = STAR_WEIGHT if star else min(_TYPICAL_WEIGHT_CAP, rng.paretovariate(1.5))
        roster.append(
            Agent(
                agent_id=people.agent_id(number),
                full_name=people.full_name(rng, female=rng.random() < 0.4),
                branch_code=pick_branch(rng, province),
                region_code=province.code,
                community=COMMUNITIES.pick(rng),
                weight=weight,
            )
        )
    return roster


def plan_status_changes(
    rng: random.Random, roster: list[Agent], churn_share: float, start_s: int, end_s: int
) -> list[StatusChange]:
    """Deactivations (some followed by a comeback) and terminations within the period.

    Changes start a month into the period, so every agent recruits for a while first.
    """
    day = 86_400
    earliest = start_s + 30 * day
    changes: list[StatusChange] = []
    if earliest >= end_s:
        return changes
    for agent in roster:
        if rng.random() >= churn_share:
            continue
        at = earliest + int(rng.random() * (end_s - earliest))
        if rng.random() < 0.15:
            reason = TERMINATION_REASONS[int(rng.random() * len(TERMINATION_REASONS))]
            changes.append(StatusChange(at, agent, "TERMINATED", reason))
            continue
        reason = DEACTIVATION_REASONS[int(rng.random() * len(DEACTIVATION_REASONS))]
        changes.append(StatusChange(at, agent, "DEACTIVATED", reason))
        comeback = at + (30 + int(rng.random() * 90)) * day
        if rng.random() < 0.4 and comeback < end_s:
            changes.append(StatusChange(comeback, agent, "ACTIVE", REACTIVATION_REASON))
    return changes


class RecruiterPicker:
    """Weighted choice of an agent, in O(log n) per pick."""

    def __init__(self, roster: list[Agent]) -> None:
        self._roster = roster
        self._cumulative = list(accumulate(agent.weight for agent in roster))
        self._total = self._cumulative[-1] if self._cumulative else 0.0

    def pick(self, rng: random.Random) -> Agent | None:
        """An agent by activity weight, or ``None`` if the chosen one is not active now."""
        if not self._roster:
            return None
        index = bisect.bisect_right(self._cumulative, rng.random() * self._total)
        agent = self._roster[min(index, len(self._roster) - 1)]
        return agent if agent.active else None
