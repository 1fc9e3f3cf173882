"""The same configuration always gives the same stream; another seed gives another."""

from __future__ import annotations

from datetime import date

import pytest

from jamsos.simulation import Simulation, SimulationConfig

SMALL = SimulationConfig(members=400, agents=5, months=3, start=date(2020, 3, 1))


def test_same_seed_gives_identical_stream() -> None:
    assert list(Simulation(SMALL).events()) == list(Simulation(SMALL).events())


def test_different_seed_gives_different_stream() -> None:
    other = SimulationConfig(members=400, agents=5, months=3, start=date(2020, 3, 1), seed=2)
    assert list(Simulation(SMALL).events()) != list(Simulation(other).events())


def test_expected_counts_match_the_stream() -> None:
    simulation = Simulation(SMALL)
    counts = simulation.expected_counts()
    assert counts.total == sum(1 for _ in simulation.events())
    assert counts.by_type["BusinessDayClosed"] == 31 + 30 + 31


def test_empty_population_still_closes_every_day() -> None:
    items = list(Simulation(SimulationConfig(members=0, agents=0, months=1)).events())
    assert [item.record_name for item in items] == ["BusinessDayClosed"] * 31  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "changes",
    [{"months": 0}, {"members": -1}, {"duplicate_share": 1.5}, {"segment_weights": {}}],
)
def test_nonsense_configuration_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"must|weights"):
        SimulationConfig(**changes)  # type: ignore[arg-type]
