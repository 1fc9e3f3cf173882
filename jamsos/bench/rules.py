"""The member step offline: µs per input event, rules compiled with mypyc against pure Python.

The worker's member processor (rules, stored-member JSON, Avro of the outputs, the due
index in memory) handles a simulated feed with no broker and no disk, once with the
compiled rules and once with the pure-Python ones (`jamsos.compiled_rules`), each in a
child process of its own, alternating, so both face the same machine. Messages are
encoded before the clock starts; the figure is the best of the rounds (the least
disturbed by the rest of the machine).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

MODES = ("python", "compiled")


@dataclass(frozen=True)
class StepRound:
    mode: str
    compiled: bool
    events: int
    us_per_event: float


def time_member_step(members: int, months: int) -> tuple[int, float]:
    """(events, µs per event) of one pass of the member processor over a simulated feed."""
    from jamsos.contracts.catalog import topic_for
    from jamsos.contracts.memory_registry import MemorySchemaRegistry
    from jamsos.contracts.serde import AvroSerde
    from jamsos.simulation import Simulation, SimulationConfig
    from jamsos.simulation.items import SimulatedEvent
    from streams.member_processor import MemberProcessor

    serde = AvroSerde(MemorySchemaRegistry())  # type: ignore[arg-type]
    simulation = Simulation(SimulationConfig(members=members, months=months, seed=7))
    messages = [
        serde.encode(topic_for(item.record_name), item.record_name, item.record)
        for item in simulation.events()
        if isinstance(item, SimulatedEvent) and not item.record_name.startswith("Agent")
    ]
    processor = MemberProcessor(serde, nik_secret=b"bench-nik-secret-of-32-bytes....")
    began = time.perf_counter()
    for offset, value in enumerate(messages):
        processor.handle(0, offset, value)
    return len(messages), (time.perf_counter() - began) / len(messages) * 1e6


def _child(mode: str, members: int, months: int) -> None:
    import jamsos.compiled_rules

    jamsos.compiled_rules.DISABLED = mode == "python"
    import jamsos.rules

    events, us = time_member_step(members, months)
    print(json.dumps({"compiled": jamsos.rules.COMPILED, "events": events, "us": us}))


def measure_rules(members: int, months: int, runs: int) -> list[StepRound]:
    """`runs` rounds of each mode, alternating which goes first."""
    rounds = []
    for run in range(runs):
        for mode in MODES if run % 2 == 0 else tuple(reversed(MODES)):
            done = subprocess.run(
                [sys.executable, "-m", "jamsos.bench.rules", mode, str(members), str(months)],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            rounds.append(StepRound(mode, figures["compiled"], figures["events"], figures["us"]))
    return rounds


def summary(rounds: list[StepRound]) -> dict[str, Any]:
    best = {mode: min(r.us_per_event for r in rounds if r.mode == mode) for mode in MODES}
    return {
        "python_us_per_event": round(best["python"], 1),
        "compiled_us_per_event": round(best["compiled"], 1),
        "compiled_ran": all(r.compiled == (r.mode == "compiled") for r in rounds),
        "speedup": round(best["python"] / best["compiled"], 2),
        "median_python": round(
            statistics.median(r.us_per_event for r in rounds if r.mode == "python"), 1
        ),
        "median_compiled": round(
            statistics.median(r.us_per_event for r in rounds if r.mode == "compiled"), 1
        ),
    }


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
