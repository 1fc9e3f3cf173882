"""How every client connects: Kafka, ClickHouse and the schema registry, per service.

One owner for connection options, so that TLS, SASL and passwords apply to every client
alike: the worker's Faust app and its admin probes (aiokafka, kafka-python), the sink, the
publisher and simulator, the demo's lag probe, migrations, the registry client. Each
process says which *service* it is; on a real cluster it is given that service's own
principal (`JAMSOS_KAFKA_USERNAME` / `_PASSWORD`); on the secured local stack
(`JAMSOS_STACK_SECURE`) every setting not given defaults to the files that stack made:
its CA, and a SCRAM principal and password per service (`jamsos.stack.tls`,
`jamsos.stack.acls`). Secrets stay `SecretStr` until the moment a client is built.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr

from jamsos.settings import KafkaProtocol, Settings

Service = Literal["admin", "worker", "sink", "publisher"]
"""Who connects to Kafka: the operator's tools (stack, topics, demo probes) as `admin`,
and each pipeline process as itself, with ACLs limited to what it reads and writes."""
SERVICES: tuple[Service, ...] = ("admin", "worker", "sink", "publisher")

LOCAL_TLS_DIR = "tls"
"""Under the state folder: the secured local stack's CA and server certificate."""
LOCAL_CA_FILE = f"{LOCAL_TLS_DIR}/ca.pem"
LOCAL_REGISTRY_USER = "jamsos"
LOCAL_CLICKHOUSE_ADMIN_PASSWORD_FILE = "secrets/clickhouse-admin-password"
LOCAL_REGISTRY_PASSWORD_FILE = "secrets/registry-password"


def local_principal(service: Service) -> str:
    """The secured local stack's Kafka principal of `service` (`User:jamsos-<service>`)."""
    return f"jamsos-{service}"


def local_kafka_password_file(settings: Settings, service: Service) -> Path:
    """Where the secured local stack keeps `service`'s random SCRAM password."""
    return settings.state_dir / "secrets" / f"kafka-{service}-password"


def local_ca_file(settings: Settings) -> Path:
    return settings.state_dir / LOCAL_CA_FILE


def _local_secret(path: Path) -> SecretStr | None:
    try:
        return SecretStr(path.read_text().strip())
    except FileNotFoundError:
        return None


def _secure_local(settings: Settings) -> bool:
    return settings.stack_secure and settings.targets_local_stack


@dataclass(frozen=True)
class KafkaSecurity:
    """The resolved way one service connects to Kafka."""

    protocol: KafkaProtocol
    mechanism: str
    username: str | None
    password: SecretStr | None
    ca_file: Path | None
    cert_file: Path | None
    key_file: Path | None

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL")

    @property
    def uses_ssl(self) -> bool:
        return self.protocol.endswith("SSL")


def kafka_security(settings: Settings, service: Service) -> KafkaSecurity:
    """Settings win; on the secured local stack what is unset is that stack's own."""
    local = _secure_local(settings)
    protocol = settings.kafka_security_protocol or ("SASL_SSL" if local else "PLAINTEXT")
    username = settings.kafka_username
    password = settings.kafka_password
    if local and username is None:
        username = local_principal(service)
        password = password or _local_secret(local_kafka_password_file(settings, service))
    ca_file = settings.kafka_ssl_ca_file or (local_ca_file(settings) if local else None)
    return KafkaSecurity(
        protocol=protocol,
        mechanism=settings.kafka_sasl_mechanism,
        username=username,
        password=password,
        ca_file=ca_file,
        cert_file=settings.kafka_ssl_cert_file,
        key_file=settings.kafka_ssl_key_file,
    )


