"""Start-up checks: can this process reach and use what it needs? If not, say which
setting to fix, in one line.

A wrong password, an untrusted certificate or a missing ACL otherwise surfaces as a client
library's retry loop: kafka-python waits out its bootstrap timeout and reports "unable to
bootstrap", Faust retries for ever. Each check here makes one connection the way the
process will (`jamsos.connect`), reads the client's own reason for a refusal, and raises
`AccessError` naming the `JAMSOS_*` setting; the commands print it as `jamsos: …` and
exit 1. No secret is ever part of a message.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from jamsos.connect import (
    Service,
    aiokafka_options,
    kafka_security,
    registry_auth,
    registry_url,
    registry_verify,
)
from jamsos.settings import Account, Settings

CHECK_TIMEOUT_MS = 10_000

log = logging.getLogger(__name__)


class AccessError(ValueError):
    """This process cannot use a server as configured; the message names the setting."""


class _Refusals(logging.Handler):
    """Collects the exceptions aiokafka logs while it tries to bootstrap."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        self.errors.extend(arg for arg in args if isinstance(arg, BaseException))


@contextmanager
def _refusals() -> Iterator[_Refusals]:
    """Collect what aiokafka logs, and keep it out of the process's log: the one line
    this module makes of it says it better."""
    handler = _Refusals()
    with _quiet("aiokafka") as logger:
        logger.addHandler(handler)
        try:
            yield handler
        finally:
            logger.removeHandler(handler)


@contextmanager
def _quiet(name: str) -> Iterator[logging.Logger]:
    """Logger `name`, not propagating to the process's handlers for the duration."""
    logger = logging.getLogger(name)
    propagate = logger.propagate
    logger.propagate = False
    sink = logging.NullHandler()  # else Python's last-resort handler prints to stderr
    logger.addHandler(sink)
    try:
        yield logger
    finally:
        logger.removeHandler(sink)
        logger.propagate = propagate


def kafka_refusal(settings: Settings, service: Service, error: BaseException) -> str:
    """One line for why Kafka refused `service`, naming the setting to fix."""
    security = kafka_security(settings, service)
    who = f"Kafka principal {security.username!r}" if security.username else "this client"
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return (
            f"Kafka's certificate at {settings.kafka_bootstrap} is not trusted "
            f"({getattr(error, 'verify_message', 'verify failed')}): set JAMSOS_KAFKA_SSL_CA_FILE "
            f"to the CA that signed it"
        )
    if "SaslAuthenticationFailed" in text or "Authentication failed" in text:
        return (
            f"Kafka refused the password of {who}: check JAMSOS_KAFKA_USERNAME and "
            f"JAMSOS_KAFKA_PASSWORD (mechanism {security.mechanism}, JAMSOS_KAFKA_SASL_MECHANISM)"
        )
    if "UnsupportedSaslMechanism" in text:
        return (
            f"Kafka does not offer SASL mechanism {security.mechanism}: "
            f"check JAMSOS_KAFKA_SASL_MECHANISM"
        )
    if isinstance(error, ssl.SSLError):
        return (
            f"TLS with Kafka at {settings.kafka_bootstrap} failed ({error.reason or error}): "
            f"check JAMSOS_KAFKA_SECURITY_PROTOCOL ({security.protocol})"
        )
    if isinstance(error, ConnectionRefusedError):
        return f"nothing listens at {settings.kafka_bootstrap}: check JAMSOS_KAFKA_BOOTSTRAP"
    return (
        f"cannot use Kafka at {settings.kafka_bootstrap} as {who} ({text}): check "
        f"JAMSOS_KAFKA_BOOTSTRAP and JAMSOS_KAFKA_SECURITY_PROTOCOL ({security.protocol})"
    )


def check_kafka(
    settings: Settings, service: Service, topics: Iterable[str] = (), *, wait: float = 15.0
) -> None:
    """Connect as `service` and see every topic in `topics` (contract names, before the
    prefix); raises `AccessError` otherwise. On a cluster with ACLs a topic the principal
    has no ACL for is invisible to it, exactly like a topic that does not exist. A topic
    created a moment ago may take a little while to show in the metadata: up to `wait`
    seconds are given for that."""
    wanted = sorted({settings.topic(name) for name in topics})
    deadline = time.monotonic() + wait
    while True:
        with _refusals() as refusals:
            try:
                visible = asyncio.run(_list_topics(settings, service))
            except (KafkaError, OSError) as error:
                cause = refusals.errors[-1] if refusals.errors else error
                raise AccessError(kafka_refusal(settings, service, cause)) from None
        missing = [name for name in wanted if name not in visible]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise AccessError(topics_refusal(settings, service, "use", missing))
        time.sleep(0.5)


