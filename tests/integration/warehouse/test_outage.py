"""ClickHouse goes away under load: the sink retries with back-off and loses nothing."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from clickhouse_driver import Client

from consumers.bench import status_change
from jamsos.contracts.publisher import make_producer
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from jamsos.stack.clickhouse import ClickHouseServer
from jamsos.stack.local import LocalStack
from tests.integration.warehouse import dataset
from tests.integration.warehouse.helpers import publish, start_sink, wait_for

OUTAGE_SECONDS = 60  # as long as the acceptance asks: a minute without ClickHouse
LOAD = 20_000


def _changes(client: Client, db: str) -> int:
    return int(client.execute(f"SELECT uniqExact(change_id) FROM {db}.member_status_changes")[0][0])


def _publish_load(settings: Settings, serde: AvroSerde) -> None:
    producer = make_producer(settings, client_id="test-outage-load")
    try:
        for number in range(LOAD):
            record = status_change(number)
            value = serde.encode("member-status", "MemberStatusChanged", record)
            producer.send(
                settings.topic("member-status"), key=record["member_id"].encode(), value=value
            )
        producer.flush()
    finally:
        producer.close()


def test_clickhouse_outage_is_retried_and_caught_up(
    warehouse: tuple[Settings, Client], serde: AvroSerde, tmp_path: Path
) -> None:
    settings, client = warehouse
    db = settings.clickhouse_database
    data = dataset.build(members=20)
    log_path = tmp_path / "sink.log"
    process = start_sink(settings, log_path)
    server = ClickHouseServer(settings)
    try:
        publish(settings, serde, data)
        wait_for(lambda: _changes(client, db) == len(data.change_ids), 60, "the first batch")

        stopped_at = time.monotonic()
        assert server.process.stop()
        try:
            _publish_load(settings, serde)  # arrives while ClickHouse is down

            def failures() -> int:
                return log_path.read_text(errors="replace").count("ClickHouse insert failed")

            wait_for(
                lambda: failures() >= 3 and time.monotonic() - stopped_at >= OUTAGE_SECONDS,
                60,
                "the sink to retry through the outage",
            )
        finally:
            LocalStack(Settings.load()).up()

        wait_for(
            lambda: _changes(client, db) == len(data.change_ids) + LOAD,
            120,
            "the sink to catch up after the outage",
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    output = log_path.read_text(errors="replace")
    assert "retrying in 0.5s" in output  # back-off starts small ...
    assert "retrying in 1.0s" in output  # ... and grows
    members = client.execute(f"SELECT count() FROM {db}.members FINAL")[0][0]
    assert members == len(data.final_status) + LOAD  # load members are distinct from these
