-- Dashboard targets, one row per name; the highest version is current. `jamsos db migrate`
-- writes the configured target (JAMSOS_KPI_ACTIVE_TARGET) when it differs; while the table
-- is empty the views use the default of 35,000,000.
CREATE TABLE IF NOT EXISTS {database}.kpi_targets
(
    name String,
    value UInt64,
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY name
