"""The local stack is real: Avro through the broker, rows through ClickHouse, idempotent up."""

from __future__ import annotations

import base64
import io
import json
import socket
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import fastavro
from clickhouse_driver import Client
from kafka import KafkaAdminClient, KafkaProducer

from jamsos.settings import Settings
from jamsos.stack.kafka import KafkaServer
from jamsos.stack.local import LocalStack
from jamsos.stack.process import wait_until_ready
from jamsos.topics import ensure_topics
from tests.integration.kafka_helpers import read_topic

PAYMENT = fastavro.parse_schema(
    {
        "type": "record",
        "name": "Payment",
        "namespace": "test",
        "fields": [
            {"name": "payment_id", "type": "string"},
            {"name": "amount", "type": "long"},
            {"name": "paid_on", "type": {"type": "int", "logicalType": "date"}},
        ],
    }
)


def _avro(record: dict) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, PAYMENT, record)
    return out.getvalue()


def test_avro_messages_round_trip_through_the_real_broker(settings: Settings) -> None:
    ensure_topics(settings, ["smoke"])
    sent = [
        {"payment_id": f"p-{i}", "amount": 36_800 * (i + 1), "paid_on": date(2019, 1, 1 + i)}
        for i in range(20)
    ]
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    for record in sent:
        producer.send(
            settings.topic("smoke"), key=record["payment_id"].encode(), value=_avro(record)
        )
    producer.flush()
    producer.close()

    received = read_topic(settings, "smoke", expected=len(sent))

    decoded = [fastavro.schemaless_reader(io.BytesIO(m.value), PAYMENT) for m in received]
    assert sorted(decoded, key=lambda r: r["payment_id"]) == sorted(
        sent, key=lambda r: r["payment_id"]
    )
    assert {m.key.decode() for m in received} == {r["payment_id"] for r in sent}


def test_rows_are_written_and_read_in_the_real_clickhouse(clickhouse: Client) -> None:
    clickhouse.execute(
        "CREATE TABLE smoke (member_id String, paid_through Date, amount UInt64) "
        "ENGINE = MergeTree() ORDER BY member_id"
    )
    rows = [(f"m-{i}", date(2019, 1 + i % 12, 1), 36_800 * i) for i in range(1_000)]
    clickhouse.execute("INSERT INTO smoke (member_id, paid_through, amount) VALUES", rows)

    count, total = clickhouse.execute("SELECT count(), sum(amount) FROM smoke")[0]
    assert count == 1_000
    assert total == sum(r[2] for r in rows)
    server_version = clickhouse.execute("SELECT version()")[0][0]
    assert server_version.split(".")[0].isdigit()


def test_stack_up_twice_is_harmless(settings: Settings) -> None:
    stack = LocalStack(settings)
    before = {s.name: s.pid for s in stack.status()}
    after = {s.name: s.pid for s in stack.up()}
    assert after == before
    assert all(pid is not None for pid in after.values())


def test_status_json_prints_the_endpoints(settings: Settings) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "jamsos", "stack", "status", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["running"] is True
    assert status["endpoints"]["kafka"]["bootstrap_servers"] == settings.kafka_bootstrap
    assert status["endpoints"]["clickhouse"]["tcp_port"] == settings.clickhouse_port
    assert status["endpoints"]["schema_registry"]["url"] == settings.registry_url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_broker_whose_cluster_id_starts_with_a_dash_formats_and_starts(
    settings: Settings, tmp_path: Path
) -> None:
    """URL-safe base64 ids start with `-` one time in 64; the storage tool must not read
    such an id as an option. A second broker of its own state folder and ports proves it."""
    cluster_id = "-" + base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")[1:]
    own = settings.model_copy(
        update={
            "state_dir": tmp_path,
            "kafka_bootstrap": f"127.0.0.1:{_free_port()}",
            "kafka_controller_port": _free_port(),
            "kafka_cluster_id": cluster_id,
            "kafka_heap": "256m",
        }
    )
    broker = KafkaServer(own)
    broker.prepare()
    meta = (tmp_path / "kafka" / "data" / "meta.properties").read_text()
    assert f"cluster.id={cluster_id}" in meta
    broker.process.start(broker.argv())
    try:
        wait_until_ready(broker.process, broker.ready, own.stack_timeout)
    finally:
        broker.process.stop()
    assert broker.process.pid() is None


def test_topics_are_created_with_the_retention_a_year_of_replay_needs(settings: Settings) -> None:
    from kafka.admin import ConfigResource, ConfigResourceType

    ensure_topics(settings, ["retention-probe"])
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, settings.topic("retention-probe"))
        described = admin.describe_configs([resource])
    finally:
        admin.close()
    text = repr(described)
    expected = settings.topic_retention_days * 24 * 3600 * 1000
    assert "retention.ms" in text
    assert str(expected) in text


def test_the_registry_keeps_its_schema_ids_across_a_restart(settings: Settings) -> None:
    """Every message in Kafka names its schema by id: a registry that forgot its ids on a
    restart would make all of them undecodable."""
    from jamsos.contracts.registry import SchemaRegistry

    subject = f"{settings.topic_prefix}restart-probe-test.Probe"
    schema = json.dumps(
        {
            "type": "record",
            "name": "Probe",
            "namespace": "test",
            "fields": [{"name": "probe", "type": "string", "default": subject}],
        }
    )
    before = SchemaRegistry.from_settings(settings)
    schema_id = before.register(subject, schema)
    before.close()
    stack = LocalStack(settings)
    registry = next(server for server in stack.servers if server.name == "schema-registry")
    old_pid = registry.process.pid()
    assert registry.process.stop()
    stack.up()
    assert registry.process.pid() not in (None, old_pid)
    after = SchemaRegistry.from_settings(settings)
    try:
        assert json.loads(after.schema(schema_id)) == json.loads(schema)
        assert after.register(subject, schema) == schema_id
    finally:
        after.close()
