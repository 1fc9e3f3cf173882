"""A deterministic simulator of the agency's upstream systems, for demos and cross-checks.

``Simulation(SimulationConfig(...)).events()`` streams enrolments, payments, reversals,
terminations, agent events and daily closes in publication order, with the flaws real
feeds have (duplicates, late arrivals, payments before enrolments, broken messages).
"""

from jamsos.simulation.config import SimulationConfig
from jamsos.simulation.items import InvalidEvent, Item, RawMessage, SimulatedEvent
from jamsos.simulation.simulation import Simulation
from jamsos.simulation.summary import SimulationSummary

__all__ = [
    "InvalidEvent",
    "Item",
    "RawMessage",
    "SimulatedEvent",
    "Simulation",
    "SimulationConfig",
    "SimulationSummary",
]
