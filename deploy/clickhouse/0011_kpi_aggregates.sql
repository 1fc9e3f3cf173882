-- Pre-aggregated KPIs: the dashboard views read thousands of rows, not the register.
--
-- An at-least-once sink cannot keep running +1/-1 counters exact on 18.16 (a re-delivered
-- batch would count twice, and only replicated tables deduplicate inserts), so the
-- aggregates are recomputed, never incremented: `jamsos.warehouse.kpi.refresh_kpis`
-- (run by the sink every JAMSOS_KPI_REFRESH_SECONDS, after its last flush, and by `jamsos
-- db refresh-kpis`) writes the member counts per segment, province, branch and status from
-- `members FINAL`, and the status transitions of every business day whose changes landed
-- since the last refresh. Recomputing is replay-safe and crash-safe by construction: a
-- refresh always equals what the tables hold, however often rows arrived.
--
-- Days whose changes landed: one row per business day, the latest landing winning. The
-- sink writes it in the same flush as the changes, before their offsets are committed.
CREATE TABLE IF NOT EXISTS {database}.kpi_changed_days
(
    as_of Date,
    landed_at DateTime('UTC') DEFAULT now()
)
ENGINE = ReplacingMergeTree(landed_at)
ORDER BY as_of
;
-- Members per segment, province, branch and status, as of the last refresh. A cell that
-- empties is written again as 0, so FINAL never shows a stale count.
CREATE TABLE IF NOT EXISTS {database}.kpi_member_counts
(
    segment String,
    region_code String,
    branch_code String,
    status String,
    members UInt64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (segment, region_code, branch_code, status)
;
-- Status changes per business day and transition (from_status '' = enrolment).
CREATE TABLE IF NOT EXISTS {database}.kpi_status_transitions
(
    as_of Date,
    from_status String,
    to_status String,
    changes UInt64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (as_of, from_status, to_status)
;
-- When each refresh ran, and up to which landing time it is complete.
CREATE TABLE IF NOT EXISTS {database}.kpi_refreshes
(
    name String,
    started_at DateTime('UTC'),
    finished_at DateTime('UTC'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY name
;
DROP TABLE IF EXISTS {database}.kpi_active_members
;
CREATE VIEW IF NOT EXISTS {database}.kpi_active_members AS
SELECT
    segment,
    region_code,
    branch_code,
    sumIf(members, status IN ('ACTIVE', 'GRACE')) AS active,
    sumIf(members, status IN ('NEW', 'LAPSED')) AS inactive,
    sumIf(members, status != 'EXITED') AS registered,
    sumIf(members, status = 'EXITED') AS exited,
    (
        SELECT if(count() = 0, 35000000, argMax(value, version))
        FROM {database}.kpi_targets
        WHERE name = 'active_members'
    ) AS target,
    round(active / target, 6) AS progress
FROM {database}.kpi_member_counts FINAL
GROUP BY segment, region_code, branch_code
HAVING registered + exited > 0
;
DROP TABLE IF EXISTS {database}.kpi_active_total
;
CREATE VIEW IF NOT EXISTS {database}.kpi_active_total AS
SELECT
    active,
    inactive,
    registered,
    exited,
    (
        SELECT if(count() = 0, 35000000, argMax(value, version))
        FROM {database}.kpi_targets
        WHERE name = 'active_members'
    ) AS target,
    round(active / target, 6) AS progress
FROM
(
    -- Aggregated in a subquery: ClickHouse 18.16 drops unused aggregates from a view, and a
    -- query for `target` alone would then read the counts without aggregating (no row).
    SELECT
        sumIf(members, status IN ('ACTIVE', 'GRACE')) AS active,
        sumIf(members, status IN ('NEW', 'LAPSED')) AS inactive,
        sumIf(members, status != 'EXITED') AS registered,
        sumIf(members, status = 'EXITED') AS exited
    FROM {database}.kpi_member_counts FINAL
)
;
DROP TABLE IF EXISTS {database}.kpi_status_daily
;
CREATE VIEW IF NOT EXISTS {database}.kpi_status_daily AS
SELECT
    as_of,
    sumIf(changes, from_status = '') AS new_members,
    sumIf(changes, from_status = 'NEW' AND to_status IN ('ACTIVE', 'GRACE')) AS activated,
    sumIf(changes, from_status = 'LAPSED' AND to_status IN ('ACTIVE', 'GRACE')) AS reactivated,
    sumIf(changes, to_status = 'LAPSED' AND from_status != 'LAPSED') AS lapsed,
    sumIf(changes, to_status = 'EXITED' AND from_status != 'EXITED') AS exited,
    sumIf(changes, to_status = 'NEW' AND from_status != 'NEW') AS entered_new,
    sumIf(changes, from_status = 'NEW' AND to_status != 'NEW') AS left_new,
    sumIf(changes, to_status = 'ACTIVE' AND from_status != 'ACTIVE') AS entered_active,
    sumIf(changes, from_status = 'ACTIVE' AND to_status != 'ACTIVE') AS left_active,
    sumIf(changes, to_status = 'GRACE' AND from_status != 'GRACE') AS entered_grace,
    sumIf(changes, from_status = 'GRACE' AND to_status != 'GRACE') AS left_grace,
    sumIf(changes, to_status = 'LAPSED' AND from_status != 'LAPSED') AS entered_lapsed,
    sumIf(changes, from_status = 'LAPSED' AND to_status != 'LAPSED') AS left_lapsed,
    sumIf(changes, to_status = 'EXITED' AND from_status != 'EXITED') AS entered_exited,
    sumIf(changes, to_status IN ('ACTIVE', 'GRACE') AND from_status NOT IN ('ACTIVE', 'GRACE'))
        AS active_in,
    sumIf(changes, from_status IN ('ACTIVE', 'GRACE') AND to_status NOT IN ('ACTIVE', 'GRACE'))
        AS active_out,
    toInt64(active_in) - toInt64(active_out) AS active_net
FROM {database}.kpi_status_transitions FINAL
GROUP BY as_of
HAVING sum(changes) > 0

