"""The dashboards, as code: national KPI, agents, and follow-up with pipeline health.

Each panel's SQL comes from `jamsos.dashboards.queries`; the region and branch variables
narrow the panels that have those columns (the branch list follows the chosen regions).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import barchart, dashboard, gauge, stat, table, timeseries
from grafana_foundation_sdk.models.dashboard import (
    Dashboard,
    VariableRefresh,
    VariableSort,
)

from jamsos.dashboards import queries as q
from jamsos.dashboards.clickhouse import DATASOURCE, QueryType, SqlQuery
from jamsos.dashboards.operations import operations

TAGS = ["jamsos"]


def _sql(query: q.Query, query_type: QueryType = "table") -> SqlQuery:
    return SqlQuery(query.sql).query_type(query_type)


def _place_variables(board: dashboard.Dashboard) -> dashboard.Dashboard:
    """Region (province) and branch, both multi-value with All."""
    for name, label, query in (
        ("region", "Province", q.REGIONS),
        ("branch", "Branch", q.BRANCHES),
    ):
        board = board.with_variable(
            dashboard.QueryVariable(name)
            .label(label)
            .datasource(DATASOURCE)
            .query(query.sql)
            .multi(True)
            .include_all(True)
            .refresh(VariableRefresh.ON_DASHBOARD_LOAD)
            .sort(VariableSort.ALPHABETICAL_ASC)
        )
    return board


def _board(uid: str, title: str, description: str) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .timezone("browser")
        .time("now-1y", "now")
        .refresh("5m")
        .readonly()
    )


def national_kpi() -> Dashboard:
    """Active members against the target, the register, segments and provinces, and the
    daily movements and lapse alerts over time."""
    board = _place_variables(
        _board(
            "jamsos-national-kpi",
            "jamsos — national KPI",
            "Active contributors against the 35 M target, by segment and province, "
            "and the daily movements behind them.",
        )
    )
    return (
        board.with_row(dashboard.Row("Against the target"))
        .with_panel(
            gauge.Panel()
            .datasource(DATASOURCE)
            .title("Active members vs target")
            .description("ACTIVE + GRACE members, as a share of the national target.")
            .with_target(_sql(q.ACTIVE_VS_TARGET))
            .unit("percentunit")
            .min(0)
            .max(1)
            .height(8)
            .span(8)
        )
        .with_panel(
            stat.Panel()
            .datasource(DATASOURCE)
            .title("Register")
            .description("Registered (not exited), active, inactive and exited members.")
            .with_target(_sql(q.REGISTER))
            .unit("short")
            .height(8)
            .span(16)
        )
        .with_row(dashboard.Row("Segments and provinces"))
        .with_panel(
            barchart.Panel()
            .datasource(DATASOURCE)
            .title("Active members by segment")
            .with_target(_sql(q.ACTIVE_BY_SEGMENT))
            .x_field("segment")
            .height(9)
            .span(12)
        )
        .with_panel(
            table.Panel()
            .datasource(DATASOURCE)
            .title("Active members by province")
            .with_target(_sql(q.ACTIVE_BY_PROVINCE))
            .height(9)
            .span(12)
        )
        .with_row(dashboard.Row("Over time"))
        .with_panel(
            timeseries.Panel()
            .datasource(DATASOURCE)
            .title("Daily movements")
            .description("Members entering and leaving each status per business day.")
            .with_target(_sql(q.DAILY_MOVEMENTS, "timeseries"))
            .height(9)
            .span(24)
        )
        .with_panel(
            timeseries.Panel()
            .datasource(DATASOURCE)
            .title("Lapse alerts per day by type")
            .with_target(_sql(q.ALERTS_PER_DAY, "timeseries"))
            .height(9)
            .span(24)
        )
        .build()
    )


def agents() -> Dashboard:
    """The Perisai agent leaderboard and what agents are paid per period."""
    board = _place_variables(
        _board(
            "jamsos-agents",
            "jamsos — Perisai agents",
            "Agents ranked by active recruits, retention and payout; payout per period.",
        )
    )
    return (
        board.with_panel(
            table.Panel()
            .datasource(DATASOURCE)
            .title("Agent leaderboard")
            .with_target(_sql(q.LEADERBOARD))
            .height(12)
            .span(24)
        )
        .with_panel(
            timeseries.Panel()
            .datasource(DATASOURCE)
            .title("Payout per period")
            .description("Commission, bonus and total payout per month, all agents.")
            .with_target(_sql(q.PAYOUT_PER_PERIOD, "timeseries"))
            .height(9)
            .span(24)
        )
        .build()
    )


def follow_up() -> Dashboard:
    """Members to call before they lapse, dead letters, and whether the pipeline is fresh."""
    board = _place_variables(
        _board(
            "jamsos-follow-up",
            "jamsos — follow-up and pipeline",
            "Members in grace for their agents and branches; dead letters; freshness.",
        )
    )
    return (
        board.with_panel(
            table.Panel()
            .datasource(DATASOURCE)
            .title("Lapsing members (GRACE) to follow up")
            .with_target(_sql(q.LAPSING_FOLLOW_UP))
            .height(12)
            .span(24)
        )
        .with_panel(
            barchart.Panel()
            .datasource(DATASOURCE)
            .title("Dead letters by reason")
            .with_target(_sql(q.DEAD_LETTERS_BY_REASON))
            .x_field("error_type")
            .height(8)
            .span(12)
        )
        .with_panel(
            stat.Panel()
            .datasource(DATASOURCE)
            .title("Seconds since the last status change landed")
            .with_target(_sql(q.FRESHNESS))
            .unit("s")
            .height(4)
            .span(6)
        )
        .with_panel(
            stat.Panel()
            .datasource(DATASOURCE)
            .title("Days since the last business day closed")
            .with_target(_sql(q.LAST_BUSINESS_DAY))
            .unit("d")
            .height(4)
            .span(6)
        )
        .build()
    )


DASHBOARDS = {
    "national-kpi": national_kpi,
    "agents": agents,
    "follow-up": follow_up,
    "operations": operations,
}
"""File stem -> the dashboard it holds."""
