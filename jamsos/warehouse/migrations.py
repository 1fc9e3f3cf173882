"""Numbered ClickHouse DDL migrations, applied once each and recorded in the database.

Files are `deploy/clickhouse/NNNN_name.sql`, statements separated by a `;` at the end of a
line, with `{database}` standing for the target database. Each applied file is recorded in
`<database>.schema_migrations` with the SHA-256 of its text: running again applies only the
new files, and a recorded file whose text changed stops the run, because the database no
longer matches what the repository says it is (write a new migration instead of editing an
old one).

Every statement is written to be re-runnable (`IF NOT EXISTS`; inserts into replacing
tables), so a run interrupted between a statement and its record is repaired by re-running.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from jamsos.settings import PROJECT_ROOT
from jamsos.warehouse.cluster import for_cluster

log = logging.getLogger(__name__)

MIGRATIONS_DIR = PROJECT_ROOT / "deploy" / "clickhouse"
FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STATEMENT_END = re.compile(r";[ \t]*(?:\n|$)")


class MigrationError(RuntimeError):
    """The migrations cannot be applied as they are (bad file, changed history)."""


class Executor(Protocol):
    """What the runner needs of a ClickHouse client (clickhouse-driver's `Client` fits)."""

    def execute(self, query: str, params: Any = None) -> Any: ...


@dataclass(frozen=True)
class Migration:
    """One numbered DDL file."""

    version: int
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def statements(self, database: str) -> list[str]:
        """The file's statements for `database`, comments and blank statements dropped."""
        check_database_name(database)
        return [part.replace("{database}", database) for part in split_statements(self.text)]


def check_database_name(database: str) -> None:
    """Refuse names that would need quoting: they are pasted into DDL as identifiers."""
    if not DATABASE_NAME.match(database):
        raise MigrationError(f"database name {database!r} is not a plain identifier")


def split_statements(text: str) -> list[str]:
    """Statements of a file: split at `;` ending a line; `--` comment lines removed."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    parts = _STATEMENT_END.split("\n".join(lines))
    return [part.strip() for part in parts if part.strip()]


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every `NNNN_name.sql` of `directory`, by number; other files are ignored."""
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = FILE_PATTERN.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    versions = [migration.version for migration in found]
    duplicates = sorted({v for v in versions if versions.count(v) > 1})
    if duplicates:
        raise MigrationError(f"migration numbers used twice: {duplicates}")
    for migration in found:
        if not migration.statements("db"):
            raise MigrationError(f"{migration.version:04d}_{migration.name}.sql is empty")
    return found


def _ledger_ddl(database: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations "
        "(version UInt32, name String, checksum String, applied_at DateTime('UTC')) "
        "ENGINE = MergeTree ORDER BY version"
    )


def applied_migrations(client: Executor, database: str) -> dict[int, tuple[str, str]]:
    """`version -> (name, checksum)` of what the database records as applied."""
    rows = client.execute(
        f"SELECT version, any(name), any(checksum) FROM {database}.schema_migrations "
        "GROUP BY version"
    )
    return {int(version): (name, checksum) for version, name, checksum in rows}


def pending_migrations(
    migrations: Sequence[Migration], applied: dict[int, tuple[str, str]]
) -> list[Migration]:
    """Migrations not applied yet; raises if the recorded history differs from the files."""
    by_version = {migration.version: migration for migration in migrations}
    for version, (name, checksum) in sorted(applied.items()):
        migration = by_version.get(version)
        if migration is None:
            raise MigrationError(
                f"migration {version:04d}_{name} is recorded as applied but its file is gone"
            )
        if migration.checksum != checksum:
            raise MigrationError(
                f"migration {version:04d}_{name}.sql changed after it was applied "
                f"(checksum {checksum[:12]} recorded, {migration.checksum[:12]} now); "
                "add a new migration instead"
            )
    return [migration for migration in migrations if migration.version not in applied]


def migrate(
    client: Executor,
    database: str,
    migrations: Sequence[Migration] | None = None,
    *,
    cluster: str | None = None,
) -> list[Migration]:
    """Create `database` if needed and apply the pending migrations; returns them. With
    `cluster`, on every server of that cluster, as replicated tables
    (`jamsos.warehouse.cluster`)."""
    check_database_name(database)
    migrations = load_migrations() if migrations is None else migrations

    def run(statement: str) -> None:
        client.execute(statement if cluster is None else for_cluster(statement, cluster))

    run(f"CREATE DATABASE IF NOT EXISTS {database}")
    run(_ledger_ddl(database))
    pending = pending_migrations(migrations, applied_migrations(client, database))
    for migration in pending:
        for statement in migration.statements(database):
            run(statement)
        client.execute(
            f"INSERT INTO {database}.schema_migrations "
            "(version, name, checksum, applied_at) VALUES",
            [(migration.version, migration.name, migration.checksum, datetime.now(UTC))],
        )
        log.info("applied migration %04d_%s", migration.version, migration.name)
    return pending


def kpi_active_target(client: Executor, database: str) -> int | None:
    """The active-members target the dashboards use now (None before migrations)."""
    rows = client.execute(
        f"SELECT argMax(value, version) FROM {database}.kpi_targets WHERE name = 'active_members'"
    )
    return int(rows[0][0]) if rows and rows[0][0] is not None else None


def set_kpi_active_target(client: Executor, database: str, target: int) -> bool:
    """Make `target` the dashboards' active-members target; False when it already was."""
    if target <= 0:
        raise MigrationError(f"the active-members target must be positive, got {target}")
    if kpi_active_target(client, database) == target:
        return False
    version = int(datetime.now(UTC).timestamp() * 1_000_000)
    client.execute(
        f"INSERT INTO {database}.kpi_targets (name, value, version) VALUES",
        [("active_members", target, version)],
    )
    return True
