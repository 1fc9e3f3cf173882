"""Per-test warehouses: own topic prefix, consumer group and migrated database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from clickhouse_driver import Client

from jamsos.settings import Settings
from jamsos.topics import SINK_TOPICS, ensure_topics
from jamsos.warehouse.client import make_client
from jamsos.warehouse.migrations import migrate


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
