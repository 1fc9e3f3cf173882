-- Headline KPI by segment, province and branch. Active = ACTIVE + GRACE; inactive = NEW +
-- LAPSED; registered = active + inactive (EXITED members have left and are counted apart).
-- `progress` is this group's share of the national target, so it sums to national progress;
-- `kpi_active_total` gives the national figures in one row.
CREATE VIEW IF NOT EXISTS {database}.kpi_active_members AS
SELECT
    segment,
    region_code,
    branch_code,
    countIf(status IN ('ACTIVE', 'GRACE')) AS active,
    countIf(status IN ('NEW', 'LAPSED')) AS inactive,
    countIf(status != 'EXITED') AS registered,
    countIf(status = 'EXITED') AS exited,
    (
        SELECT if(count() = 0, 35000000, argMax(value, version))
        FROM {database}.kpi_targets
        WHERE name = 'active_members'
    ) AS target,
    round(active / target, 6) AS progress
FROM {database}.members FINAL
GROUP BY segment, region_code, branch_code
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
    -- query for `target` alone would then read members without aggregating (no row).
    SELECT
        countIf(status IN ('ACTIVE', 'GRACE')) AS active,
        countIf(status IN ('NEW', 'LAPSED')) AS inactive,
        countIf(status != 'EXITED') AS registered,
        countIf(status = 'EXITED') AS exited
    FROM {database}.members FINAL
)
;
-- Per business day: members entering and leaving each status, the headline movements
-- (new, activated = first payment, reactivated = back from LAPSED, lapsed, exited) and the
-- net change in active members. A change that only moves arrears_months counts nowhere.
CREATE VIEW IF NOT EXISTS {database}.kpi_status_daily AS
SELECT
    as_of,
    countIf(from_status = '') AS new_members,
    countIf(from_status = 'NEW' AND to_status IN ('ACTIVE', 'GRACE')) AS activated,
    countIf(from_status = 'LAPSED' AND to_status IN ('ACTIVE', 'GRACE')) AS reactivated,
    countIf(to_status = 'LAPSED' AND from_status != 'LAPSED') AS lapsed,
    countIf(to_status = 'EXITED' AND from_status != 'EXITED') AS exited,
    countIf(to_status = 'NEW' AND from_status != 'NEW') AS entered_new,
    countIf(from_status = 'NEW' AND to_status != 'NEW') AS left_new,
    countIf(to_status = 'ACTIVE' AND from_status != 'ACTIVE') AS entered_active,
    countIf(from_status = 'ACTIVE' AND to_status != 'ACTIVE') AS left_active,
    countIf(to_status = 'GRACE' AND from_status != 'GRACE') AS entered_grace,
    countIf(from_status = 'GRACE' AND to_status != 'GRACE') AS left_grace,
    countIf(to_status = 'LAPSED' AND from_status != 'LAPSED') AS entered_lapsed,
    countIf(from_status = 'LAPSED' AND to_status != 'LAPSED') AS left_lapsed,
    countIf(to_status = 'EXITED' AND from_status != 'EXITED') AS entered_exited,
    countIf(to_status IN ('ACTIVE', 'GRACE') AND from_status NOT IN ('ACTIVE', 'GRACE'))
        AS active_in,
    countIf(from_status IN ('ACTIVE', 'GRACE') AND to_status NOT IN ('ACTIVE', 'GRACE'))
        AS active_out,
    toInt64(active_in) - toInt64(active_out) AS active_net
FROM {database}.member_status_changes FINAL
GROUP BY as_of
