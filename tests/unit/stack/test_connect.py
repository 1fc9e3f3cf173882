"""How each service connects (`jamsos.connect`): settings win; the secured local stack
fills in its own CA and per-service principals; PLAINTEXT stays plain; no secret leaks
into a representation."""

from __future__ import annotations

import ssl
from pathlib import Path

from pydantic import SecretStr

from jamsos.connect import (
    SERVICES,
    aiokafka_options,
    clickhouse_admin_password,
    clickhouse_tls,
    faust_credentials,
    kafka_options,
    kafka_security,
    local_kafka_password_file,
    registry_auth,
    registry_url,
    registry_verify,
)
from jamsos.settings import Settings
from jamsos.stack.local import make_local_secrets


def test_the_default_is_plaintext_with_nothing_else() -> None:
    settings = Settings()
    assert kafka_options(settings, "worker") == {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": "PLAINTEXT",
    }
    assert faust_credentials(settings, "worker") is None
    assert clickhouse_tls(settings) == {}
    assert registry_auth(settings) is None
    assert registry_verify(settings) is True
    assert registry_url(settings) == settings.registry_url


def test_a_configured_cluster_gets_sasl_ssl_with_the_given_principal(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    settings = Settings(
        kafka_bootstrap="kafka-0.prod:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_username="svc-sink",
        kafka_password=SecretStr("s3cret"),
        kafka_ssl_ca_file=ca,
        clickhouse_secure=True,
        clickhouse_ca_file=ca,
        registry_username="sr",
        registry_password=SecretStr("pw"),
        registry_ca_file=ca,
    )
    options = kafka_options(settings, "sink")
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-256"
    assert options["sasl_plain_username"] == "svc-sink"
    assert options["sasl_plain_password"] == "s3cret"
    assert options["ssl_cafile"] == str(ca)
    assert options["ssl_check_hostname"] is True
    assert clickhouse_tls(settings) == {"secure": True, "verify": True, "ca_certs": str(ca)}
    assert registry_auth(settings) == ("sr", "pw")
    assert registry_verify(settings) == str(ca)
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in repr(kafka_security(settings, "sink"))


def test_the_secured_local_stack_gives_each_service_its_own_principal(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, stack_secure=True)
    make_local_secrets(settings)
    passwords = set()
    for service in SERVICES:
        options = kafka_options(settings, service)
        assert options["security_protocol"] == "SASL_SSL"
        assert options["sasl_plain_username"] == f"jamsos-{service}"
        assert options["sasl_plain_password"] == (
            local_kafka_password_file(settings, service).read_text().strip()
        )
        assert options["ssl_cafile"] == str(tmp_path / "tls" / "ca.pem")
        passwords.add(options["sasl_plain_password"])
        assert isinstance(aiokafka_options(settings, service)["ssl_context"], ssl.SSLContext)
    assert len(passwords) == len(SERVICES)
    credentials = faust_credentials(settings, "worker")
    assert credentials.username == "jamsos-worker"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert clickhouse_tls(settings)["secure"] is True
    assert clickhouse_admin_password(settings).get_secret_value()
    assert registry_url(settings).startswith("https://")
    auth = registry_auth(settings)
    assert auth is not None
    assert auth[0] == "jamsos"
    assert auth[1]


def test_the_secured_local_defaults_apply_only_to_the_local_stack(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, stack_secure=True, kafka_bootstrap="kafka.prod:9093")
    make_local_secrets(settings)
    assert kafka_options(settings, "worker")["security_protocol"] == "PLAINTEXT"
    assert clickhouse_tls(settings) == {}
    assert registry_auth(settings) is None
