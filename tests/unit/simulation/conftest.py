"""One mid-size simulated stream shared by the tests that look at its shape."""

from __future__ import annotations

import pytest

from jamsos.simulation import Item, Simulation, SimulationConfig, SimulationSummary

MID_SIZE = SimulationConfig(members=3_000, agents=10, months=6, seed=7)
"""Large enough for every rare flaw to occur; ten agents so the busiest recruit 25+ a month."""


@pytest.fixture(scope="session")
def mid_run() -> tuple[list[Item], SimulationSummary]:
    summary = SimulationSummary()
    items = list(Simulation(MID_SIZE).events(summary))
    return items, summary