def _common_options(settings: Settings, security: KafkaSecurity) -> dict[str, Any]:
    """What kafka-python and aiokafka name alike: servers, protocol, SASL login."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "security_protocol": security.protocol,
    }
    if security.uses_sasl:
        options["sasl_mechanism"] = security.mechanism
        options["sasl_plain_username"] = security.username or ""
        options["sasl_plain_password"] = (
            security.password.get_secret_value() if security.password else ""
        )
    return options


def kafka_options(settings: Settings, service: Service) -> dict[str, Any]:
    """Keyword arguments for any kafka-python client (`KafkaConsumer`, `KafkaProducer`,
    `KafkaAdminClient`) of `service`, bootstrap servers included."""
    security = kafka_security(settings, service)
    options = _common_options(settings, security)
    if security.uses_ssl:
        options["ssl_check_hostname"] = True
        if security.ca_file:
            options["ssl_cafile"] = str(security.ca_file)
        if security.cert_file:
            options["ssl_certfile"] = str(security.cert_file)
        if security.key_file:
            options["ssl_keyfile"] = str(security.key_file)
    return options


def kafka_ssl_context(security: KafkaSecurity) -> ssl.SSLContext:
    """A verifying client TLS context: the CA file (or the system's), the client cert."""
    context = ssl.create_default_context(cafile=str(security.ca_file) if security.ca_file else None)
    if security.cert_file:
        context.load_cert_chain(
            str(security.cert_file), str(security.key_file) if security.key_file else None
        )
    return context


def aiokafka_options(settings: Settings, service: Service) -> dict[str, Any]:
    """Keyword arguments for an aiokafka client of `service` (bootstrap servers included)."""
    security = kafka_security(settings, service)
    options = _common_options(settings, security)
    if security.uses_ssl:
        options["ssl_context"] = kafka_ssl_context(security)
    return options


def faust_credentials(settings: Settings, service: Service) -> Any:
    """Faust's `broker_credentials` for `service`: None on PLAINTEXT."""
    from faust.auth import SASLCredentials, SSLCredentials

    security = kafka_security(settings, service)
    if security.protocol == "PLAINTEXT":
        return None
    if not security.uses_sasl:
        return SSLCredentials(kafka_ssl_context(security))
    return SASLCredentials(
        username=security.username or "",
        password=security.password.get_secret_value() if security.password else "",
        ssl_context=kafka_ssl_context(security) if security.uses_ssl else None,
        mechanism=security.mechanism,
    )


# -- ClickHouse -------------------------------------------------------------------------


def clickhouse_admin_password(settings: Settings) -> SecretStr:
    """The migrator's password: configured, or the secured local stack's own."""
    if settings.clickhouse_password.get_secret_value() or not _secure_local(settings):
        return settings.clickhouse_password
    local = _local_secret(settings.state_dir / LOCAL_CLICKHOUSE_ADMIN_PASSWORD_FILE)
    return local or settings.clickhouse_password


def clickhouse_tls(settings: Settings) -> dict[str, Any]:
    """clickhouse-driver's TLS keyword arguments (empty without TLS)."""
    secure = settings.clickhouse_secure
    if secure is None:
        secure = _secure_local(settings)
    if not secure:
        return {}
    options: dict[str, Any] = {"secure": True, "verify": settings.clickhouse_verify}
    ca_file = settings.clickhouse_ca_file or (
        local_ca_file(settings) if _secure_local(settings) else None
    )
    if ca_file:
        options["ca_certs"] = str(ca_file)
    if settings.clickhouse_cert_file:
        options["certfile"] = str(settings.clickhouse_cert_file)
    if settings.clickhouse_key_file:
        options["keyfile"] = str(settings.clickhouse_key_file)
    return options


def clickhouse_http_scheme(settings: Settings) -> str:
    """`https` when ClickHouse is reached over TLS, else `http` (readiness, Grafana)."""
    return "https" if clickhouse_tls(settings) else "http"


# -- schema registry --------------------------------------------------------------------


def registry_url(settings: Settings) -> str:
    """The registry's base URL; on the secured local stack its `https://` form."""
    url = settings.registry_url
    if _secure_local(settings) and url.startswith("http://"):
        return "https://" + url.removeprefix("http://")
    return url


def registry_auth(settings: Settings) -> tuple[str, str] | None:
    """Basic-auth user and password of the registry, if any."""
    username = settings.registry_username
    password = settings.registry_password
    if username is None and _secure_local(settings):
        username = LOCAL_REGISTRY_USER
        password = password or _local_secret(settings.state_dir / LOCAL_REGISTRY_PASSWORD_FILE)
    if username is None:
        return None
    return username, password.get_secret_value() if password else ""


def registry_verify(settings: Settings) -> str | bool:
    """What httpx verifies the registry's certificate against: a CA file or the system's."""
    if settings.registry_ca_file:
        return str(settings.registry_ca_file)
    if _secure_local(settings):
        return str(local_ca_file(settings))
    return True
