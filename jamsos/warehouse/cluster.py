"""The migrations' cluster form: the same DDL files, run `ON CLUSTER` with replicated tables.

With `JAMSOS_CLICKHOUSE_CLUSTER` set, each statement of a migration is rewritten before it
runs: `CREATE TABLE`, `CREATE VIEW`, `DROP TABLE` and `CREATE DATABASE` run `ON CLUSTER`
(every server of the cluster applies them, through ZooKeeper's DDL queue), and a
`MergeTree` or `ReplacingMergeTree` engine becomes its `Replicated` form, with the
`{shard}` and `{replica}` macros of each server and a ZooKeeper path per database and
table. The files stay one text, checksummed as before; the migrations record itself is a
replicated table, so every replica knows what was applied. A replicated table
deduplicates a re-sent insert block, and `FINAL` and `argMax` collapse the versions of a
key within its one shard exactly as on a single server.
"""

from __future__ import annotations

import re

_TARGET = r"(?P<name>[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)"
_DDL = re.compile(
    r"^(?P<head>\s*(?:CREATE\s+(?:TABLE|VIEW)\s+IF\s+NOT\s+EXISTS|DROP\s+TABLE(?:\s+IF\s+EXISTS)?)"
    rf"\s+){_TARGET}",
    re.IGNORECASE,
)
_DATABASE = re.compile(
    r"^(?P<head>\s*CREATE\s+DATABASE\s+IF\s+NOT\s+EXISTS\s+)(?P<name>[A-Za-z_][A-Za-z0-9_]*)",
    re.IGNORECASE,
)
_ENGINE = re.compile(
    r"ENGINE\s*=\s*(?P<kind>Replacing)?MergeTree(?:\s*\((?P<args>[^)]*)\))?", re.IGNORECASE
)


def zookeeper_path(table: str) -> str:
    """Where a replicated table keeps its log: per shard, database and table."""
    database, name = table.split(".")
    return f"/clickhouse/tables/{{shard}}/{database}/{name}"


def for_cluster(statement: str, cluster: str) -> str:
    """`statement` as run on `cluster` (unchanged when it is not DDL the cluster shares)."""
    database = _DATABASE.match(statement)
    if database:
        return (
            f"{database['head']}{database['name']} ON CLUSTER {cluster}"
            + statement[database.end() :]
        )
    ddl = _DDL.match(statement)
    if ddl is None:
        return statement
    table = ddl["name"]
    statement = f"{ddl['head']}{table} ON CLUSTER {cluster}" + statement[ddl.end() :]

    def replicated(engine: re.Match[str]) -> str:
        arguments = [f"'{zookeeper_path(table)}'", "'{replica}'"]
        if engine["args"] and engine["args"].strip():
            arguments.append(engine["args"].strip())
        return f"ENGINE = Replicated{engine['kind'] or ''}MergeTree({', '.join(arguments)})"

    return _ENGINE.sub(replicated, statement, count=1)
