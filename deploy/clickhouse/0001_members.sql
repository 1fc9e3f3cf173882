-- Latest state per member. One row per MemberStatusChanged lands here; ReplacingMergeTree
-- keeps the highest `version` per member_id when parts merge, and `FINAL` (or argMax by
-- version) gives exactly that row before merges happen. version = the change's `sequence`
-- (the member's change number, 1, 2, 3 ...), so a re-delivered or replayed change never wins
-- over a later one. No partitioning: FINAL only collapses rows within one partition, and no
-- column of a member's state is stable enough to partition by except member_id itself.
CREATE TABLE IF NOT EXISTS {database}.members
(
    member_id String,
    segment String,
    branch_code String,
    region_code String,
    agent_id String,
    enrolled_on Date,
    status String,
    paid_through Nullable(Date),
    arrears_months UInt32,
    as_of Date,
    nik_token String,
    updated_at DateTime('UTC'),
    change_id String,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY member_id
