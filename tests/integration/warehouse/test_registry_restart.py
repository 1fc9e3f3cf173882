"""A schema-registry restart in the middle of a run: waited out, never dead-lettered.

The worker and the sink start with empty schema caches and the registry is stopped under
them, so both must decode without it for a while. Neither may turn the messages it cannot
decode yet into dead letters (they are valid), drop them or exit; once the registry is
back, everything published before and after the outage lands, and ClickHouse agrees with
`jamsos replay` over the same events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clickhouse_driver import Client

from jamsos.contracts.catalog import TOPICS
from jamsos.contracts.publisher import EventPublisher
from jamsos.contracts.serde import AvroSerde
from jamsos.demo.crosscheck import CrossCheck, cross_check
from jamsos.rules.events import event_from_record
from jamsos.rules.replay import replay
from jamsos.settings import Settings
from jamsos.stack.local import LocalStack
from jamsos.topics import ensure_topics
from jamsos.warehouse.kpi import refresh_kpis
from tests.integration.kafka_helpers import topic_size
from tests.integration.processes import start, stop
from tests.integration.streams.records import closed, enrolled, paid
from tests.integration.warehouse.helpers import wait_until

OUTAGE_SIGN = "schema registry unavailable"
"""What the worker and the sink log while they wait for the registry."""


def feed(first: int, last: int) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    for i in range(first, last):
        agent = f"AG-{i % 3}"
        events.append(enrolled(f"R{i}", "2019-01-05", agent=agent))
        events.append(paid(f"R{i}", "2019-01-07", months=1 + i % 3, collector=agent))
    return events


def test_a_registry_restart_mid_run_dead_letters_nothing_and_loses_nothing(
    warehouse: tuple[Settings, Client], serde: AvroSerde, tmp_path: Path
) -> None:
    settings, client = warehouse
    ensure_topics(settings, list(TOPICS))
    before, after = feed(0, 40), [*feed(40, 80), closed("2019-03-16")]
    publisher = EventPublisher(settings, serde)
    for name, record in before:
        publisher.send_valid(name, record)
    publisher.flush()

    stack = LocalStack(settings)
    registry = next(server for server in stack.servers if server.name == "schema-registry")
    logs = {"worker": tmp_path / "worker.log", "sink": tmp_path / "sink.log"}
    worker = start(settings, "worker", "--name", "w1", log=logs["worker"])
    sink = start(settings, "sink", log=logs["sink"])
    try:
        assert registry.process.stop()
        try:
            met = wait_until(
                lambda: all(OUTAGE_SIGN in path.read_text() for path in logs.values()),
                240,
                "the worker and the sink to meet the outage",
                worker,
                sink,
            )
        finally:
            stack.up()
        assert met, "the worker or the sink never waited for the registry"
        for name, record in after:
            if name == "BusinessDayClosed":
                publisher.flush()  # the day closes after its events are in
            publisher.send_valid(name, record)
        publisher.close()
        expected = replay([event_from_record(name, record) for name, record in before + after])
        check = CrossCheck()

        db = settings.clickhouse_database

        def agrees() -> bool:
            nonlocal check
            refresh_kpis(client, db)
            check = cross_check(client, expected, db)
            payments = client.execute(f"SELECT uniqExact(payment_id) FROM {db}.contributions")
            return check.passed and payments == [(80,)]

        wait_until(agrees, 300, "ClickHouse to agree with replay", worker, sink)
        assert check.differences == []
        assert check.members == 80
        landed = client.execute(f"SELECT uniqExact(payment_id) FROM {db}.contributions")
        assert landed == [(80,)], "payments the sink lost"
        assert worker.poll() is None, "the worker exited"
        assert sink.poll() is None, "the sink exited"
    finally:
        stop(worker)
        stop(sink)
    assert topic_size(settings, "dead-letters") == 0
