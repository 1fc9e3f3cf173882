-- Latest figures per agent, and per agent and month. version is AgentTally.version, which
-- the worker increases with every tally of the agent, so the highest is the latest.
CREATE TABLE IF NOT EXISTS {database}.agents
(
    agent_id String,
    branch_code String,
    region_code String,
    status String,
    recruits_total UInt32,
    recruits_new UInt32,
    recruits_active UInt32,
    recruits_grace UInt32,
    recruits_lapsed UInt32,
    recruits_exited UInt32,
    last_activity_on Nullable(Date),
    as_of Date,
    updated_at DateTime('UTC'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY agent_id
;
CREATE TABLE IF NOT EXISTS {database}.agent_periods
(
    agent_id String,
    period Date,
    new_recruits UInt32,
    contributions_amount Int64,
    contribution_months Int32,
    commission_amount Int64,
    bonus_amount Int64,
    payout_amount Int64,
    updated_at DateTime('UTC'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (agent_id, period)
