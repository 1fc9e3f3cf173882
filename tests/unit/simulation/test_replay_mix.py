"""Replaying the simulated events with the worker's rules gives every status."""

from __future__ import annotations

from collections import Counter

from jamsos.rules.events import event_from_record
from jamsos.rules.replay import replay
from jamsos.simulation import Item, SimulatedEvent, SimulationSummary

from .conftest import MID_SIZE


def test_final_statuses_are_a_plausible_mix(
    mid_run: tuple[list[Item], SimulationSummary],
) -> None:
    items, _ = mid_run
    events = [event_from_record(*item) for item in items if isinstance(item, SimulatedEvent)]
    lines = replay(events)
    statuses = Counter(line["status"] for line in lines if line["kind"] == "member")
    assert sum(statuses.values()) == MID_SIZE.members
    assert set(statuses) == {"NEW", "ACTIVE", "GRACE", "LAPSED", "EXITED"}
    active = statuses["ACTIVE"] + statuses["GRACE"]
    assert 0.4 < active / MID_SIZE.members < 0.95
    bonuses = [line for line in lines if line["kind"] == "agent_period" and line["bonus_amount"]]
    assert bonuses
