"""ClickHouse 18.16 (the local stack's server, over HTTP) and current ClickHouse (chdb, in
process) side by side, with the same migrations and the same rows: for checks that a query
answers alike on both, as the contract asks of every table, view and dashboard query.

The rows are `dataset.build()` landed as the sink lands them, in three parts with the first
delivered twice, so that reading the latest row per key really needs FINAL; then the KPI
tables are refreshed, with the same statements on both.
"""

from __future__ import annotations

import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from chdb import session as chdb_session
from clickhouse_driver import Client

from jamsos.settings import Settings
from jamsos.warehouse.client import make_client
from jamsos.warehouse.kpi import refresh_statements
from jamsos.warehouse.migrations import load_migrations, migrate
from jamsos.warehouse.rows import (
    CHANGED_DAYS_TABLE,
    DERIVED_COLUMNS,
    TABLE_COLUMNS,
    Position,
    changed_days,
    rows_for,
)
from tests.integration.warehouse import dataset


def literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return f"'{value.strftime('%Y-%m-%d %H:%M:%S')}'"
    if isinstance(value, date):
        return f"'{value.isoformat()}'"
    data = value if isinstance(value, bytes) else str(value).encode()
    escaped = "".join(
        chr(b) if 32 <= b < 127 and b not in (39, 92) else f"\\x{b:02x}" for b in data
    )
    return f"'{escaped}'"


def inserts(database: str) -> list[str]:
    """INSERT statements for the dataset: three parts, the first delivered twice."""
    data = dataset.build()
    landed: list[tuple[str, tuple[Any, ...]]] = []
    offset = 0
    for topic, items in data.messages.items():
        for record_name, _key, record in items:
            offset += 1
            if record_name is None or (topic == "contributions" and record.get("months") == 0):
                continue  # what the sink skips
            position = Position(0, offset, 1_550_000_000_000 + offset * 1000)
            landed.extend(rows_for(record_name, record, position))
    parts = [landed[: len(landed) // 3], landed[len(landed) // 3 :], landed[: len(landed) // 3]]
    statements = []
    for part in parts:
        changes = [row for name, row in part if name == "member_status_changes"]
        part = part + [(CHANGED_DAYS_TABLE, row) for row in changed_days(changes)]  # as the sink
        for table, columns in {**TABLE_COLUMNS, **DERIVED_COLUMNS}.items():
            rows = [row for name, row in part if name == table]
            if rows:
                values = ", ".join("(" + ", ".join(map(literal, row)) + ")" for row in rows)
                names = ", ".join(f"`{c}`" for c in columns)
                statements.append(f"INSERT INTO {database}.{table} ({names}) VALUES {values}")
    statements.append(
        f"INSERT INTO {database}.kpi_targets (name, value, version) "
        "VALUES ('active_members', 50, 1)"
    )
    return [*statements, *refresh_statements(database, since=0, started=1_550_000_000)]


class Http:
    """The 18.16 server over HTTP, which takes inline INSERT data and prints like chdb."""

    def __init__(self, settings: Settings) -> None:
        self.url = f"http://{settings.clickhouse_host}:{settings.clickhouse_http_port}/"
        self.auth = {
            "user": settings.clickhouse_user,
            "password": settings.clickhouse_password.get_secret_value(),
        }

    def query(self, sql: str, database: str | None = None) -> str:
        params = {**self.auth, **({"database": database} if database else {})}
        url = self.url + "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(url, data=sql.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(response.read().decode("utf-8", errors="replace"))


@contextmanager
def both_engines(settings: Settings, database: str) -> Iterator[tuple[Http, Any]]:
    """`database` migrated on both engines and filled with the dataset's rows; dropped
    afterwards."""
    admin: Client = make_client(settings)
    migrate(admin, database)
    with tempfile.TemporaryDirectory() as path:
        current = chdb_session.Session(path)
        current.query(f"CREATE DATABASE IF NOT EXISTS {database}")
        for migration in load_migrations():
            for statement in migration.statements(database):
                current.query(statement)
        try:
            old = Http(settings)
            for statement in inserts(database):
                old.query(statement)
                current.query(statement)
            yield old, current
        finally:
            current.cleanup()
            admin.execute(f"DROP DATABASE IF EXISTS {database}")
            admin.disconnect()


COPIED_TABLES = (
    *TABLE_COLUMNS,
    *DERIVED_COLUMNS,
    "kpi_targets",
    "kpi_member_counts",
    "kpi_status_transitions",
    "kpi_refreshes",
    "kpi_lapsing_members",
)
"""Every stored table: what a copy of a database onto the current engine must carry."""


@contextmanager
def copied_to_current(client: Client, database: str) -> Iterator[Any]:
    """A chdb session holding `database` as `client` (18.16) has it: the same migrations,
    every row of every table copied as stored (all parts, copies included)."""
    with tempfile.TemporaryDirectory() as path:
        current = chdb_session.Session(path)
        try:
            current.query(f"CREATE DATABASE IF NOT EXISTS {database}")
            for migration in load_migrations():
                for statement in migration.statements(database):
                    current.query(statement)
            for table in COPIED_TABLES:
                rows, types = client.execute(
                    f"SELECT * FROM {database}.{table}", with_column_types=True
                )
                names = ", ".join(f"`{name}`" for name, _ in types)
                for start in range(0, len(rows), 5_000):
                    values = ", ".join(
                        "(" + ", ".join(map(literal, row)) + ")"
                        for row in rows[start : start + 5_000]
                    )
                    current.query(f"INSERT INTO {database}.{table} ({names}) VALUES {values}")
            yield current
        finally:
            current.cleanup()
