"""Publishing datasets, running the sink, and reading every table and view back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from clickhouse_driver import Client

from jamsos.contracts.publisher import make_producer
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import PROJECT_ROOT, Settings
from jamsos.warehouse.kpi import kpi_disagreements, refresh_kpis
from jamsos.warehouse.rows import TABLE_COLUMNS
from tests.integration.warehouse.dataset import Dataset

VIEWS = (
    "contributions",
    "kpi_active_members",
    "kpi_active_total",
    "kpi_status_daily",
    "agent_leaderboard",
    "lapsing_members",
)


def publish(settings: Settings, serde: AvroSerde, data: Dataset) -> None:
    """Produce every message of `data` (encoded records, or raw bytes as they are)."""
    producer = make_producer(settings, client_id="test-warehouse")
    try:
        futures = []
        for topic, items in data.messages.items():
            for record_name, key, record in items:
                value = record if record_name is None else serde.encode(topic, record_name, record)
                futures.append(producer.send(settings.topic(topic), key=key, value=value))
        producer.flush()
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until true or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    *processes: subprocess.Popen[bytes],
) -> bool:
    """Poll `condition` until true (True) or the deadline (False); a process of the
    pipeline that exits meanwhile fails the test at once."""
    deadline = time.monotonic() + timeout
    while not condition():
        for process in processes:
            assert process.poll() is None, f"a pipeline process exited while waiting for {what}"
        if time.monotonic() > deadline:
            return False
        time.sleep(1.0)
    return True


def snapshot(client: Client, database: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table read the documented way (FINAL) and every view, each sorted; the KPI
    tables refreshed first (a killed sink never made its last refresh) and checked against
    the register they count."""
    refresh_kpis(client, database)
    assert kpi_disagreements(client, database) == []
    answers = {}
    for table, columns in TABLE_COLUMNS.items():
        names = ", ".join(f"`{name}`" for name in columns)
        rows = client.execute(f"SELECT {names} FROM {database}.{table} FINAL")
        answers[table] = sorted(rows, key=repr)
    for view in VIEWS:
        answers[view] = sorted(client.execute(f"SELECT * FROM {database}.{view}"), key=repr)
    return answers


def raw_rows(client: Client, database: str) -> int:
    """Rows stored in all tables before collapsing (grows when messages are re-delivered)."""
    return sum(
        client.execute(f"SELECT count() FROM {database}.{table}")[0][0] for table in TABLE_COLUMNS
    )


def sink_command(settings: Settings, *extra: str) -> list[str]:
    return [
        str(Path(sys.executable).parent / "jamsos"),
        "-v",
        "sink",
        "--topic-prefix", settings.topic_prefix,
        "--database", settings.clickhouse_database,
        "--group", settings.sink_group,
        *extra,
    ]  # fmt: skip


def start_sink(settings: Settings, log_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    """`jamsos sink` as its own process (so it can be killed like a real one)."""
    env = dict(os.environ, JAMSOS_SINK_RETRY_MAX="2")
    log = log_path.open("wb")
    return subprocess.Popen(
        sink_command(settings, *extra), cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log
    )


def run_sink_until_idle(settings: Settings, log_path: Path, timeout: float = 120) -> str:
    """Run `jamsos sink --until-idle 3` to completion; returns its output."""
    process = start_sink(settings, log_path, "--until-idle", "3")
    try:
        code = process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
    output = log_path.read_text(errors="replace")
    assert code == 0, output[-3000:]
    return output
