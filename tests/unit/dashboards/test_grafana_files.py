"""The Grafana files under deploy/grafana/ are what the code generates, parse back into the
SDK's types unchanged, and every query in them is one of `jamsos.dashboards.queries`."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import alerting
from grafana_foundation_sdk.models.dashboard import Dashboard

from jamsos.dashboards import queries as q
from jamsos.dashboards.alerts import rule_queries
from jamsos.dashboards.clickhouse import DATASOURCE_UID, PLUGIN
from jamsos.dashboards.macros import UnknownVariableError, expand, variables_used
from jamsos.dashboards.operations import PROMETHEUS_UID, expressions
from jamsos.dashboards.provisioning import GRAFANA_DIR, files, stale, write
from tests.unit.metric_series import exported_series


def _dashboards() -> dict[str, dict[str, Any]]:
    return {
        name: json.loads((GRAFANA_DIR / name).read_text())
        for name in files()
        if name.startswith("dashboards/")
    }


def _yaml(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((GRAFANA_DIR / name).read_text())
    return loaded


def test_the_committed_files_are_what_the_code_generates(tmp_path: Path) -> None:
    assert stale() == [], "run `jamsos grafana` and commit deploy/grafana"
    write(tmp_path)
    assert stale(tmp_path) == []
    (tmp_path / "dashboards" / "agents.json").write_text("{}")
    assert stale(tmp_path) == ["dashboards/agents.json"]


def test_dashboards_parse_into_the_sdk_types_unchanged() -> None:
    boards = _dashboards()
    assert set(boards) == {
        "dashboards/national-kpi.json",
        "dashboards/agents.json",
        "dashboards/follow-up.json",
        "dashboards/operations.json",
    }
    for name, board in boards.items():
        again = json.loads(json.dumps(Dashboard.from_json(board), cls=JSONEncoder))
        assert again == board, name


def test_alert_rules_parse_into_the_sdk_types_unchanged() -> None:
    group = _yaml("provisioning/alerting/jamsos-rules.yaml")["groups"][0]
    assert group["interval"] == "300s"
    for rule in group["rules"]:
        api = {**rule, "folderUID": "jamsos", "ruleGroup": group["name"], "orgID": 1}
        again = json.loads(json.dumps(alerting.Rule.from_json(api), cls=JSONEncoder))
        assert {k: v for k, v in again.items() if k in rule} == rule
        refs = [step["refId"] for step in rule["data"]]
        assert refs == ["A", "B", "C"]
        assert rule["condition"] == "C"
        assert [step["model"].get("type") for step in rule["data"][1:]] == [
            "reduce",
            "threshold",
        ]
    assert {rule["uid"] for rule in group["rules"]} == {
        "jamsos-grace-backlog",
        "jamsos-lapse-spike",
        "jamsos-business-day-not-closed",
        "jamsos-pipeline-freshness",
        "jamsos-dead-letters-rising",
    }


def test_notifications_route_branch_alerts_by_region_and_branch() -> None:
    notifications = _yaml("provisioning/alerting/jamsos-notifications.yaml")
    names = {point["name"] for point in notifications["contactPoints"]}
    policy = notifications["policies"][0]
    assert policy["receiver"] in names
    branch_route = policy["routes"][0]
    assert branch_route["receiver"] in names
    assert branch_route["object_matchers"] == [["audience", "=", "branch"]]
    assert {"region_code", "branch_code"} <= set(branch_route["group_by"])
    branch_rules = [
        rule
        for rule in _yaml("provisioning/alerting/jamsos-rules.yaml")["groups"][0]["rules"]
        if rule["labels"].get("audience") == "branch"
    ]
    assert branch_rules, "no rule is routed to the branches"


def test_the_datasource_reads_as_the_reader_with_the_password_from_the_environment() -> None:
    source = _yaml("provisioning/datasources/jamsos-clickhouse.yaml")["datasources"][0]
    assert source["type"] == PLUGIN
    assert source["uid"] == DATASOURCE_UID
    assert set(source["jsonData"]) >= {"host", "port", "protocol", "defaultDatabase", "username"}
    assert source["jsonData"]["username"] == "jamsos_reader"
    assert source["secureJsonData"] == {"password": "${JAMSOS_CLICKHOUSE_READER_PASSWORD}"}
    text = (GRAFANA_DIR / "provisioning/datasources/jamsos-clickhouse.yaml").read_text()
    assert "password" not in text.replace("password: ${JAMSOS_CLICKHOUSE_READER_PASSWORD}", "")


def test_every_panel_and_variable_runs_a_known_query_on_the_clickhouse_datasource() -> None:
    seen = set()
    for name, board in _dashboards().items():
        if name == "dashboards/operations.json":  # Prometheus: see the test below
            continue
        defined = {variable["name"] for variable in board["templating"]["list"]}
        sqls = [variable["query"] for variable in board["templating"]["list"]]
        for panel in board["panels"]:
            if panel["type"] == "row":
                continue
            assert panel["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
            assert len(panel["targets"]) == 1, panel["title"]
            sqls.append(panel["targets"][0]["rawSql"])
        for sql in sqls:
            assert sql in q.BY_SQL, f"{name}: a query not in jamsos.dashboards.queries"
            assert variables_used(sql) <= defined, f"{name}: {sql}"
            seen.add(sql)
    assert len(seen) >= 12


def test_every_alert_rule_names_a_known_query() -> None:
    found = rule_queries()
    assert len(found) == 5
    assert all(query.sql in q.BY_SQL for query in found.values())


def test_macros_expand_as_the_plugin_does() -> None:
    start, end = datetime(2026, 1, 1, 0, 0), datetime(2026, 1, 31, 23, 0)
    sql = "SELECT 1 WHERE $__dateFilter(as_of) AND region_code IN (${region:singlequote})"
    assert expand(sql, start, end, {"region": ["31", "O'x"]}) == (
        "SELECT 1 WHERE as_of >= toDate('2026-01-01') AND as_of <= toDate('2026-01-31') "
        "AND region_code IN ('31','O\\'x')"
    )
    with pytest.raises(UnknownVariableError):
        expand("SELECT ${branch}", start, end, {})


def test_the_operations_dashboard_reads_only_series_the_processes_export() -> None:
    """Every panel reads the Prometheus datasource, and every `jamsos_*` series it names
    is one the worker or the sink defines (`streams.metrics`, `consumers.metrics`)."""
    board = _dashboards()["dashboards/operations.json"]
    exprs = []
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == PROMETHEUS_UID, panel["title"]
        exprs += [target["expr"] for target in panel["targets"]]
    assert exprs == expressions()
    used = {
        name
        for expr in exprs
        for name in re.findall(r"\b(jamsos_[a-z_]+?)(?:_total|_bucket)?\b", expr)
    }
    assert used <= exported_series(), sorted(used - exported_series())
    assert len(used) >= 8
