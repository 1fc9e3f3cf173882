"""Migration files: naming, parsing, checksums, recorded history, users DDL."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from chdb import session as chdb_session
from pydantic import SecretStr

from jamsos.settings import Settings
from jamsos.warehouse.migrations import (
    Migration,
    MigrationError,
    load_migrations,
    pending_migrations,
    split_statements,
)
from jamsos.warehouse.rows import TABLE_COLUMNS
from jamsos.warehouse.users import render_grants

MODERN_ONLY = ("LowCardinality", "DateTime64", "OVER (")
"""Constructs ClickHouse 18.16 does not know (it has no low-cardinality type, no
sub-second DateTime and no window functions)."""


def test_split_statements_drops_comments_and_empty_parts() -> None:
    text = (
        "-- a comment; with a semicolon\nCREATE TABLE a (x UInt8)\n;\n\n"
        "CREATE VIEW b AS\nSELECT 1;\n"
    )
    assert split_statements(text) == ["CREATE TABLE a (x UInt8)", "CREATE VIEW b AS\nSELECT 1"]


def test_repository_migrations_are_numbered_and_parse() -> None:
    migrations = load_migrations()
    versions = [m.version for m in migrations]
    assert versions == list(range(1, len(versions) + 1))
    for migration in migrations:
        for statement in migration.statements("jamsos_x"):
            assert "{database}" not in statement
            assert "jamsos_x." in statement
            for construct in MODERN_ONLY:
                assert construct not in statement, f"{migration.name}: {construct}"


def test_every_sink_table_is_created() -> None:
    text = "\n".join(m.text for m in load_migrations())
    for table in TABLE_COLUMNS:
        assert f"CREATE TABLE IF NOT EXISTS {{database}}.{table}\n" in text


def test_bad_file_names_and_duplicates_are_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1")
    (tmp_path / "1_b.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match="NNNN_name"):
        load_migrations(tmp_path)
    (tmp_path / "1_b.sql").unlink()
    (tmp_path / "0001_c.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match="used twice"):
        load_migrations(tmp_path)


def test_unsafe_database_names_are_refused() -> None:
    with pytest.raises(MigrationError, match="identifier"):
        Migration(1, "a", "SELECT 1").statements("x; DROP")


def test_pending_skips_applied_and_refuses_changed_history() -> None:
    one, two = Migration(1, "one", "CREATE 1"), Migration(2, "two", "CREATE 2")
    assert pending_migrations([one, two], {1: ("one", one.checksum)}) == [two]
    assert pending_migrations([one, two], {}) == [one, two]
    with pytest.raises(MigrationError, match="changed after it was applied"):
        pending_migrations([one, two], {1: ("one", "0" * 64)})
    with pytest.raises(MigrationError, match="file is gone"):
        pending_migrations([two], {1: ("one", one.checksum)})


def _granted(statements: list[str], user: str, privilege: str) -> set[str]:
    return {
        s.split(" ON ")[1].split()[0]
        for s in statements
        if s.startswith("GRANT") and s.endswith(f"TO {user}") and privilege in s.split(" ON ")[0]
    }


def test_grants_give_the_writer_insert_only_and_the_refresher_the_kpis() -> None:
    settings = Settings(
        clickhouse_database="jamsos",
        clickhouse_writer_password=SecretStr("w"),
        clickhouse_refresher_password=SecretStr("k"),
        clickhouse_reader_password=SecretStr("r"),
    )
    statements = render_grants(settings)
    kpi = {
        "kpi_member_counts",
        "kpi_status_transitions",
        "kpi_refreshes",
        "kpi_lapsing_members",
    }
    writer_tables = {f"jamsos.{table}" for table in (*TABLE_COLUMNS, "kpi_changed_days")}
    assert _granted(statements, "jamsos_writer", "INSERT") == writer_tables
    assert _granted(statements, "jamsos_writer", "SELECT") == set()
    assert _granted(statements, "jamsos_writer", "ALTER") == set()
    assert _granted(statements, "jamsos_refresher", "INSERT") == {f"jamsos.{t}" for t in kpi}
    assert _granted(statements, "jamsos_refresher", "SELECT") == {
        f"jamsos.{table}"
        for table in ("members", "member_status_changes", "kpi_changed_days", *kpi)
    }
    assert "GRANT SELECT ON jamsos.* TO jamsos_reader" in statements
    assert "REVOKE SELECT(value) ON jamsos.dead_letters FROM jamsos_reader" in statements
    assert not any("{" in s for s in statements)
    assert not any(f"'{p}'" in s for s in statements for p in "wkr")  # hashes only


def test_grants_need_both_passwords(tmp_path: Path) -> None:
    remote = Settings(state_dir=tmp_path, kafka_bootstrap="kafka.example:9093")
    with pytest.raises(ValueError, match="WRITER"):
        render_grants(remote.model_copy(update={"clickhouse_reader_password": SecretStr("r")}))


def test_grants_parse_on_current_clickhouse() -> None:
    """Current ClickHouse parses every statement (`formatQuery`; running them needs an
    administrator, which the in-process engine does not have)."""
    settings = Settings(
        clickhouse_database="jamsos",
        clickhouse_writer_password=SecretStr("w"),
        clickhouse_refresher_password=SecretStr("k"),
        clickhouse_reader_password=SecretStr("r"),
    )
    with tempfile.TemporaryDirectory() as path:
        engine = chdb_session.Session(path)
        try:
            for statement in render_grants(settings):
                literal = "'" + statement.replace("\\", "\\\\").replace("'", "\\'") + "'"
                engine.query(f"SELECT formatQuery({literal})")
        finally:
            engine.cleanup()


def test_the_reader_may_set_grafanas_time_limit_and_nothing_else() -> None:
    """Grafana's ClickHouse plugin sets max_execution_time on every query."""
    reader = [
        s
        for s in render_grants(
            Settings(
                clickhouse_writer_password=SecretStr("w"),
                clickhouse_refresher_password=SecretStr("k"),
                clickhouse_reader_password=SecretStr("r"),
            )
        )
        if "USER" in s and "jamsos_reader" in s
    ]
    assert reader
    for statement in reader:
        assert "readonly = 1" in statement
        assert "max_execution_time = 60 CHANGEABLE_IN_READONLY" in statement
