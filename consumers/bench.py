"""Sink throughput: rows per second from Kafka into ClickHouse.

`measure_sink_throughput` publishes `rows` MemberStatusChanged records (two table rows
each: `members` and `member_status_changes`) to a fresh topic prefix, migrates a fresh
database, then runs one sink until the topic is drained. The clock runs from the sink's
first message to ClickHouse accepting its last batch, so joining the consumer group and
publishing are not counted. The database and topics are left for inspection; the caller
removes them (names are in the result).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from consumers.sink import run_sink
from jamsos.contracts.publisher import make_producer
from jamsos.contracts.registry import SchemaRegistry
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from jamsos.topics import SINK_TOPICS, ensure_topics
from jamsos.warehouse.client import make_client
from jamsos.warehouse.migrations import migrate

log = logging.getLogger(__name__)

STATUSES = ("NEW", "ACTIVE", "GRACE", "LAPSED")


@dataclass(frozen=True)
class SinkThroughput:
    """One measurement: messages and table rows landed, seconds taken, rows per second."""

    messages: int
    rows: int
    seconds: float
    topic_prefix: str
    database: str

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def messages_per_second(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


def status_change(number: int) -> dict[str, Any]:
    """A plausible MemberStatusChanged for member `number % 50,000` (several per member)."""
    member = number % 50_000
    as_of = date(2019, 1, 1) + timedelta(days=number // 50_000)
    return {
        "member_id": f"M{member:09d}",
        "from_status": STATUSES[(number + 3) % 4] if number >= 50_000 else None,
        "to_status": STATUSES[number % 4],
        "as_of": as_of,
        "reason": "TIME" if number >= 50_000 else "ENROLLED",
        "paid_through": date(2019, 1, 1) if number % 3 else None,
        "arrears_months": number % 5,
        "segment": ("PU", "BPU", "JAKON", "PMI")[member % 4],
        "branch_code": f"B{member % 300:03d}",
        "region_code": str(11 + member % 34),
        "agent_id": f"A{member % 4000:04d}" if member % 2 else None,
        "nik_token": f"{member:064x}",
        "change_id": f"{number:032x}",
        "enrolled_on": date(2019, 1, 1),
    }


def measure_sink_throughput(
    settings: Settings, rows: int = 200_000, *, batch_rows: int | None = None
) -> SinkThroughput:
    """Publish `rows` status changes, land them with one sink, and time the landing."""
    run = uuid.uuid4().hex[:8]
    settings = settings.model_copy(
        update={
            "topic_prefix": f"bench-{run}.",
            "clickhouse_database": f"jamsos_bench_{run}",
            "sink_group": f"jamsos-sink-bench-{run}",
            "sink_batch_rows": batch_rows or max(settings.sink_batch_rows, 50_000),
        }
    )
    client = make_client(settings)
    try:
        migrate(client, settings.clickhouse_database)
    finally:
        client.disconnect()
    ensure_topics(settings, SINK_TOPICS)
    registry = SchemaRegistry.from_settings(settings)
    try:
        serde = AvroSerde(registry)
        _publish(settings, serde, rows)
        stats = run_sink(settings, serde, until_idle=2.0)
    finally:
        registry.close()
    if stats.first_message_at is None or stats.last_flush_at is None:
        raise RuntimeError("the sink landed nothing")
    result = SinkThroughput(
        messages=stats.messages,
        rows=stats.rows_total,
        seconds=stats.last_flush_at - stats.first_message_at,
        topic_prefix=settings.topic_prefix,
        database=settings.clickhouse_database,
    )
    log.info(
        "sink landed %d rows (%d messages) in %.2fs: %.0f rows/s",
        result.rows,
        result.messages,
        result.seconds,
        result.rows_per_second,
    )
    return result


def _publish(settings: Settings, serde: AvroSerde, count: int) -> None:
    producer = make_producer(settings, client_id="jamsos-bench")
    topic = settings.topic("member-status")
    try:
        for number in range(count):
            record = status_change(number)
            value = serde.encode("member-status", "MemberStatusChanged", record)
            producer.send(topic, key=record["member_id"].encode(), value=value)
        producer.flush()
    finally:
        producer.close()
