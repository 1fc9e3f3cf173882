"""The real local stack for integration tests.

The session fixture brings the stack up with the same code as `jamsos stack up` (a running
stack is reused, so a second test run is quick) and gives this run its own topic prefix and
ClickHouse database, removed again at the end, so runs never see each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from clickhouse_driver import Client

from jamsos.contracts.registry import SchemaRegistry
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from jamsos.stack.local import LocalStack
from jamsos.topics import SINK_TOPICS, delete_topics_with_prefix, ensure_topics
from jamsos.warehouse.client import make_client
from jamsos.warehouse.migrations import migrate


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    """Settings of this test run: the local stack's endpoints, a private prefix and database."""
    base = Settings.load()
    LocalStack(base).up()
    run = uuid.uuid4().hex[:8]
    run_settings = base.model_copy(
        update={"topic_prefix": f"test-{run}.", "clickhouse_database": f"jamsos_test_{run}"}
    )
    yield run_settings
    delete_topics_with_prefix(run_settings, run_settings.topic_prefix)


@pytest.fixture(scope="session")
def clickhouse(settings: Settings) -> Iterator[Client]:
    """An admin client on this run's own, freshly created database."""
    admin = Client(
        settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password.get_secret_value(),
    )
    admin.execute(f"CREATE DATABASE IF NOT EXISTS {settings.clickhouse_database}")
    client = Client(
        settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password.get_secret_value(),
        database=settings.clickhouse_database,
    )
    yield client
    client.disconnect()
    admin.execute(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}")
    admin.disconnect()


@pytest.fixture(scope="session")
def registry(settings: Settings) -> Iterator[SchemaRegistry]:
    """A client of the stack's real schema registry."""
    client = SchemaRegistry.from_settings(settings)
    yield client
    client.close()


@pytest.fixture(scope="session")
def serde(registry: SchemaRegistry) -> AvroSerde:
    return AvroSerde(registry)


@pytest.fixture
def warehouse(settings: Settings) -> Iterator[tuple[Settings, Client]]:
    """Settings with a fresh prefix, group and database (migrated), and a client on it."""
    run = uuid.uuid4().hex[:6]
    own = settings.model_copy(
        update={
            "topic_prefix": f"{settings.topic_prefix}{run}.",
            "clickhouse_database": f"{settings.clickhouse_database}_{run}",
            "sink_group": f"test-sink-{run}",
            "nik_secret": None,
        }
    )
    admin = make_client(own)
    migrate(admin, own.clickhouse_database)
    ensure_topics(own, SINK_TOPICS)
    client = make_client(own, database=own.clickhouse_database)
    yield own, client
    client.disconnect()
    admin.execute(f"DROP DATABASE IF EXISTS {own.clickhouse_database}")
    admin.disconnect()
