-- Agents ranked by active recruits (ACTIVE + GRACE), then retention (active / total
-- recruits), then payout over all periods, then agent_id so ranks are unique and stable.
-- Ranks come from sorting one array of ~4,000 agents: ClickHouse 18.16 has no window
-- functions.
CREATE VIEW IF NOT EXISTS {database}.agent_leaderboard AS
SELECT
    rank,
    tupleElement(row, 5) AS agent_id,
    tupleElement(row, 6) AS branch_code,
    tupleElement(row, 7) AS region_code,
    tupleElement(row, 8) AS status,
    tupleElement(row, 1) AS active_recruits,
    tupleElement(row, 9) AS recruits_total,
    tupleElement(row, 2) AS retention,
    tupleElement(row, 3) AS payout_total,
    tupleElement(row, 10) AS commission_total,
    tupleElement(row, 11) AS bonus_total
FROM
(
    SELECT arraySort(
        x -> (-tupleElement(x, 1), -tupleElement(x, 2), -tupleElement(x, 3), tupleElement(x, 5)),
        groupArray(tuple(
            active_recruits, retention, payout_total, 0, agent_id, branch_code, region_code,
            status, recruits_total, commission_total, bonus_total
        ))
    ) AS board
    FROM
    (
        SELECT
            agent_id,
            branch_code,
            region_code,
            status,
            toUInt64(recruits_active + recruits_grace) AS active_recruits,
            toUInt64(recruits_total) AS recruits_total,
            if(recruits_total = 0, 0, round(active_recruits / recruits_total, 6)) AS retention,
            payout_total,
            commission_total,
            bonus_total
        FROM
        (
            SELECT agent_id, branch_code, region_code, status, recruits_active,
                   recruits_grace, recruits_total
            FROM {database}.agents FINAL
        ) AS current
        ANY LEFT JOIN
        (
            SELECT
                agent_id,
                sum(payout_amount) AS payout_total,
                sum(commission_amount) AS commission_total,
                sum(bonus_amount) AS bonus_total
            FROM {database}.agent_periods FINAL
            GROUP BY agent_id
        ) AS paid USING agent_id
    )
)
ARRAY JOIN board AS row, arrayEnumerate(board) AS rank
;
-- Members in GRACE, for follow-up by their agent and branch.
CREATE VIEW IF NOT EXISTS {database}.lapsing_members AS
SELECT
    member_id,
    agent_id,
    branch_code,
    region_code,
    segment,
    arrears_months,
    paid_through,
    as_of
FROM {database}.members FINAL
WHERE status = 'GRACE'
