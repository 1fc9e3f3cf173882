"""`kill -9` of the worker in the middle of a stream of 100k+ events loses and doubles nothing.

The final statuses must equal those the rules give for the same events (`jamsos replay`,
i.e. an uninterrupted, in-order run), and every member's status changes on the topic must
still form an unbroken chain (each change starts where the previous one ended): a change
lost in the crash would leave a gap.
"""

from __future__ import annotations

import time
from collections import defaultdict
from itertools import pairwise
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
from tests.integration.kafka_helpers import read_topic, topic_size
from tests.integration.processes import running, start, stop
from tests.integration.streams.test_worker import own_settings

CONFIG = SimulationConfig(members=20_000, agents=80, months=12, seed=11)


def changes_in_topic_order(serde: AvroSerde, settings: Settings) -> list[dict[str, Any]]:
    size = topic_size(settings, "member-status")
    messages = read_topic(settings, "member-status", expected=size, timeout=120)
    ordered = sorted(messages, key=lambda m: (m.partition, m.offset))
    return [serde.decode(m.value).record for m in ordered]


def broken_chains(changes: list[dict[str, Any]]) -> list[str]:
    """Members whose distinct changes, in topic order, do not form an unbroken chain."""
    chains: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen: set[str] = set()
    for change in changes:
        if change["change_id"] not in seen:
            seen.add(change["change_id"])
            chains[change["member_id"]].append(change)
    return [
        member
        for member, chain in chains.items()
        if [c["sequence"] for c in chain] != list(range(1, len(chain) + 1))
        or chain[0]["from_status"] is not None
        or any(b["from_status"] != a["to_status"] for a, b in pairwise(chain))
    ]


def test_kill_9_mid_stream_loses_and_doubles_nothing(
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

    log = tmp_path / "worker.log"
    first = start(settings, "worker", "--name", "crash", log=log)
    try:
        deadline = time.monotonic() + 300
        while topic_size(settings, "member-status") < 30_000 and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        stop(first, kill=True)  # kill -9, mid-stream
    assert first.returncode == -9
    killed_at = topic_size(settings, "member-status")
    assert killed_at >= 30_000

    with running(settings, "worker", "--name", "crash", log=log):
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            latest = {
                c["member_id"]: (c["to_status"], c["arrears_months"])
                for c in changes_in_topic_order(serde, settings)
            }
            if latest == expected:
                break
            time.sleep(5)

    changes = changes_in_topic_order(serde, settings)
    latest = {c["member_id"]: (c["to_status"], c["arrears_months"]) for c in changes}
    assert latest == expected
    broken = broken_chains(changes)
    assert broken == []
