"""Refreshing the pre-aggregated KPI tables (`deploy/clickhouse/0011_kpi_aggregates.sql`).

A refresh recomputes, never increments, so it is right however often rows were delivered:
- member counts per segment, province, branch and status from `members FINAL`, with every
  cell that emptied since the last refresh written again as 0;
- status transitions of each business day listed in `kpi_changed_days` as landed since the
  previous refresh began (less `LANDING_MARGIN`, for inserts that were still being written
  when it read), from `member_status_changes FINAL`, emptied cells likewise written as 0;
- the members in GRACE, as a new generation of `kpi_lapsing_members` (`lapsing_members`).

Nothing landed since the previous refresh: nothing is recomputed (an idle pipeline costs
one small query per refresh). Versions are the table's highest plus one, so a refresh wins
over every earlier one whatever the clocks of the machines running them say. Every step is
plain SQL that ClickHouse 18.16 and current releases both run. (Aliases are named apart
from columns on purpose: ClickHouse resolves an alias before a column of the same name,
in WHERE too.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

REFRESH_NAME = "kpi"
LANDING_MARGIN_SECONDS = 60
"""How far before the previous refresh's start a landing still counts as new: an insert
stamped just before that start may have become visible only after the refresh read."""


class Executor(Protocol):
    """What a refresh needs of a ClickHouse client (clickhouse-driver's `Client` fits)."""

    def execute(self, query: str, params: Any = None) -> Any: ...


_LAST_REFRESH = """
SELECT count(), toUInt32(argMax(started_at, version))
FROM {database}.kpi_refreshes WHERE name = '{name}'
"""
_LANDED_SINCE = """
SELECT count() FROM {database}.kpi_changed_days FINAL WHERE landed_at >= toDateTime({since})
"""
_MEMBER_COUNTS = """
INSERT INTO {database}.kpi_member_counts
    (segment, region_code, branch_code, status, members, version)
SELECT segment, region_code, branch_code, status, sum(counted),
    (SELECT max(version) + 1 FROM {database}.kpi_member_counts)
FROM
(
    SELECT segment, region_code, branch_code, status, count() AS counted
    FROM {database}.members FINAL
    GROUP BY segment, region_code, branch_code, status
    UNION ALL
    SELECT segment, region_code, branch_code, status, toUInt64(0) AS counted
    FROM {database}.kpi_member_counts FINAL
    WHERE members > 0
)
GROUP BY segment, region_code, branch_code, status
"""
_TRANSITIONS = """
INSERT INTO {database}.kpi_status_transitions
    (as_of, from_status, to_status, changes, version)
SELECT as_of, from_status, to_status, sum(counted),
    (SELECT max(version) + 1 FROM {database}.kpi_status_transitions)
FROM
(
    SELECT as_of, from_status, to_status, count() AS counted
    FROM {database}.member_status_changes FINAL
    WHERE as_of IN (
        SELECT as_of FROM {database}.kpi_changed_days FINAL
        WHERE landed_at >= toDateTime({since})
    )
    GROUP BY as_of, from_status, to_status
    UNION ALL
    SELECT as_of, from_status, to_status, toUInt64(0) AS counted
    FROM {database}.kpi_status_transitions FINAL
    WHERE changes > 0 AND as_of IN (
        SELECT as_of FROM {database}.kpi_changed_days FINAL
        WHERE landed_at >= toDateTime({since})
    )
)
GROUP BY as_of, from_status, to_status
"""
_RECORD = """
INSERT INTO {database}.kpi_refreshes (name, started_at, finished_at, version)
SELECT '{name}', toDateTime({started}), now(),
    (SELECT max(version) + 1 FROM {database}.kpi_refreshes WHERE name = '{name}')
"""
LAPSING = "lapsing"
_LAPSING_GENERATION = """
INSERT INTO {database}.kpi_lapsing_members
    (generation, member_id, agent_id, branch_code, region_code, segment, arrears_months,
     paid_through, as_of)
SELECT {generation}, member_id, agent_id, branch_code, region_code, segment,
    arrears_months, paid_through, as_of
FROM {database}.members FINAL
WHERE status = 'GRACE'
"""
_LAPSING_RECORD = """
INSERT INTO {database}.kpi_refreshes (name, started_at, finished_at, version)
SELECT '{name}', toDateTime({started}), now(), {generation}
"""
_LAPSING_CURRENT = """
SELECT max(version) FROM {database}.kpi_refreshes WHERE name = '{name}'
"""
_LAPSING_OLD = """
SELECT DISTINCT generation FROM {database}.kpi_lapsing_members WHERE generation < {before}
"""


@dataclass(frozen=True)
class KpiRefresh:
    """What one refresh did."""

    recomputed: bool
    seconds: float


def refresh_kpis(
    client: Executor, database: str, margin: int = LANDING_MARGIN_SECONDS
) -> KpiRefresh:
    """Bring the KPI tables of `database` up to what its tables hold now; `margin` seconds
    before the previous refresh's start still count as new (`LANDING_MARGIN_SECONDS`)."""
    began = time.perf_counter()
    started = int(client.execute("SELECT toUInt32(now())")[0][0])
    refreshes, previous_start = client.execute(
        _LAST_REFRESH.format(database=database, name=REFRESH_NAME)
    )[0]
    since = max(0, int(previous_start) - margin) if refreshes else 0
    landed = client.execute(_LANDED_SINCE.format(database=database, since=since))[0][0]
    if refreshes and not landed:
        return KpiRefresh(False, time.perf_counter() - began)
    client.execute(_MEMBER_COUNTS.format(database=database))
    client.execute(_TRANSITIONS.format(database=database, since=since))
    client.execute(_RECORD.format(database=database, name=REFRESH_NAME, started=started))
    _refresh_lapsing(client, database, started)
    seconds = time.perf_counter() - began
    log.info("KPI tables of %s refreshed in %.2fs", database, seconds)
    return KpiRefresh(True, seconds)


def _refresh_lapsing(client: Executor, database: str, started: int) -> None:
    """A new generation of the members in GRACE, recorded once complete; then the
    generations before the one readers used until now are dropped.

    A generation number is the refresh's time in microseconds (not the highest plus one:
    two sinks refreshing at once must not write into one generation, which would list
    their members twice). Dropping needs ALTER rights on the table; the 18.16 writer
    profile has none (allow_ddl = 0), so there the old generations stay until a refresh
    run by an account that may (`jamsos db refresh-kpis` as the migrator)."""
    generation = time.time_ns() // 1000
    keep = client.execute(_LAPSING_CURRENT.format(database=database, name=LAPSING))[0][0]
    client.execute(_LAPSING_GENERATION.format(database=database, generation=generation))
    client.execute(
        _LAPSING_RECORD.format(
            database=database, name=LAPSING, started=started, generation=generation
        )
    )
    before = min(int(keep or generation), generation)
    old = client.execute(_LAPSING_OLD.format(database=database, before=before))
    try:
        for (number,) in old:
            client.execute(
                f"ALTER TABLE {database}.kpi_lapsing_members DROP PARTITION {int(number)}"
            )
    except Exception as error:  # no ALTER rights: they stay, the view reads only the newest
        log.warning(
            "old generations of %s.kpi_lapsing_members stay (%s: %s)",
            database,
            type(error).__name__,
            str(error).splitlines()[0] if str(error) else "",
        )


def refresh_statements(database: str, since: int, started: int) -> list[str]:
    """The writing statements of one full refresh, for running on another engine."""
    return [
        _MEMBER_COUNTS.format(database=database),
        _TRANSITIONS.format(database=database, since=since),
        _RECORD.format(database=database, name=REFRESH_NAME, started=started),
        _LAPSING_GENERATION.format(database=database, generation=started),
        _LAPSING_RECORD.format(
            database=database, name=LAPSING, started=started, generation=started
        ),
    ]


_COUNTS = """
    countIf(status IN ('ACTIVE', 'GRACE')) AS active,
    countIf(status IN ('NEW', 'LAPSED')) AS inactive,
    countIf(status != 'EXITED') AS registered,
    countIf(status = 'EXITED') AS exited"""
_TRANSITION_COUNTS = """
    countIf(from_status = '') AS new_members,
    countIf(from_status = 'NEW' AND to_status IN ('ACTIVE', 'GRACE')) AS activated,
    countIf(from_status = 'LAPSED' AND to_status IN ('ACTIVE', 'GRACE')) AS reactivated,
    countIf(to_status = 'LAPSED' AND from_status != 'LAPSED') AS lapsed,
    countIf(to_status = 'EXITED' AND from_status != 'EXITED') AS exited,
    countIf(to_status IN ('ACTIVE', 'GRACE') AND from_status NOT IN ('ACTIVE', 'GRACE'))
        AS active_in,
    countIf(from_status IN ('ACTIVE', 'GRACE') AND to_status NOT IN ('ACTIVE', 'GRACE'))
        AS active_out"""
_LAPSING_COLUMNS = (
    "member_id, agent_id, branch_code, region_code, segment, arrears_months, paid_through, as_of"
)
AGREEMENT = {
    "kpi_active_members": (
        "SELECT segment, region_code, branch_code, active, inactive, registered, exited "
        "FROM {database}.kpi_active_members",
        f"SELECT segment, region_code, branch_code, {_COUNTS} "
        "FROM {database}.members FINAL GROUP BY segment, region_code, branch_code",
    ),
    "kpi_active_total": (
        "SELECT active, inactive, registered, exited FROM {database}.kpi_active_total",
        f"SELECT {_COUNTS} FROM {{database}}.members FINAL",
    ),
    "kpi_status_daily": (
        "SELECT as_of, new_members, activated, reactivated, lapsed, exited, active_in, "
        "active_out FROM {database}.kpi_status_daily",
        f"SELECT as_of, {_TRANSITION_COUNTS} "
        "FROM {database}.member_status_changes FINAL GROUP BY as_of",
    ),
    "lapsing_members": (
        f"SELECT {_LAPSING_COLUMNS} FROM {{database}}.lapsing_members",
        f"SELECT {_LAPSING_COLUMNS} FROM {{database}}.members FINAL WHERE status = 'GRACE'",
    ),
}
"""Per KPI view: what it shows, and the same figures counted from the register itself."""


def kpi_disagreements(client: Executor, database: str) -> list[str]:
    """The KPI views whose figures differ from the register's (empty: all agree). Right
    after a refresh every view must agree; the demo and the tests check it."""
    differ = []
    for view, (shown, counted) in AGREEMENT.items():
        left = sorted(client.execute(shown.format(database=database)))
        right = sorted(client.execute(counted.format(database=database)))
        if left != right:
            differ.append(view)
    return differ


class KpiRefresher:
    """Refreshes the KPI tables every `interval` seconds on a thread of its own (the sink's
    flushes never wait for it), and once more when stopped."""

    def __init__(
        self, connect: Callable[[], Any], database: str, interval: float, stop: threading.Event
    ) -> None:
        self.connect = connect
        self.database = database
        self.interval = interval
        self.stop = stop
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="kpi-refresh", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def refresh_once(self) -> KpiRefresh | None:
        """One refresh; a failure is logged and kept in `last_error`, never raised: stale
        KPIs are what the freshness alert is for, a stopped sink would be worse."""
        client = self.connect()
        try:
            done = refresh_kpis(client, self.database)
            self.last_error = None
            return done
        except Exception as error:
            self.last_error = f"{type(error).__name__}: {error}"
            log.warning("KPI refresh of %s failed (%s)", self.database, self.last_error)
            return None
        finally:
            client.disconnect()

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            self.refresh_once()
