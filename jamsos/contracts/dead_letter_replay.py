"""Re-publishing dead letters to the topics they came from, once each.

A consumer group remembers how far the replay got: offsets are committed only after the
re-published messages were acknowledged by the broker, so a crash re-sends at most the
last batch (the worker applies a repeated `event_id` once, so that is harmless).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from kafka import KafkaConsumer

from jamsos.contracts.publisher import make_producer
from jamsos.contracts.registry import SchemaRegistry
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class ReplayResult:
    republished: int = 0
    skipped: int = 0


def replay_dead_letters(
    settings: Settings,
    *,
    group: str,
    error_types: set[str] | None = None,
    topics: set[str] | None = None,
    idle_timeout: float = 5.0,
) -> ReplayResult:
    """Re-publish the dead letters that match the filters (empty filter = all)."""
    serde = AvroSerde(SchemaRegistry(settings.registry_url))
    wanted_topics = {settings.topic(t) for t in topics or ()}
    consumer = KafkaConsumer(
        settings.topic("dead-letters"),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = make_producer(settings, client_id="jamsos-dead-letter-replay")
    result = ReplayResult()
    last_seen = time.monotonic()
    try:
        while time.monotonic() - last_seen < idle_timeout:
            batches = consumer.poll(timeout_ms=500, max_records=1000)
            if not batches:
                continue
            last_seen = time.monotonic()
            futures = []
            for messages in batches.values():
                for message in messages:
                    letter = serde.decode(message.value, "dead-letters").record
                    if (error_types and letter["error_type"] not in error_types) or (
                        wanted_topics and letter["topic"] not in wanted_topics
                    ):
                        result.skipped += 1
                        continue
                    futures.append(
                        producer.send(letter["topic"], key=letter["key"], value=letter["value"])
                    )
            producer.flush()
            for future in futures:
                future.get(timeout=60)
            result.republished += len(futures)
            consumer.commit()
    finally:
        producer.close()
        consumer.close()
    log.info("dead-letter replay: %s", result)
    return result
