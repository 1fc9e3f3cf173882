"""Two workers, three `kill -9`s at random points of a 100k+ event feed, one of them long
enough for the killed worker's partitions to move: nothing lost, nothing doubled.

After the run every member's latest status equals `jamsos replay` over the same events,
every member's change chain on `member-status` is unbroken (each change starts where the
previous ended, sequences 1, 2, 3, …), and no change id appears under two sequence
numbers (a doubled change) nor a sequence number under two change ids.

Run with `make faults`, outside `make test`: on 2026-12-02 it passed 5 of 6 runs; in the
sixth the member states never came to equal replay's. Issue 13 tracks it; the test joins
`make test` once it always passes.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from jamsos.contracts.catalog import TOPICS
from jamsos.contracts.serde import AvroSerde
from jamsos.rules.events import event_from_record
from jamsos.rules.replay import replay
from jamsos.settings import Settings
from jamsos.simulation import SimulatedEvent, Simulation, SimulationConfig
from jamsos.simulation.publishing import publish_simulation
from jamsos.topics import ensure_topics
from tests.integration.kafka_helpers import topic_size
from tests.integration.processes import running, start, stop
from tests.integration.streams.test_worker import own_settings
from tests.integration.streams.test_worker_crash import broken_chains, changes_in_topic_order

CONFIG = SimulationConfig(members=20_000, agents=80, months=12, seed=23)


def _latest(changes: list[dict[str, Any]]) -> dict[str, tuple[str, int]]:
    return {c["member_id"]: (c["to_status"], c["arrears_months"]) for c in changes}


def test_three_kills_one_with_a_partition_move_lose_and_double_nothing(
    settings: Settings, serde: AvroSerde, tmp_path: Path
) -> None:
    settings = own_settings(settings)
    ensure_topics(settings, list(TOPICS))
    summary = publish_simulation(settings, Simulation(CONFIG))
    assert summary.total >= 100_000
    valid = [item for item in Simulation(CONFIG).events() if isinstance(item, SimulatedEvent)]
    expected = {
        line["member_id"]: (line["status"], line["arrears_months"])
        for line in replay(event_from_record(*item) for item in valid)
        if line["kind"] == "member"
    }
    chance = random.Random(CONFIG.seed)
    # Kill points, by status changes published so far; the last kill leaves the worker
    # down past the session timeout, so its partitions move to the other worker and back.
    points = sorted(chance.sample(range(10_000, 50_000, 1_000), 3))
    downtime = [1.0, 1.0, settings.worker_session_timeout * 2.5]

    with running(settings, "worker", "--name", "steady", log=tmp_path / "steady.log"):
        for round_, (point, down) in enumerate(zip(points, downtime, strict=True)):
            victim = start(settings, "worker", "--name", "victim", log=tmp_path / f"v{round_}.log")
            try:
                deadline = time.monotonic() + 600
                while topic_size(settings, "member-status") < point:
                    assert victim.poll() is None, (tmp_path / f"v{round_}.log").read_text()[-2000:]
                    assert time.monotonic() < deadline, f"no progress to {point} changes"
                    time.sleep(0.3)
            finally:
                stop(victim, kill=True)
            assert victim.returncode == -9
            time.sleep(down)
        with running(settings, "worker", "--name", "victim", log=tmp_path / "last.log"):
            # Until the states agree, or nothing new was published for a minute.
            size, quiet_since = -1, time.monotonic()
            while time.monotonic() - quiet_since < 60:
                if _latest(changes_in_topic_order(serde, settings)) == expected:
                    break
                if topic_size(settings, "member-status") != size:
                    size, quiet_since = topic_size(settings, "member-status"), time.monotonic()
                time.sleep(5)

    changes = changes_in_topic_order(serde, settings)
    latest = _latest(changes)
    wrong = {m: (latest.get(m), want) for m, want in expected.items() if latest.get(m) != want}
    assert wrong == {}, f"{len(wrong)} members differ from replay, e.g. {list(wrong.items())[:5]}"
    assert set(latest) == set(expected)
    sequences_of: dict[str, set[int]] = defaultdict(set)
    ids_at: dict[tuple[str, int], set[str]] = defaultdict(set)
    for change in changes:
        sequences_of[change["change_id"]].add(change["sequence"])
        ids_at[(change["member_id"], change["sequence"])].add(change["change_id"])
    doubled = {cid for cid, seqs in sequences_of.items() if len(seqs) > 1}
    assert doubled == set()
    clashes = {key for key, ids in ids_at.items() if len(ids) > 1}
    assert clashes == set()
    broken = broken_chains(changes)
    assert broken == []
