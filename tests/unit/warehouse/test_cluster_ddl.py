"""The migrations' cluster form (`jamsos.warehouse.cluster`): every table replicated,
every shared DDL statement `ON CLUSTER`, the rest untouched; and current ClickHouse parses
all of it (running it needs ZooKeeper: `tests/integration/cluster/` runs it on 18.16)."""

from __future__ import annotations

import tempfile

from chdb import session as chdb_session

from jamsos.warehouse.cluster import for_cluster
from jamsos.warehouse.migrations import load_migrations


def _all_statements() -> list[str]:
    return [s for m in load_migrations() for s in m.statements("jamsos")]


def test_every_table_is_replicated_and_every_ddl_runs_on_the_cluster() -> None:
    for statement in _all_statements():
        clustered = for_cluster(statement, "main")
        if statement.upper().startswith(("CREATE", "DROP")):
            assert " ON CLUSTER main" in clustered, statement[:80]
        if "ENGINE" in statement:
            assert "ENGINE = Replicated" in clustered, statement[:80]
            assert "'/clickhouse/tables/{shard}/jamsos/" in clustered
            assert "'{replica}'" in clustered


def test_engine_arguments_are_kept_after_the_replication_ones() -> None:
    statement = (
        "CREATE TABLE IF NOT EXISTS db.t (k String, version UInt64) "
        "ENGINE = ReplacingMergeTree(version) ORDER BY k"
    )
    assert for_cluster(statement, "c") == (
        "CREATE TABLE IF NOT EXISTS db.t ON CLUSTER c (k String, version UInt64) "
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}', "
        "version) ORDER BY k"
    )
    assert for_cluster("INSERT INTO db.t VALUES", "c") == "INSERT INTO db.t VALUES"
    assert for_cluster("CREATE DATABASE IF NOT EXISTS db", "c") == (
        "CREATE DATABASE IF NOT EXISTS db ON CLUSTER c"
    )


def test_the_cluster_form_parses_on_current_clickhouse() -> None:
    with tempfile.TemporaryDirectory() as path:
        engine = chdb_session.Session(path)
        try:
            for statement in _all_statements():
                clustered = for_cluster(statement, "main")
                literal = "'" + clustered.replace("\\", "\\\\").replace("'", "\\'") + "'"
                engine.query(f"SELECT formatQuery({literal})")
        finally:
            engine.cleanup()
