"""A worker and a sink serve `/metrics`, `/healthz` and `/readyz` while they run; the
counters match what was published and landed, and a worker's readiness drops while its
group rebalances. Processing is at least once: a message read again after a rebalance
(a sink's group settling at start, say) counts again, so the counters are at least the
published and landed figures, and what the worker says it sent is on the topics."""

from __future__ import annotations

import re
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from clickhouse_driver import Client

from jamsos.settings import Settings
from jamsos.simulation import Simulation, SimulationConfig
from jamsos.simulation.publishing import publish_simulation
from jamsos.topics import INPUT_TOPICS, SINK_TOPICS
from tests.integration.kafka_helpers import topic_size
from tests.integration.processes import start, stop


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()
    except OSError:  # not listening yet
        return 0, ""


def _samples(text: str, name: str) -> dict[str, float]:
    """`labels -> value` of metric `name` (counters: its `_total` samples)."""
    found = {}
    for line in text.splitlines():
        match = re.match(rf"^{name}(?:_total)?(\{{[^}}]*\}})? (\S+)$", line)
        if match:
            found[match[1] or ""] = float(match[2])
    return found


def _wait(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)
    pytest.fail(f"not within {timeout:.0f}s: {what}")


def test_metrics_match_what_was_published_and_readiness_follows_rebalances(
    warehouse: tuple[Settings, Client], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, client = warehouse
    summary = publish_simulation(
        settings, Simulation(SimulationConfig(members=300, agents=6, months=2, seed=11))
    )
    published = sum(topic_size(settings, topic) for topic in INPUT_TOPICS)
    assert published == summary.total
    worker_port, second_port, sink_port = _free_port(), _free_port(), _free_port()
    monkeypatch.setenv("JAMSOS_METRICS_PORT", str(worker_port))
    worker = start(settings, "worker", "--name", "m1", log=tmp_path / "worker-1.log")
    monkeypatch.setenv("JAMSOS_METRICS_PORT", str(sink_port))
    sink = start(settings, "sink", log=tmp_path / "sink.log")
    second = None
    try:

        def intake_done() -> bool:
            if _get(worker_port, "/readyz")[0] != 200:
                return False
            inputs = _samples(_get(worker_port, "/metrics")[1], "jamsos_worker_inputs")
            return sum(inputs.values()) >= published

        _wait(intake_done, 180, "the worker's intake counted every published message")
        landed = sum(topic_size(settings, topic) for topic in SINK_TOPICS)

        def sink_done() -> bool:
            text = _get(sink_port, "/metrics")[1]
            return sum(_samples(text, "jamsos_sink_messages").values()) >= landed

        _wait(sink_done, 180, "the sink counted every message of its topics")
        worker_text = _get(worker_port, "/metrics")[1]
        assert sum(_samples(worker_text, "jamsos_worker_inputs").values()) >= published
        events = _samples(worker_text, "jamsos_worker_events")
        assert events['{agent="members"}'] > 0
        emitted = _samples(worker_text, "jamsos_worker_emitted")
        assert 0 < emitted['{topic="member-status"}'] <= topic_size(settings, "member-status")
        assert 0 < emitted['{topic="dead-letters"}'] <= topic_size(settings, "dead-letters")
        assert sum(_samples(worker_text, "jamsos_worker_dead_letters").values()) > 0
        assert _samples(worker_text, "jamsos_worker_business_date_seconds")

        def rows_done() -> bool:  # messages are counted when read, rows once flushed
            rows = _samples(_get(sink_port, "/metrics")[1], "jamsos_sink_rows")
            members = client.execute("SELECT uniqExact(member_id) FROM members")[0][0]
            return 0 < members <= rows.get('{table="members"}', 0)

        _wait(rows_done, 60, "the sink to count the member rows it landed")
        sink_text = _get(sink_port, "/metrics")[1]
        assert sum(_samples(sink_text, "jamsos_sink_messages").values()) >= landed
        assert _get(sink_port, "/healthz")[0] == 200
        assert _get(sink_port, "/readyz")[0] == 200
        assert _get(worker_port, "/healthz")[0] == 200

        # A second worker joins: the first one's readiness drops while they rebalance.
        monkeypatch.setenv("JAMSOS_METRICS_PORT", str(second_port))
        second = start(settings, "worker", "--name", "m2", log=tmp_path / "worker-2.log")
        seen: set[int] = set()

        def flipped_and_back() -> bool:
            seen.add(_get(worker_port, "/readyz")[0])
            return 503 in seen and _get(worker_port, "/readyz")[0] == 200

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not flipped_and_back():
            time.sleep(0.05)
        assert 503 in seen, "the first worker stayed ready through the rebalance"
        assert _get(worker_port, "/readyz")[0] == 200
    finally:
        for process in (second, sink, worker):
            if process is not None:
                stop(process)
