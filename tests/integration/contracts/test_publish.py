"""Publishing JSON-form events: valid lines reach Kafka as Avro, invalid ones never do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from jamsos.contracts.catalog import load_catalog
from jamsos.contracts.json_form import from_json_line, to_json_form
from jamsos.contracts.publisher import EventPublisher, publish_json_lines
from jamsos.contracts.registry import SchemaRegistry
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from jamsos.topics import ensure_topics
from tests.integration.kafka_helpers import read_topic, topic_size
from tests.unit.contracts.samples import sample


def _line(record_name: str, **changes: object) -> str:
    return json.dumps(
        {"type": record_name, **to_json_form(record_name, sample(record_name, **changes))}
    )


def test_json_file_reaches_kafka_as_avro_and_reads_back_identical(settings: Settings) -> None:
    ensure_topics(settings, ["contributions"])
    good = [
        _line("ContributionPaid", payment_id=f"PAY-{i}", event_id=f"ev-{i}", months=1 + i % 12)
        for i in range(50)
    ]
    good.append(_line("ContributionReversed", payment_id="PAY-3", event_id="ev-r3"))
    bad = [
        _line("ContributionPaid", months=0),  # a rule broken
        _line("ContributionPaid", amount=-5),  # a rule broken
        "{not json",  # not JSON at all
        _line("MemberEnrolled"),  # wrong topic for the type
        json.dumps({"type": "ContributionPaid", "member_id": "M-1"}),  # fields missing
    ]
    lines = [*good[:20], bad[0], *good[20:40], *bad[1:], *good[40:]]
    publisher = EventPublisher(settings)
    try:
        report = publish_json_lines(publisher, "contributions", lines)
    finally:
        publisher.close()

    assert report.sent == len(good)
    assert [number for number, _ in report.rejected] == [21, 42, 43, 44, 45]
    assert "months" in report.rejected[0][1]

    assert topic_size(settings, "contributions") == len(good)  # no invalid line got through
    messages = read_topic(settings, "contributions", expected=len(good), timeout=15)
    # Read with nothing but the registry and the schemas: a brand-new serde.
    reader = AvroSerde(SchemaRegistry.from_settings(settings), load_catalog())
    received = sorted(
        (reader.decode(m.value, "contributions").record for m in messages),
        key=lambda r: r["event_id"],
    )
    expected = sorted((from_json_line(line)[1] for line in good), key=lambda r: r["event_id"])
    assert received == expected
    assert {m.key for m in messages} == {b"M-0001"}


def test_message_from_confluent_kafka_serializer_is_decoded(
    settings: Settings, serde: AvroSerde
) -> None:
    record_type = load_catalog().get("ContributionPaid")
    confluent = SchemaRegistryClient({"url": settings.registry_url})
    serializer = AvroSerializer(
        confluent,
        record_type.schema_str,
        conf={
            "auto.register.schemas": True,
            "subject.name.strategy": lambda ctx, name: f"{ctx.topic}-{name}",
        },
    )
    record = sample("ContributionPaid", payment_id="PAY-confluent")
    data = serializer(record, SerializationContext("contributions", MessageField.VALUE))

    decoded = serde.decode(data, "contributions")

    assert data[0] == 0
    assert decoded.record_name == "ContributionPaid"
    assert decoded.record == record


def test_publish_command_reports_sent_and_rejected_lines(
    settings: Settings, tmp_path: Path
) -> None:
    events = tmp_path / "agents.jsonl"
    events.write_text(
        "\n".join(
            [
                _line("AgentRegistered", agent_id="AG-7", event_id="a1"),
                _line("AgentRegistered", agent_id="", event_id="a2"),
                _line("AgentStatusChanged", agent_id="AG-7", event_id="a3"),
            ]
        )
        + "\n"
    )
    env = {"JAMSOS_TOPIC_PREFIX": settings.topic_prefix}
    result = subprocess.run(
        [sys.executable, "-m", "jamsos", "publish", "agents", str(events)],
        capture_output=True,
        text=True,
        check=False,
        env={**_environ(), **env},
    )
    assert result.returncode == 2, result.stderr
    assert "sent 2 events" in result.stdout
    assert "line 2: VALIDATION_ERROR: agent_id" in result.stderr
    assert topic_size(settings, "agents") == 2


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_publisher_refuses_an_invalid_record_and_sends_nothing(settings: Settings) -> None:
    import pytest

    from jamsos.contracts.errors import ContractError

    ensure_topics(settings, ["clock"])
    before = topic_size(settings, "clock")
    publisher = EventPublisher(settings)
    try:
        with pytest.raises(ContractError, match="event_id"):
            publisher.publish("BusinessDayClosed", sample("BusinessDayClosed", event_id=" "))
        publisher.publish("BusinessDayClosed", sample("BusinessDayClosed")).get(timeout=30)
    finally:
        publisher.close()
    assert topic_size(settings, "clock") == before + 1
