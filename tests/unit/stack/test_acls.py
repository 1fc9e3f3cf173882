"""Each service's Kafka ACLs are what its process reads and writes, nothing more."""

from __future__ import annotations

import ssl

from kafka.admin import ACLOperation, ACLResourcePatternType, ResourceType

from jamsos.access import clickhouse_refusal, kafka_refusal
from jamsos.settings import Settings
from jamsos.stack.acls import service_grants
from jamsos.topics import INPUT_TOPICS, OUTPUT_TOPICS, SINK_TOPICS

SETTINGS = Settings(topic_prefix="run1.", sink_group="run1.sink")


def _topics(service: str, operation: ACLOperation) -> set[str]:
    return {
        name
        for kind, name, pattern, op in service_grants(SETTINGS, service)  # type: ignore[arg-type]
        if kind == ResourceType.TOPIC
        and op == operation
        and pattern == ACLResourcePatternType.LITERAL
    }


def test_the_worker_reads_inputs_writes_outputs_and_owns_only_its_internal_topics() -> None:
    assert _topics("worker", ACLOperation.READ) == {f"run1.{t}" for t in INPUT_TOPICS}
    assert _topics("worker", ACLOperation.WRITE) == {f"run1.{t}" for t in OUTPUT_TOPICS}
    prefixed = {
        name
        for kind, name, pattern, op in service_grants(SETTINGS, "worker")
        if pattern == ACLResourcePatternType.PREFIXED
    }
    assert prefixed == {"run1.jamsos-worker", "run1.worker."}
    groups = {
        name for kind, name, *_ in service_grants(SETTINGS, "worker") if kind == ResourceType.GROUP
    }
    assert groups == {"run1.jamsos-worker", "run1.jamsos-worker-members"}


def test_the_sink_only_reads_what_it_lands() -> None:
    grants = service_grants(SETTINGS, "sink")
    assert {op for *_, op in grants} == {ACLOperation.READ}
    assert _topics("sink", ACLOperation.READ) == {f"run1.{t}" for t in SINK_TOPICS}
    assert ("run1.sink") in {name for kind, name, *_ in grants if kind == ResourceType.GROUP}


def test_the_publisher_writes_inputs_and_reads_only_dead_letters() -> None:
    assert _topics("publisher", ACLOperation.WRITE) == {f"run1.{t}" for t in INPUT_TOPICS}
    assert _topics("publisher", ACLOperation.READ) == {"run1.dead-letters"}


def test_admin_has_no_acls_it_is_the_super_user() -> None:
    assert service_grants(SETTINGS, "admin") == []


def test_refusals_name_the_setting_to_fix() -> None:
    untrusted = ssl.SSLCertVerificationError("certificate verify failed")
    assert "JAMSOS_KAFKA_SSL_CA_FILE" in kafka_refusal(SETTINGS, "sink", untrusted)
    auth = RuntimeError("[Error 58] SaslAuthenticationFailed: Authentication failed")
    assert "JAMSOS_KAFKA_PASSWORD" in kafka_refusal(SETTINGS, "sink", auth)
    refused = ConnectionRefusedError(111, "refused")
    assert "JAMSOS_KAFKA_BOOTSTRAP" in kafka_refusal(SETTINGS, "sink", refused)
    wrong = RuntimeError("Code: 193. Wrong password for user jamsos_writer")
    assert "JAMSOS_CLICKHOUSE_WRITER_PASSWORD" in clickhouse_refusal(SETTINGS, "writer", wrong)
    tls = RuntimeError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    assert "JAMSOS_CLICKHOUSE_CA_FILE" in clickhouse_refusal(SETTINGS, "writer", tls)
