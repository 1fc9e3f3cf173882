"""Every query in the generated Grafana files (panels, variables, alert rules) runs on
ClickHouse 18.16 and on current ClickHouse against the same rows, after Grafana's macro and
variable expansion, and answers with the columns it declares; both engines give the same
rows (except queries that read the clock)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import yaml

from jamsos.dashboards import queries as q
from jamsos.dashboards.clickhouse import DATASOURCE_UID
from jamsos.dashboards.macros import expand
from jamsos.dashboards.provisioning import GRAFANA_DIR, files
from jamsos.settings import Settings
from tests.integration.warehouse.engines import Http, both_engines

KNOWN = {value.sql: value for value in vars(q).values() if isinstance(value, q.Query)}
START, END = datetime(2018, 1, 1), datetime(2020, 12, 31, 23, 59)
"""A dashboard time range that covers the dataset's days."""


def _artefact_queries() -> list[str]:
    """Every SQL text in the generated files, read back from the files themselves."""
    found: list[str] = []
    for name in files():
        path = GRAFANA_DIR / name
        if name.startswith("dashboards/"):
            board = json.loads(path.read_text())
            found += [variable["query"] for variable in board["templating"]["list"]]
            found += [t["rawSql"] for p in board["panels"] for t in p.get("targets", [])]
        elif name.endswith("-rules.yaml"):
            for rule in yaml.safe_load(path.read_text())["groups"][0]["rules"]:
                found += [
                    step["model"]["rawSql"]
                    for step in rule["data"]
                    if step["datasourceUid"] == DATASOURCE_UID
                ]
    return list(dict.fromkeys(found))


def _answer(text: str) -> tuple[list[str], list[str]]:
    lines = text.splitlines()
    return lines[0].split("\t"), sorted(lines[1:])


def test_every_generated_query_runs_alike_on_18_16_and_current_clickhouse(
    settings: Settings,
) -> None:
    database = f"{settings.clickhouse_database}_dashboards"
    sqls = _artefact_queries()
    assert len(sqls) >= 17
    with both_engines(settings, database) as (old, current):

        def on_both(sql: str) -> tuple[Any, Any]:
            on_old = _answer(Http.query(old, sql + " FORMAT TSVWithNames", database))
            on_new = _answer(str(current.query(f"USE {database}; {sql}", "TSVWithNames")))
            return on_old, on_new

        _, regions = on_both(q.REGIONS.sql)[0]
        assert regions, "no region in the dataset: the variables would prove nothing"
        variables = {"region": regions}
        variables["branch"] = on_both(expand(q.BRANCHES.sql, START, END, variables))[0][1]
        non_empty = 0
        for sql in sqls:
            query = KNOWN[sql]
            (old_columns, old_rows), (new_columns, new_rows) = on_both(
                expand(sql, START, END, variables)
            )
            assert old_columns == list(query.columns), sql
            assert new_columns == list(query.columns), sql
            if "now()" not in sql and "today()" not in sql:
                assert old_rows == new_rows, sql
            non_empty += bool(old_rows)
        assert non_empty == len(sqls), "a query answered nothing on the dataset"
