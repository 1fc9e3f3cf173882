"""What the C `crc32c` package changes for kafka-python: the publisher and the sink side.

kafka-python checksums every record batch it writes (producer) and, with `check_crcs` (the
default), every batch it reads (consumer) with CRC-32C. Without the `crc32c` package it
uses its pure-Python table loop. Both implementations are measured in the same run, in
the same process, on the same messages: the record-batch module's checksum function is
swapped for the pure-Python one for the "pure" rounds (kafka-python picks its implementation
once, at import), so nothing else differs.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import kafka.record.default_records as default_records
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.record import util as record_util

from jamsos.connect import kafka_options
from jamsos.settings import Settings
from jamsos.topics import delete_topics_with_prefix, ensure_topics

MESSAGE_BYTES = 300
"""About the size of one Avro-encoded contract event."""


@dataclass(frozen=True)
class CrcFigures:
    """Per implementation: raw checksum MB/s, producer and consumer messages/s."""

    implementation: str
    checksum_mb_per_s: float
    publish_msgs_per_s: float
    consume_msgs_per_s: float


def _pure(data: memoryview | bytes) -> int:
    return int(record_util.crc32c_py(data))


@contextmanager
def _implementation(name: str) -> Iterator[Callable[[memoryview | bytes], int]]:
    """Record batches checksummed with `name` ("c" or "pure") inside the block."""
    if name == "c" and record_util.crc32c_c is None:
        raise RuntimeError("the crc32c package is not installed (pip install crc32c)")
    chosen: Callable[[memoryview | bytes], int] = record_util.crc32c_c if name == "c" else _pure
    saved = default_records.calc_crc32c
    default_records.calc_crc32c = chosen
    try:
        yield chosen
    finally:
        default_records.calc_crc32c = saved


def _checksum_rate(crc: Callable[[memoryview | bytes], int]) -> float:
    block = memoryview(os.urandom(1024 * 1024))
    rounds, started = 0, time.perf_counter()
    while time.perf_counter() - started < 1.0:
        crc(block)
        rounds += 1
    return rounds / (time.perf_counter() - started)


def _publish(settings: Settings, topic: str, messages: int) -> float:
    producer = KafkaProducer(
        **kafka_options(settings, "admin"), linger_ms=5, batch_size=512 * 1024, acks=1
    )
    value = os.urandom(MESSAGE_BYTES)
    started = time.perf_counter()
    for n in range(messages):
        producer.send(topic, key=str(n).encode(), value=value)
    producer.flush()
    took = time.perf_counter() - started
    producer.close()
    return messages / took


def _consume(settings: Settings, topic: str, messages: int) -> float:
    consumer = KafkaConsumer(
        **kafka_options(settings, "admin"),
        enable_auto_commit=False,
        check_crcs=True,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    seen, started = 0, time.perf_counter()
    while seen < messages:
        for batch in consumer.poll(timeout_ms=1000, max_records=10_000).values():
            seen += len(batch)
    took = time.perf_counter() - started
    consumer.close()
    return messages / took


def measure_crc(settings: Settings, messages: int) -> list[CrcFigures]:
    """Both implementations, pure first, on topics of their own (deleted afterwards)."""
    prefix = f"bench-crc-{uuid.uuid4().hex[:6]}."
    run = settings.model_copy(update={"topic_prefix": prefix})
    figures = []
    try:
        for name in ("pure", "c"):
            topic = f"crc-{name}"
            ensure_topics(run, [topic])
            with _implementation(name) as crc:
                figures.append(
                    CrcFigures(
                        implementation=name,
                        checksum_mb_per_s=round(_checksum_rate(crc), 1),
                        publish_msgs_per_s=round(_publish(run, run.topic(topic), messages)),
                        consume_msgs_per_s=round(_consume(run, run.topic(topic), messages)),
                    )
                )
    finally:
        delete_topics_with_prefix(run, prefix)
    return figures


def as_dicts(figures: list[CrcFigures]) -> list[dict[str, object]]:
    return [asdict(f) for f in figures]
