"""Sinks coming and going under load, and a ClickHouse outage during a rebalance.

Each test ends with the tables of its churned run compared with those of a calm run: one
sink, on its own consumer group and database, landing the same topics from the start. Any
row lost or counted twice by a rebalance, a kill or the outage shows as a difference.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_driver import Client

from consumers.bench import status_change
from jamsos.contracts.publisher import make_producer
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from jamsos.stack.clickhouse import ClickHouseServer
from jamsos.stack.local import LocalStack
from jamsos.warehouse.client import make_client
from jamsos.warehouse.migrations import migrate
from tests.integration.warehouse import dataset
from tests.integration.warehouse.helpers import (
    publish,
    run_sink_until_idle,
    snapshot,
    start_sink,
    wait_for,
)

LOAD = 12_000
"""Status changes published while the sinks churn (on top of the full dataset)."""
LOAD_SECONDS = 30.0
SESSION_TIMEOUT = 45.0
"""kafka-python's default session time-out: a killed sink's partitions move after it."""


class Load(threading.Thread):
    """Publishes `LOAD` status changes evenly over `LOAD_SECONDS`."""

    def __init__(self, settings: Settings, serde: AvroSerde) -> None:
        super().__init__(daemon=True)
        self.settings, self.serde = settings, serde
        self.error: BaseException | None = None

    def run(self) -> None:
        producer = make_producer(self.settings, client_id="test-churn-load")
        try:
            started = time.monotonic()
            for number in range(LOAD):
                record = status_change(number)
                value = self.serde.encode("member-status", "MemberStatusChanged", record)
                topic = self.settings.topic("member-status")
                producer.send(topic, key=record["member_id"].encode(), value=value)
                ahead = started + LOAD_SECONDS * number / LOAD - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            producer.flush()
        except BaseException as error:
            self.error = error
        finally:
            producer.close()


@pytest.fixture
def sinks(tmp_path: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """The test's sink processes by name; whatever still runs at the end is killed."""
    running: dict[str, subprocess.Popen[bytes]] = {}
    yield running
    for process in running.values():
        if process.poll() is None:
            process.kill()
            process.wait()


def changes(client: Client, db: str) -> int:
    return int(client.execute(f"SELECT uniqExact(change_id) FROM {db}.member_status_changes")[0][0])


def joined(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """A new sink process, once the group has given it partitions."""
    process = start_sink(settings, log)
    wait_for(lambda: "sink assigned" in log.read_text(), 120, f"the sink of {log.name} to join")
    return process


def stop_gracefully(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 0


def assert_equals_a_calm_run(settings: Settings, client: Client, tmp_path: Path) -> None:
    """A single sink on its own group and database lands the same topics; every table and
    view must give the same answers as the churned run's."""
    calm = settings.model_copy(
        update={
            "clickhouse_database": f"{settings.clickhouse_database}_calm",
            "sink_group": f"{settings.sink_group}-calm",
        }
    )
    admin = make_client(calm)
    try:
        migrate(admin, calm.clickhouse_database)
        run_sink_until_idle(calm, tmp_path / "calm-sink.log", timeout=300)
        churned = snapshot(client, settings.clickhouse_database)
        reference = snapshot(client, calm.clickhouse_database)
        assert churned.keys() == reference.keys()
        for table, rows in reference.items():
            assert churned[table] == rows, f"{table} differs from a calm run's"
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {calm.clickhouse_database}")
        admin.disconnect()


def finish(
    settings: Settings,
    client: Client,
    data: dataset.Dataset,
    sinks: dict[str, subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    """Wait for every change, stop the two sinks still running (neither may have exited)
    and compare the tables with a calm run's."""
    expected = len(data.change_ids) + LOAD
    db = settings.clickhouse_database
    wait_for(lambda: changes(client, db) == expected, 300, "every change to land")
    for name in ("a", "b"):
        assert sinks[name].poll() is None, f"sink {name} exited"
        stop_gracefully(sinks[name])
    assert_equals_a_calm_run(settings, client, tmp_path)


def test_three_sinks_join_leave_and_one_killed_land_every_row_once(
    warehouse: tuple[Settings, Client],
    serde: AvroSerde,
    tmp_path: Path,
    sinks: dict[str, subprocess.Popen[bytes]],
) -> None:
    settings, client = warehouse
    db = settings.clickhouse_database
    data = dataset.build()
    publish(settings, serde, data)
    load = Load(settings, serde)
    sinks["a"] = start_sink(settings, tmp_path / "sink-a.log")
    sinks["b"] = start_sink(settings, tmp_path / "sink-b.log")
    load.start()
    wait_for(lambda: changes(client, db) > 0, 120, "the first rows")

    sinks["c"] = joined(settings, tmp_path / "sink-c.log")
    stop_gracefully(sinks["c"])  # and leaves again

    os.kill(sinks["a"].pid, signal.SIGKILL)
    sinks["a"].wait()
    time.sleep(SESSION_TIMEOUT + 5)  # the group gives its partitions to the other sink
    sinks["a"] = joined(settings, tmp_path / "sink-a-again.log")

    load.join(timeout=300)
    assert load.error is None
    finish(settings, client, data, sinks, tmp_path)


def test_a_sink_leaving_and_rejoining_during_a_clickhouse_outage_loses_nothing(
    warehouse: tuple[Settings, Client],
    serde: AvroSerde,
    tmp_path: Path,
    sinks: dict[str, subprocess.Popen[bytes]],
) -> None:
    settings, client = warehouse
    db = settings.clickhouse_database
    data = dataset.build()
    sinks["a"] = start_sink(settings, tmp_path / "sink-a.log")
    log_b = tmp_path / "sink-b.log"
    sinks["b"] = start_sink(settings, log_b)
    publish(settings, serde, data)
    wait_for(lambda: changes(client, db) == len(data.change_ids), 120, "the dataset to land")

    server = ClickHouseServer(settings)
    stopped_at = time.monotonic()
    assert server.process.stop()
    try:
        load = Load(settings, serde)
        load.start()
        wait_for(
            lambda: "ClickHouse insert failed" in log_b.read_text(errors="replace"),
            120,
            "the second sink to meet the outage",
        )
        # Leaves with rows it could not land (SIGTERM: it tries once more, then exits
        # without committing them) and joins again while ClickHouse is still away.
        stop_gracefully(sinks["b"])
        sinks["b"] = joined(settings, tmp_path / "sink-b-again.log")
        load.join(timeout=300)
        assert load.error is None
        time.sleep(max(0.0, 60 - (time.monotonic() - stopped_at)))  # a minute's outage
    finally:
        LocalStack(settings).up()

    finish(settings, client, data, sinks, tmp_path)
