-- Members in GRACE, as of the last KPI refresh: one generation per refresh, each its own
-- partition, so `lapsing_members` reads one generation's rows instead of collapsing the
-- whole register with FINAL (8 s at 50 M members on 18.16). The refresh writes a new
-- generation, then records it in kpi_refreshes (name 'lapsing', version = generation):
-- readers switch to it only once it is complete. Older generations are dropped by the
-- refresh (ALTER TABLE … DROP PARTITION) when its account may; see docs/clickhouse.md.
CREATE TABLE IF NOT EXISTS {database}.kpi_lapsing_members
(
    generation UInt64,
    member_id String,
    agent_id String,
    branch_code String,
    region_code String,
    segment String,
    arrears_months UInt32,
    paid_through Nullable(Date),
    as_of Date
)
ENGINE = MergeTree
PARTITION BY generation
ORDER BY (region_code, branch_code, member_id)
;
DROP TABLE IF EXISTS {database}.lapsing_members
;
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
FROM {database}.kpi_lapsing_members
WHERE generation = (
    SELECT max(version) FROM {database}.kpi_refreshes WHERE name = 'lapsing'
)
