"""A group rebalance never costs the sink a row: rows it buffered for a partition it keeps
(or gets back) are read again, not skipped.

kafka-python keeps a consumer's position on a partition that a rebalance leaves with it, so
rows dropped at revocation would never be re-delivered to it; the sink must move back to
the first row it had not landed.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from clickhouse_driver import Client
from kafka import KafkaConsumer

from consumers.sink import BatchingSink
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from jamsos.topics import SINK_TOPICS
from jamsos.warehouse.kpi import refresh_kpis
from tests.integration.warehouse import dataset
from tests.integration.warehouse.helpers import publish, wait_for
from tests.integration.warehouse.test_sink import _assert_landed


def test_rows_buffered_across_two_rebalances_all_land(
    warehouse: tuple[Settings, Client], serde: AvroSerde, tmp_path: Path
) -> None:
    settings, client = warehouse
    data = dataset.build()
    publish(settings, serde, data)
    # Nothing is flushed until the sink stops: every row read is still buffered when the
    # group rebalances under it.
    holding = settings.model_copy(update={"sink_flush_seconds": 3600, "sink_batch_rows": 10**9})
    stop = threading.Event()
    sink = BatchingSink(holding, serde, stop=stop)
    runner = threading.Thread(target=sink.run, daemon=True)
    runner.start()
    total = sum(len(items) for topic, items in data.messages.items() if topic in SINK_TOPICS)
    wait_for(lambda: sink.stats.messages >= total, 60, "the sink to buffer every message")
    assert sink.stats.flushes == 0

    # A second member joins (the sink keeps some partitions, loses the others) and leaves
    # again (the sink gets them all back); it commits nothing.
    intruder = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.sink_group,
        enable_auto_commit=False,
    )
    intruder.subscribe([settings.topic(t) for t in SINK_TOPICS])
    deadline = time.monotonic() + 60
    while not intruder.assignment() and time.monotonic() < deadline:
        intruder.poll(timeout_ms=200, max_records=1)
        intruder.pause(*intruder.assignment())
    assert intruder.assignment(), "the second member was never given partitions"
    intruder.close(autocommit=False)
    time.sleep(5)  # the sink rejoins and reads its partitions again

    stop.set()
    runner.join(timeout=120)
    assert not runner.is_alive()
    # A bare BatchingSink runs no KPI refresh (`run_sink` does): refresh as the sink would.
    refresh_kpis(client, settings.clickhouse_database)
    _assert_landed(client, settings.clickhouse_database, data)
