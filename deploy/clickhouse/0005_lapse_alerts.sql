-- Every LapseAlert once, by alert_id. Not partitioned by as_of: the same alert (same
-- member, type and due month) can be re-emitted on a later date after a recomputation,
-- and copies in different partitions would not collapse.
CREATE TABLE IF NOT EXISTS {database}.lapse_alerts
(
    alert_id String,
    alert_type String,
    member_id String,
    agent_id String,
    branch_code String,
    region_code String,
    as_of Date,
    paid_through Nullable(Date),
    arrears_months UInt32,
    updated_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY alert_id
