"""The local stack's jamsos_reader serves Grafana and nothing more; jamsos_writer makes no
DDL (ClickHouse 18.16, users.xml).

On 18.16 an account is confined to the database named in users.xml when the stack came
up: the base database (`jamsos`), not a test run's own, so these checks read that database
(migrated, never written) and write nowhere."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException

from jamsos.settings import Account, Settings
from jamsos.warehouse.client import make_client
from jamsos.warehouse.migrations import migrate


@pytest.fixture
def base(settings: Settings) -> Settings:
    """The stack's own settings (its database is the one the accounts may use)."""
    stack = Settings.load()
    admin = make_client(stack)
    try:
        migrate(admin, stack.clickhouse_database)
    finally:
        admin.disconnect()
    return stack


def _client(stack: Settings, role: Account) -> Iterator[Client]:
    password = stack.account_password(role)
    assert password is not None, "the local stack made no password for the account"
    client = Client(
        stack.clickhouse_host,
        port=stack.clickhouse_port,
        user=f"jamsos_{role}",
        password=password.get_secret_value(),
        database=stack.clickhouse_database,
    )
    yield client
    client.disconnect()


@pytest.fixture
def reader(base: Settings) -> Iterator[Client]:
    yield from _client(base, "reader")


@pytest.fixture
def writer(base: Settings) -> Iterator[Client]:
    yield from _client(base, "writer")


def _refused(client: Client, sql: str, **settings: object) -> str:
    with pytest.raises(ServerException) as refused:
        client.execute(sql, settings=settings or None)
    return str(refused.value)


def test_the_reader_runs_grafanas_queries_with_their_time_limit(reader: Client) -> None:
    rows = reader.execute(
        "SELECT active, target FROM kpi_active_total", settings={"max_execution_time": 30}
    )
    assert len(rows) == 1


def test_the_reader_writes_nothing_and_cannot_lift_its_read_only_mode(
    reader: Client, settings: Settings
) -> None:
    assert (
        "readonly"
        in _refused(
            reader, "INSERT INTO kpi_targets (name, value, version) VALUES ('x', 1, 1)"
        ).lower()
    )
    _refused(reader, "CREATE TABLE stolen (x UInt8) ENGINE = Memory")
    # readonly = 2 lets the reader change settings, but not out of read-only mode
    _refused(reader, "CREATE TABLE stolen (x UInt8) ENGINE = Memory", readonly=0)
    _refused(
        reader, "INSERT INTO kpi_targets (name, value, version) VALUES ('x', 1, 1)", readonly=0
    )
    _refused(reader, f"SELECT count() FROM {settings.clickhouse_database}.members")


def test_the_writer_changes_no_schema(writer: Client) -> None:
    _refused(writer, "CREATE TABLE stolen (x UInt8) ENGINE = Memory")
    _refused(writer, "DROP TABLE kpi_targets")
