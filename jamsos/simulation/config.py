"""The simulator's knobs: population sizes, the period, and how imperfect the feed is.

Every share is a probability per event or per member, so one configuration describes a
small test run and the 100 k-member demo alike. Defaults reflect the agency's figures where
spec/README.md gives them (most members informal BPU workers, about half recruited by
Perisai agents) and otherwise what upstream feeds typically get wrong, at rates small
enough that the pipeline's happy path still dominates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

DEFAULT_START = date(2019, 1, 1)


def _frozen(weights: dict[str, float]) -> Mapping[str, float]:
    return MappingProxyType(weights)


def _segment_weights() -> Mapping[str, float]:
    return _frozen({"BPU": 0.80, "PU": 0.15, "JAKON": 0.03, "PMI": 0.02})


def _self_payer_habits() -> Mapping[str, float]:
    return _frozen(
        {
            "ON_TIME": 0.35,
            "LATE": 0.12,
            "PREPAY": 0.15,
            "LAPSER": 0.18,
            "IRREGULAR": 0.10,
            "NEVER": 0.10,
        }
    )


def _employer_habits() -> Mapping[str, float]:
    return _frozen({"EMPLOYER": 0.80, "EMPLOYER_LATE": 0.12, "EMPLOYER_STOPS": 0.08})


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. Equal configurations give identical event streams."""

    members: int = 100_000
    agents: int = 300
    months: int = 12
    start: date = DEFAULT_START
    seed: int = 1

    segment_weights: Mapping[str, float] = field(default_factory=_segment_weights)
    """Share of enrolments per segment."""
    agent_recruited_share: float = 0.55
    """Share of BPU enrolments taken by a Perisai agent (the rest: portal or branch)."""
    star_agent_share: float = 0.10
    """Share of agents who recruit ten times as much as a typical agent; they are the ones
    who reach 25 recruits in a month and trigger the bonus rule."""
    self_payer_habits: Mapping[str, float] = field(default_factory=_self_payer_habits)
    """Payment habits of members who pay for themselves (BPU, JAKON, PMI)."""
    employer_habits: Mapping[str, float] = field(default_factory=_employer_habits)
    """Payment habits of employers paying for their PU workers."""

    reversal_share: float = 0.01
    """Share of payments that are later reversed (or doubled and the double reversed)."""
    termination_share: float = 0.03
    """Share of members whose membership is terminated during the period."""
    agent_churn_share: float = 0.08
    """Share of agents deactivated (some come back) or terminated during the period."""

    duplicate_share: float = 0.01
    """Share of events that upstream publishes twice (same event_id)."""
    delay_share: float = 0.02
    """Share of events published hours to days after they occurred (out of order)."""
    early_payment_share: float = 0.02
    """Share of paying members whose first payment arrives before their enrolment."""
    invalid_share: float = 0.005
    """Share of events that are accompanied by a broken message (dead-letter material)."""
    garbage_share: float = 0.25
    """Of the broken messages, the share that are not Avro at all (raw bytes)."""

    lapse_months: int = 3
    """The lapse limit members act on when they decide whether a payment restarts cover."""

    def __post_init__(self) -> None:
        if self.members < 0 or self.agents < 0:
            raise ValueError("members and agents must be >= 0")
        if self.months < 1:
            raise ValueError(f"months must be >= 1, got {self.months}")
        for name in (
            "agent_recruited_share",
            "star_agent_share",
            "reversal_share",
            "termination_share",
            "agent_churn_share",
            "duplicate_share",
            "delay_share",
            "early_payment_share",
            "invalid_share",
            "garbage_share",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        for name in ("segment_weights", "self_payer_habits", "employer_habits"):
            weights = getattr(self, name)
            if not weights or min(weights.values()) < 0 or sum(weights.values()) <= 0:
                raise ValueError(f"{name} needs non-negative weights with a positive sum")
