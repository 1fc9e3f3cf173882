"""Re-publishing dead letters to the input topics they came from, once each.

A consumer group remembers how far the replay got: offsets are committed only after the
re-published messages were acknowledged by the broker, so a crash re-sends at most the
last batch (the worker applies a repeated `event_id` once, so that is harmless).

A replay only ever writes to this deployment's *input* topics, where the intake checks
everything again (`replay_topic`). A letter from one of the worker's inboxes (a poison
message, `PROCESSING_ERROR`) goes back to the input topic of its record type; a letter
naming any other topic (an output, another prefix's topic, a made-up name) is skipped:
writing there would bypass the intake.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass

from kafka import KafkaConsumer

from jamsos.connect import kafka_options
from jamsos.contracts.catalog import input_topics, topic_for
from jamsos.contracts.errors import ContractError, ErrorType
from jamsos.contracts.publisher import make_producer
from jamsos.contracts.registry import SchemaRegistry
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from jamsos.topics import INBOXES, RETIRED_MEMBER_INBOX

log = logging.getLogger(__name__)


@dataclass
class ReplayResult:
    republished: int = 0
    skipped: int = 0
    refused: int = 0
    """Letters that matched the filters but name no input topic to go back to."""


def replay_topic(settings: Settings, serde: AvroSerde, letter: dict[str, object]) -> str | None:
    """The physical input topic a dead letter is replayed to, or None when there is none."""
    inputs = {settings.topic(name) for name in input_topics()}
    topic = letter["topic"]
    if topic in inputs:
        return str(topic)
    if topic not in {settings.topic(name) for name in (*INBOXES, RETIRED_MEMBER_INBOX)}:
        return None
    value = letter["value"]
    try:
        record_name = serde.decode(value if isinstance(value, bytes) else None).record_name
    except ContractError:
        return None  # a share update (worker-made JSON), or bytes nobody can read
    target = settings.topic(topic_for(record_name))
    return target if target in inputs else None


def replay_key(serde: AvroSerde, letter: dict[str, object]) -> bytes | None:
    """The key a dead letter is replayed with: its own, except for a `MISROUTED` member
    event, which goes back keyed by its `member_id` (so onto its member's partition)."""
    key = letter["key"]
    if letter["error_type"] == ErrorType.MISROUTED and isinstance(letter["value"], bytes):
        with contextlib.suppress(ContractError):
            member_id = serde.decode(letter["value"]).record.get("member_id")
            if isinstance(member_id, str):
                return member_id.encode()
    return key if isinstance(key, bytes) else None


def replay_dead_letters(
    settings: Settings,
    *,
    group: str,
    error_types: set[str] | None = None,
    topics: set[str] | None = None,
    idle_timeout: float = 5.0,
) -> ReplayResult:
    """Re-publish the dead letters that match the filters (empty filter = all)."""
    serde = AvroSerde(SchemaRegistry.from_settings(settings))
    wanted_topics = {settings.topic(t) for t in topics or ()}
    consumer = KafkaConsumer(
        settings.topic("dead-letters"),
        **kafka_options(settings, "publisher"),
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
                    target = replay_topic(settings, serde, letter)
                    if target is None:
                        log.warning(
                            "not replaying %s: %s is not an input topic of this deployment",
                            letter["dead_letter_id"],
                            letter["topic"],
                        )
                        result.refused += 1
                        continue
                    key = replay_key(serde, letter)
                    futures.append(producer.send(target, key=key, value=letter["value"]))
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
