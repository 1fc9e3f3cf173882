"""The rules compiled with mypyc (`jamsos.compiled_rules`): built for these sources, and
giving what the pure-Python rules give."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import jamsos.rules
import jamsos.rules.member
from jamsos import compiled_rules

REPLAY = textwrap.dedent(
    """
    import json, sys
    import jamsos.compiled_rules
    jamsos.compiled_rules.DISABLED = sys.argv[1] == "pure"
    from jamsos.rules import COMPILED
    from jamsos.rules.events import event_from_record
    from jamsos.rules.replay import replay
    from jamsos.simulation import Simulation, SimulationConfig
    from jamsos.simulation.items import SimulatedEvent

    simulation = Simulation(SimulationConfig(members=400, months=24, seed=3))
    events = [
        event_from_record(item.record_name, item.record)
        for item in simulation.events()
        if isinstance(item, SimulatedEvent)
    ]
    print(json.dumps({"compiled": COMPILED, "lines": replay(events)}, default=str))
    """
)


def _replay(mode: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", REPLAY, mode], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_compiled_rules_are_built_for_these_sources_and_run() -> None:
    assert jamsos.rules.COMPILED, (
        "the compiled rules are not built for these sources: run `make rules` "
        f"(its log: {compiled_rules.BUILD_ROOT / 'build.log'})"
    )
    assert jamsos.rules.member.__file__ is not None
    assert jamsos.rules.member.__file__.endswith(".so")
    assert str(compiled_rules.build_dir()) in jamsos.rules.member.__file__


def test_compiled_and_pure_rules_replay_a_simulation_alike() -> None:
    """Members, agents, agent periods and alerts of two years of 400 members."""
    compiled, pure = _replay("compiled"), _replay("pure")
    assert (compiled["compiled"], pure["compiled"]) == (True, False)
    kinds = {line["kind"] for line in pure["lines"]}
    assert {"member", "agent", "alert"} <= kinds
    assert compiled["lines"] == pure["lines"]


def test_an_edited_rule_is_not_run_compiled(tmp_path: Any, monkeypatch: Any) -> None:
    """Another source digest, another folder: compiled code never outlives its source."""
    before = compiled_rules.build_dir()
    rules = tmp_path / "rules"
    rules.mkdir()
    for path in compiled_rules.sources():
        (rules / path.name).write_bytes(path.read_bytes())
    monkeypatch.setattr(compiled_rules, "RULES_DIR", rules)
    assert compiled_rules.build_dir() == before
    (rules / "member.py").write_bytes((rules / "member.py").read_bytes() + b"\n# edited\n")
    assert compiled_rules.build_dir() != before
    path: list[str] = []
    assert compiled_rules.activate(path) is False
    assert path == []
