"""The same DDL on ClickHouse 18.16 and on current ClickHouse (chdb) gives the same answers.

Identical SQL inserts the same rows into both, in several parts and with re-delivered
copies (so that reading the latest row per key really needs FINAL), and every view and
every table read with FINAL must print the same on both engines.
"""

from __future__ import annotations

import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from chdb import session as chdb_session
from clickhouse_driver import Client

from jamsos.settings import Settings
from jamsos.warehouse.client import make_client
from jamsos.warehouse.migrations import load_migrations, migrate
from jamsos.warehouse.rows import TABLE_COLUMNS, Position, rows_for
from tests.integration.warehouse import dataset
from tests.integration.warehouse.helpers import VIEWS


def _literal(value: Any) -> str:
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


def _inserts(database: str) -> list[str]:
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
        for table, columns in TABLE_COLUMNS.items():
            rows = [row for name, row in part if name == table]
            if rows:
                values = ", ".join("(" + ", ".join(map(_literal, row)) + ")" for row in rows)
                names = ", ".join(f"`{c}`" for c in columns)
                statements.append(f"INSERT INTO {database}.{table} ({names}) VALUES {values}")
    statements.append(
        f"INSERT INTO {database}.kpi_targets (name, value, version) "
        "VALUES ('active_members', 50, 1)"
    )
    return statements


def _queries(database: str) -> dict[str, str]:
    queries = {view: f"SELECT * FROM {database}.{view}" for view in VIEWS}
    for table, columns in TABLE_COLUMNS.items():
        # The zero Date (enrolled_on "unknown") prints as 0000-00-00 on 18.16 and as
        # 1970-01-01 on current releases: the same value, so compare it by day number.
        # Dead letters' original bytes are compared as hex (they need not be UTF-8).
        special = {"enrolled_on": "toUInt16(enrolled_on)", "key": "hex(key)", "value": "hex(value)"}
        names = ", ".join(special.get(c, f"`{c}`") for c in columns)
        queries[table] = f"SELECT {names} FROM {database}.{table} FINAL"
    return queries


class _Http:
    """The 18.16 server over HTTP, which takes inline INSERT data and prints like chdb."""

    def __init__(self, settings: Settings) -> None:
        self.url = f"http://{settings.clickhouse_host}:{settings.clickhouse_http_port}/"
        self.auth = {
            "user": settings.clickhouse_user,
            "password": settings.clickhouse_password.get_secret_value(),
        }

    def query(self, sql: str) -> str:
        url = self.url + "?" + urllib.parse.urlencode(self.auth)
        request = urllib.request.Request(url, data=sql.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(response.read().decode("utf-8", errors="replace"))


@pytest.fixture
def engines(settings: Settings) -> Iterator[tuple[_Http, Any, str]]:
    database = f"{settings.clickhouse_database}_parity"
    admin: Client = make_client(settings)
    migrate(admin, database)
    with tempfile.TemporaryDirectory() as path:
        current = chdb_session.Session(path)
        current.query(f"CREATE DATABASE IF NOT EXISTS {database}")
        for migration in load_migrations():
            for statement in migration.statements(database):
                current.query(statement)
        try:
            yield _Http(settings), current, database
        finally:
            current.cleanup()
            admin.execute(f"DROP DATABASE IF EXISTS {database}")
            admin.disconnect()


def test_views_answer_the_same_on_18_16_and_current_clickhouse(
    engines: tuple[_Http, Any, str],
) -> None:
    old, current, database = engines
    for statement in _inserts(database):
        old.query(statement)
        current.query(statement)
    for name, sql in _queries(database).items():
        on_old = sorted(old.query(sql + " FORMAT TabSeparated").splitlines())
        on_current = sorted(str(current.query(sql, "TabSeparated")).splitlines())
        assert on_old, f"{name} is empty: the comparison would prove nothing"
        assert on_old == on_current, name
