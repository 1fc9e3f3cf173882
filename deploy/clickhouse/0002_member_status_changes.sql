-- Every MemberStatusChanged once, by change_id. change_id is derived from the change
-- (member, statuses, as_of, paid-through, arrears, reason), so a re-emitted change has the
-- same id and the same as_of: partitioning by month of as_of therefore never splits one
-- change_id across partitions, and FINAL collapses copies.
CREATE TABLE IF NOT EXISTS {database}.member_status_changes
(
    change_id String,
    member_id String,
    from_status String,
    to_status String,
    as_of Date,
    reason String,
    paid_through Nullable(Date),
    arrears_months UInt32,
    segment String,
    branch_code String,
    region_code String,
    agent_id String,
    enrolled_on Date,
    nik_token String,
    updated_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(as_of)
ORDER BY (member_id, change_id)
