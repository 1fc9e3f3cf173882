"""Reading topics in tests with a deadline instead of sleeps."""

from __future__ import annotations

import time
import uuid

from kafka import KafkaConsumer
from kafka.consumer.fetcher import ConsumerRecord

from jamsos.settings import Settings


def read_topic(
    settings: Settings, topic: str, expected: int, timeout: float = 30.0
) -> list[ConsumerRecord]:
    """Read `topic` from the beginning until `expected` messages arrived or the deadline.

    Returns what arrived (callers assert on the count, so a shortfall fails loudly).
    """
    consumer = KafkaConsumer(
        settings.topic(topic),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"test-reader-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    return records


def topic_size(settings: Settings, topic: str) -> int:
    """How many messages contract topic `topic` holds (sum of its partitions' end offsets)."""
    from kafka import TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        name = settings.topic(topic)
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()
