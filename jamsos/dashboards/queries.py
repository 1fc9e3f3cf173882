"""The SQL every panel, variable and alert rule runs: one owner, so the dashboards, the
alert rules and the test that runs them on both ClickHouse engines read the same text.

Queries name tables and views without a database: the datasource's `defaultDatabase` is
the jamsos database. They use the ClickHouse plugin's macros (`$__dateFilter(column)`) and
the dashboards' variables (`${region:singlequote}`, `${branch:singlequote}`), which
`jamsos.dashboards.macros` expands the way Grafana does. Every query stays in the SQL that
ClickHouse 18.16 and current releases both run (no window functions, no `dateDiff`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jamsos.dashboards.macros import expand

REGION_FILTER = "region_code IN (${region:singlequote})"
BRANCH_FILTER = "branch_code IN (${branch:singlequote})"
PLACE_FILTER = f"{REGION_FILTER} AND {BRANCH_FILTER}"


@dataclass(frozen=True)
class Query:
    """One query and the columns it answers with (checked on both engines)."""

    sql: str
    columns: tuple[str, ...]


# Variables ---------------------------------------------------------------------------

REGIONS = Query(
    "SELECT DISTINCT region_code FROM kpi_active_members ORDER BY region_code",
    ("region_code",),
)
BRANCHES = Query(
    "SELECT DISTINCT branch_code FROM kpi_active_members "
    f"WHERE {REGION_FILTER} ORDER BY branch_code",
    ("branch_code",),
)

# National KPI --------------------------------------------------------------------------

ACTIVE_VS_TARGET = Query(
    "SELECT active, target, progress FROM kpi_active_total",
    ("active", "target", "progress"),
)
REGISTER = Query(
    "SELECT registered, active, inactive, exited FROM kpi_active_total",
    ("registered", "active", "inactive", "exited"),
)
ACTIVE_BY_SEGMENT = Query(
    "SELECT segment, sum(active) AS active, sum(inactive) AS inactive "
    f"FROM kpi_active_members WHERE {PLACE_FILTER} "
    "GROUP BY segment ORDER BY active DESC, segment",
    ("segment", "active", "inactive"),
)
ACTIVE_BY_PROVINCE = Query(
    "SELECT region_code, sum(active) AS active, sum(inactive) AS inactive, "
    "sum(progress) AS progress "
    f"FROM kpi_active_members WHERE {REGION_FILTER} "
    "GROUP BY region_code ORDER BY active DESC, region_code",
    ("region_code", "active", "inactive", "progress"),
)
DAILY_MOVEMENTS = Query(
    "SELECT toDateTime(as_of) AS time, new_members, activated, reactivated, lapsed, exited, "
    "active_net FROM kpi_status_daily WHERE $__dateFilter(as_of) ORDER BY time",
    ("time", "new_members", "activated", "reactivated", "lapsed", "exited", "active_net"),
)
ALERTS_PER_DAY = Query(
    "SELECT toDateTime(as_of) AS time, alert_type, count() AS alerts "
    f"FROM lapse_alerts FINAL WHERE $__dateFilter(as_of) AND {PLACE_FILTER} "
    "GROUP BY time, alert_type ORDER BY time, alert_type",
    ("time", "alert_type", "alerts"),
)

# Agents --------------------------------------------------------------------------------

LEADERBOARD = Query(
    "SELECT rank, agent_id, branch_code, region_code, status, active_recruits, "
    "recruits_total, retention, payout_total "
    f"FROM agent_leaderboard WHERE {PLACE_FILTER} ORDER BY rank LIMIT 100",
    (
        "rank",
        "agent_id",
        "branch_code",
        "region_code",
        "status",
        "active_recruits",
        "recruits_total",
        "retention",
        "payout_total",
    ),
)
PAYOUT_PER_PERIOD = Query(
    "SELECT toDateTime(period) AS time, sum(commission_amount) AS commission, "
    "sum(bonus_amount) AS bonus, sum(payout_amount) AS payout "
    "FROM agent_periods FINAL WHERE $__dateFilter(period) GROUP BY time ORDER BY time",
    ("time", "commission", "bonus", "payout"),
)

# Follow-up and pipeline ----------------------------------------------------------------

LAPSING_FOLLOW_UP = Query(
    "SELECT member_id, agent_id, branch_code, region_code, segment, arrears_months, "
    f"paid_through, as_of FROM lapsing_members WHERE {PLACE_FILTER} "
    "ORDER BY arrears_months DESC, member_id LIMIT 1000",
    (
        "member_id",
        "agent_id",
        "branch_code",
        "region_code",
        "segment",
        "arrears_months",
        "paid_through",
        "as_of",
    ),
)
DEAD_LETTERS_BY_REASON = Query(
    "SELECT error_type, count() AS dead_letters FROM dead_letters FINAL "
    "GROUP BY error_type ORDER BY dead_letters DESC, error_type",
    ("error_type", "dead_letters"),
)
FRESHNESS = Query(
    "SELECT toUInt32(now()) - toUInt32(max(updated_at)) AS seconds_since_last_change "
    "FROM member_status_changes",
    ("seconds_since_last_change",),
)
LAST_BUSINESS_DAY = Query(
    "SELECT toUInt32(today()) - toUInt32(max(as_of)) AS days_since_last_business_day "
    "FROM member_status_changes",
    ("days_since_last_business_day",),
)

# Alert rules: one numeric column, string columns become labels --------------------------

GRACE_BACKLOG = Query(
    "SELECT region_code, branch_code, count() AS members_in_grace FROM lapsing_members "
    "GROUP BY region_code, branch_code",
    ("region_code", "branch_code", "members_in_grace"),
)
LAPSE_SPIKE = Query(
    "SELECT if(trailing_median = 0, toFloat64(latest), latest / trailing_median) "
    "AS lapse_spike_ratio FROM ("
    "SELECT toFloat64(tupleElement(days[1], 2)) AS latest, "
    "arrayReduce('median', arrayMap(d -> toFloat64(tupleElement(d, 2)), "
    "arraySlice(days, 2, 28))) AS trailing_median "
    "FROM (SELECT arrayReverseSort(groupArray((as_of, lapsed))) AS days "
    "FROM kpi_status_daily))",
    ("lapse_spike_ratio",),
)
DEAD_LETTERS_LAST_HOUR = Query(
    "SELECT count() AS dead_letters_last_hour FROM dead_letters WHERE failed_at >= now() - 3600",
    ("dead_letters_last_hour",),
)


BY_SQL: dict[str, Query] = {
    value.sql: value for value in tuple(globals().values()) if isinstance(value, Query)
}
"""Every query above by its text: how a check finds the declared columns of a SQL text it
read back out of the generated files."""


def every_place(
    rows: Callable[[str], Sequence[Sequence[Any]]], start: datetime, end: datetime
) -> dict[str, list[str]]:
    """The dashboards' variables set to All: every province, then every branch of them,
    read with `rows` (runs a query, returns its rows)."""
    regions = [str(row[0]) for row in rows(REGIONS.sql)]
    branches = [str(row[0]) for row in rows(expand(BRANCHES.sql, start, end, {"region": regions}))]
    return {"region": regions, "branch": branches}
