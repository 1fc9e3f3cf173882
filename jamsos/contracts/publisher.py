"""Publishing contract events to Kafka as Confluent Avro, for upstream systems and tools.

Delivery settings are the safe ones: `acks=all`, unlimited retries within the delivery
timeout, and the idempotent producer, so a retried send never duplicates a message.
Keys follow events.md (`member_id`, `agent_id`, none for `clock`), so a member's events
stay in one partition and in order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer
from kafka.producer.future import FutureRecordMetadata

from jamsos.connect import kafka_options
from jamsos.contracts.catalog import TOPICS, key_bytes_for, topic_for
from jamsos.contracts.errors import ContractError, ErrorType
from jamsos.contracts.json_form import from_json_line
from jamsos.contracts.registry import SchemaRegistry
from jamsos.contracts.serde import AvroSerde
from jamsos.contracts.validation import validate
from jamsos.settings import Settings

log = logging.getLogger(__name__)


def make_producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    """A kafka-python producer with the project's delivery guarantees."""
    config: dict[str, Any] = {
        **kafka_options(settings, "publisher"),
        "client_id": "jamsos-publisher",
        "acks": "all",
        "enable_idempotence": True,
        "max_in_flight_requests_per_connection": 5,
        "linger_ms": 20,
        "batch_size": 512 * 1024,
    }
    config.update(overrides)
    return KafkaProducer(**config)


class EventPublisher:
    """Validates, encodes and sends contract records to their topics."""

    def __init__(self, settings: Settings, serde: AvroSerde | None = None) -> None:
        self.settings = settings
        self.serde = serde or AvroSerde(SchemaRegistry.from_settings(settings))
        self.producer = make_producer(settings)

    def publish(self, record_name: str, record: dict[str, Any]) -> FutureRecordMetadata:
        """Validate and send one record; raises ContractError (nothing sent) when invalid."""
        validate(record_name, record)
        return self.send_valid(record_name, record)

    def send_valid(self, record_name: str, record: dict[str, Any]) -> FutureRecordMetadata:
        """Send a record already known to be valid (the simulator's hot path)."""
        topic = topic_for(record_name)
        value = self.serde.encode(topic, record_name, record)
        return self.producer.send(
            self.settings.topic(topic), key=key_bytes_for(record_name, record), value=value
        )

    def send_raw(self, topic: str, key: bytes | None, value: bytes) -> FutureRecordMetadata:
        """Send bytes as they are to contract topic `topic` (dead-letter replays, tests)."""
        return self.producer.send(self.settings.topic(topic), key=key, value=value)

    def flush(self) -> None:
        self.producer.flush()

    def close(self) -> None:
        self.producer.flush()
        self.producer.close()


@dataclass
class PublishReport:
    """What `publish_json_lines` did: how many were sent, which lines were refused and why."""

    sent: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def parse_event_line(topic: str, line: str) -> tuple[str, dict[str, Any]]:
    """One JSON-form line for `topic` as `(record name, record)`, or ContractError."""
    record_name, record = from_json_line(line)
    if record_name not in TOPICS[topic].record_names:
        raise ContractError(
            ErrorType.UNKNOWN_SCHEMA, f"type: {record_name} does not belong on topic {topic}"
        )
    validate(record_name, record)
    return record_name, record


def publish_json_lines(
    publisher: EventPublisher, topic: str, lines: Iterable[str]
) -> PublishReport:
    """Publish the valid JSON-form lines to `topic`; report invalid ones by line number.

    Every line is checked before anything is sent, so a file with bad lines never leaves
    a half-published batch behind when the caller decides to stop on errors.
    """
    if topic not in TOPICS or TOPICS[topic].direction != "input":
        raise ValueError(f"{topic!r} is not an input topic ({', '.join(_input_topics())})")
    report = PublishReport()
    valid: list[tuple[str, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            valid.append(parse_event_line(topic, line))
        except ContractError as error:
            report.rejected.append((number, f"{error.error_type}: {error}"))
    futures = [publisher.send_valid(name, record) for name, record in valid]
    publisher.flush()
    for future in futures:
        future.get(timeout=60)  # raises if the broker did not take it
    report.sent = len(futures)
    return report


def _input_topics() -> list[str]:
    return [name for name, spec in TOPICS.items() if spec.direction == "input"]
