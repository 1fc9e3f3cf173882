-- Users of current ClickHouse releases (SQL access control). Not run on ClickHouse 18.16,
-- which has no CREATE USER or GRANT: there, deploy/local/clickhouse/users.xml.tmpl defines
-- the same users. Rendered by `jamsos.warehouse.users.render_grants` with the SHA-256
-- of each password from JAMSOS_CLICKHOUSE_WRITER_PASSWORD / _REFRESHER_PASSWORD /
-- _READER_PASSWORD, so no password is in the repository; run as the migrator.
-- The writer may only INSERT into the tables the sinks land: it can read nothing, drop
-- nothing. The refresher (the sinks' KPI refresh) reads the register and writes only the
-- aggregates. The
-- reader may only SELECT from the database (tables and views), and stays readonly = 1 with
-- one exception: Grafana's ClickHouse plugin sets max_execution_time on every query, which
-- readonly = 1 refuses unless the setting is CHANGEABLE_IN_READONLY (up to 60 s here).
-- The ALTER brings a reader made by an earlier version of this file to the same settings.
CREATE USER IF NOT EXISTS jamsos_writer IDENTIFIED WITH sha256_hash BY '{writer_password_sha256}'
;
CREATE USER IF NOT EXISTS jamsos_refresher
    IDENTIFIED WITH sha256_hash BY '{refresher_password_sha256}'
;
CREATE USER IF NOT EXISTS jamsos_reader IDENTIFIED WITH sha256_hash BY '{reader_password_sha256}'
    SETTINGS readonly = 1, max_execution_time = 60 CHANGEABLE_IN_READONLY
;
ALTER USER jamsos_reader SETTINGS readonly = 1, max_execution_time = 60 CHANGEABLE_IN_READONLY
;
GRANT INSERT ON {database}.members TO jamsos_writer
;
GRANT INSERT ON {database}.member_status_changes TO jamsos_writer
;
GRANT INSERT ON {database}.contribution_payments TO jamsos_writer
;
GRANT INSERT ON {database}.contribution_reversals TO jamsos_writer
;
GRANT INSERT ON {database}.agents TO jamsos_writer
;
GRANT INSERT ON {database}.agent_periods TO jamsos_writer
;
GRANT INSERT ON {database}.lapse_alerts TO jamsos_writer
;
GRANT INSERT ON {database}.dead_letters TO jamsos_writer
;
GRANT INSERT ON {database}.kpi_changed_days TO jamsos_writer
;
-- The KPI refresh the sinks run (jamsos.warehouse.kpi) recounts the register: it reads the
-- tables it counts and writes the aggregates. members and member_status_changes carry no
-- personal data (nik_token only).
GRANT SELECT ON {database}.members TO jamsos_refresher
;
GRANT SELECT ON {database}.member_status_changes TO jamsos_refresher
;
GRANT SELECT, INSERT ON {database}.kpi_member_counts TO jamsos_refresher
;
GRANT SELECT, INSERT ON {database}.kpi_status_transitions TO jamsos_refresher
;
GRANT SELECT, INSERT ON {database}.kpi_refreshes TO jamsos_refresher
;
GRANT SELECT ON {database}.kpi_changed_days TO jamsos_refresher
;
-- ALTER DELETE is what ALTER TABLE … DROP PARTITION needs: the refresh drops the
-- generations of members in GRACE that no reader uses any more.
GRANT SELECT, INSERT, ALTER DELETE ON {database}.kpi_lapsing_members TO jamsos_refresher
;
-- The reader reads every table and view but dead_letters' raw value column (which the sink
-- fills with a length and hash only, never the bytes, in any case).
GRANT SELECT ON {database}.* TO jamsos_reader
;
REVOKE SELECT(value) ON {database}.dead_letters FROM jamsos_reader