def topics_refusal(settings: Settings, service: Service, what: str, topics: list[str]) -> str:
    """One line for topics `service` may not `what` (use, create)."""
    security = kafka_security(settings, service)
    who = f"Kafka principal {security.username!r}" if security.username else "this client"
    return (
        f"{who} may not {what} topic "
        f"{', '.join(sorted(topics))} (no ACL for it, or it does not exist): grant the "
        f"{service}'s ACLs, or set JAMSOS_KAFKA_USERNAME to the {service}'s principal"
    )


async def _list_topics(settings: Settings, service: Service) -> set[str]:
    admin = AIOKafkaAdminClient(
        **aiokafka_options(settings, service),
        request_timeout_ms=CHECK_TIMEOUT_MS,
        client_id=f"jamsos-{service}-check",
    )
    try:
        await admin.start()
        return set(await admin.list_topics())
    finally:
        await admin.close()


def clickhouse_refusal(settings: Settings, account: Account | None, error: BaseException) -> str:
    """One line for why ClickHouse refused a connection, naming the setting to fix."""
    text = str(error)
    password_setting = (
        f"JAMSOS_CLICKHOUSE_{account.upper()}_PASSWORD"
        if account
        else "JAMSOS_CLICKHOUSE_USER and JAMSOS_CLICKHOUSE_PASSWORD"
    )
    where = f"{settings.clickhouse_host}:{settings.clickhouse_port}"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return (
            f"ClickHouse's certificate at {where} is not trusted: set "
            f"JAMSOS_CLICKHOUSE_CA_FILE to the CA that signed it"
        )
    code = getattr(error, "code", None)
    if code in (192, 193, 194, 516) or "password" in text.lower():
        return f"ClickHouse refused the {account or 'migrator'} account: check {password_setting}"
    if "WRONG_VERSION_NUMBER" in text or "UNEXPECTED_EOF" in text or "EOF occurred" in text:
        return (
            f"TLS with ClickHouse at {where} failed: check JAMSOS_CLICKHOUSE_SECURE and "
            f"JAMSOS_CLICKHOUSE_PORT (the server's tcp_port_secure)"
        )
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return f"cannot use ClickHouse at {where} ({first}): check JAMSOS_CLICKHOUSE_HOST and _PORT"


def check_clickhouse(settings: Settings, account: Account | None) -> None:
    """Connect as `account` (None: the migrator) and run `SELECT 1`. A server that does not
    answer is not refused here: the sink waits out an outage (`consumers.sink`)."""
    from clickhouse_driver.errors import Error as ClickHouseError

    from jamsos.warehouse.client import make_client

    client = make_client(settings, account=account)
    try:
        with _quiet("clickhouse_driver"):
            client.execute("SELECT 1")
    except (ClickHouseError, OSError, EOFError) as error:
        reason = clickhouse_refusal(settings, account, error)
        if reason.startswith("cannot use ClickHouse"):
            log.warning("%s; going on, the sink waits for it", reason)
            return
        raise AccessError(reason) from None
    finally:
        client.disconnect()


def check_registry(settings: Settings) -> None:
    """List the registry's subjects with this process's TLS and basic auth."""
    url = f"{registry_url(settings).rstrip('/')}/subjects"
    options: dict[str, Any] = {"verify": registry_verify(settings), "timeout": 10.0}
    auth = registry_auth(settings)
    try:
        with httpx.Client(auth=auth, **options) as http:
            answer = http.get(url)
    except httpx.ConnectError as error:
        if "CERTIFICATE_VERIFY_FAILED" in str(error):
            raise AccessError(
                f"the schema registry's certificate at {url} is not trusted: set "
                f"JAMSOS_REGISTRY_CA_FILE to the CA that signed it"
            ) from None
        # Not a refusal: an outage, which the processes wait out (`jamsos.contracts.registry`).
        log.warning("cannot reach the schema registry at %s (%s); going on", url, error)
        return
    except httpx.HTTPError as error:
        raise AccessError(
            f"the schema registry at {url} failed ({type(error).__name__}): "
            f"check JAMSOS_REGISTRY_URL"
        ) from None
    if answer.status_code in (401, 403):
        raise AccessError(
            f"the schema registry refused {'user ' + repr(auth[0]) if auth else 'anonymous'} "
            f"(HTTP {answer.status_code}): check JAMSOS_REGISTRY_USERNAME and "
            f"JAMSOS_REGISTRY_PASSWORD"
        )
