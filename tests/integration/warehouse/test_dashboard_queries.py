"""Every query in the generated Grafana files (panels, variables, alert rules) runs on
ClickHouse 18.16 and on current ClickHouse against the same rows, after Grafana's macro and
variable expansion, and answers with the columns it declares; both engines give the same
rows (except queries that read the clock)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jamsos.dashboards import queries as q
from jamsos.dashboards.macros import expand
from jamsos.dashboards.provisioning import queries_in_files
from jamsos.settings import Settings
from tests.integration.warehouse.engines import Http, both_engines

START, END = datetime(2018, 1, 1), datetime(2020, 12, 31, 23, 59)
"""A dashboard time range that covers the dataset's days."""


def _answer(text: str) -> tuple[list[str], list[str]]:
    lines = text.splitlines()
    return lines[0].split("\t"), sorted(lines[1:])


def test_every_generated_query_runs_alike_on_18_16_and_current_clickhouse(
    settings: Settings,
) -> None:
    database = f"{settings.clickhouse_database}_dashboards"
    sqls = queries_in_files()
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
            query = q.BY_SQL[sql]
            (old_columns, old_rows), (new_columns, new_rows) = on_both(
                expand(sql, START, END, variables)
            )
            assert old_columns == list(query.columns), sql
            assert new_columns == list(query.columns), sql
            if "now()" not in sql and "today()" not in sql:
                assert old_rows == new_rows, sql
            non_empty += bool(old_rows)
        assert non_empty == len(sqls), "a query answered nothing on the dataset"
