"""The public face of the simulator: a configuration, its event stream and its counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from jamsos.simulation.config import SimulationConfig
from jamsos.simulation.engine import SimulationRun
from jamsos.simulation.items import Item
from jamsos.simulation.jsonl import write_jsonl
from jamsos.simulation.summary import SimulationSummary


class Simulation:
    """The agency's upstream systems over a period, as a deterministic message stream."""

    def __init__(self, config: SimulationConfig | None = None) -> None:
        self.config = config or SimulationConfig()

    def events(self, summary: SimulationSummary | None = None) -> Iterator[Item]:
        """A fresh stream of every message in publication order.

        ``summary``, when given, is filled as the stream is consumed, so one pass both
        publishes and counts.
        """
        return SimulationRun(self.config, summary or SimulationSummary()).items()

    def expected_counts(self) -> SimulationSummary:
        """What :meth:`events` will yield, counted by a full (unpublished) pass."""
        summary = SimulationSummary()
        for _ in self.events(summary):
            pass
        return summary

    def write_jsonl(self, path: Path | str) -> SimulationSummary:
        """Write the stream's records as a JSON-form ``.jsonl`` file for ``jamsos replay``."""
        summary = SimulationSummary()
        with Path(path).open("w", encoding="utf-8") as out:
            write_jsonl(self.events(summary), out)
        return summary
