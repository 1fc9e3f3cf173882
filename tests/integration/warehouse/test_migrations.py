"""Migrations on the real ClickHouse 18.16: complete, recorded, safe to run twice."""

from __future__ import annotations

import dataclasses

import pytest
from clickhouse_driver import Client

from jamsos.settings import Settings
from jamsos.warehouse.client import make_client
from jamsos.warehouse.migrations import (
    MigrationError,
    kpi_active_target,
    load_migrations,
    migrate,
    set_kpi_active_target,
)

CONTRACT_COLUMNS = {
    "members": {
        "member_id", "segment", "branch_code", "region_code", "agent_id", "enrolled_on",
        "status", "paid_through", "arrears_months", "as_of", "nik_token", "updated_at",
    },
    "member_status_changes": {"change_id", "member_id", "from_status", "to_status", "as_of"},
    "contributions": {
        "payment_id", "member_id", "months", "amount", "paid_at", "channel",
        "collecting_agent_id", "reversed",
    },
    "agents": {
        "agent_id", "branch_code", "region_code", "status", "recruits_total", "recruits_new",
        "recruits_active", "recruits_grace", "recruits_lapsed", "recruits_exited",
        "last_activity_on", "updated_at",
    },
    "agent_periods": {
        "agent_id", "period", "new_recruits", "contributions_amount", "contribution_months",
        "commission_amount", "bonus_amount", "payout_amount", "updated_at",
    },
    "lapse_alerts": {"alert_id", "alert_type", "member_id", "as_of", "arrears_months"},
    "dead_letters": {"topic", "partition", "offset", "error_type", "error", "failed_at", "value"},
    "kpi_active_members": {"segment", "region_code", "branch_code", "active", "inactive",
                           "registered", "target", "progress"},
    "kpi_status_daily": {"as_of", "new_members", "reactivated", "lapsed", "exited",
                         "active_net"},
    "agent_leaderboard": {"rank", "agent_id", "active_recruits", "retention", "payout_total"},
    "lapsing_members": {"member_id", "agent_id", "branch_code", "arrears_months"},
}  # fmt: skip


def _columns(client: Client, db: str) -> dict[str, set[str]]:
    rows = client.execute(
        "SELECT table, name FROM system.columns WHERE database = %(db)s", {"db": db}
    )
    found: dict[str, set[str]] = {}
    for table, name in rows:
        found.setdefault(table, set()).add(name)
    return found


def test_migrations_apply_once_and_are_safe_to_rerun(
    settings: Settings, clickhouse: Client
) -> None:
    db = settings.clickhouse_database
    admin = make_client(settings)
    try:
        first = migrate(admin, db)
        second = migrate(admin, db)
    finally:
        admin.disconnect()
    assert [m.version for m in first] == [m.version for m in load_migrations()]
    assert second == []
    recorded = clickhouse.execute(f"SELECT version FROM {db}.schema_migrations ORDER BY version")
    assert [v for (v,) in recorded] == [m.version for m in first]
    columns = _columns(clickhouse, db)
    for table, wanted in CONTRACT_COLUMNS.items():
        assert wanted <= columns.get(table, set()), f"{table} lacks {wanted - columns[table]}"
    every = set().union(*columns.values())
    assert not every & {"nik", "full_name", "phone"}


def test_a_changed_migration_is_refused(settings: Settings, clickhouse: Client) -> None:
    db = settings.clickhouse_database
    admin = make_client(settings)
    try:
        migrate(admin, db)
        edited = load_migrations()
        edited[0] = dataclasses.replace(edited[0], text=edited[0].text + "\n-- edited\n")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            migrate(admin, db, edited)
    finally:
        admin.disconnect()


def test_kpi_target_is_configurable(settings: Settings, clickhouse: Client) -> None:
    db = settings.clickhouse_database
    admin = make_client(settings)
    try:
        migrate(admin, db)
        assert clickhouse.execute(f"SELECT target FROM {db}.kpi_active_total") == [(35_000_000,)]
        assert set_kpi_active_target(admin, db, 40_000_000)
        assert not set_kpi_active_target(admin, db, 40_000_000)
        assert kpi_active_target(admin, db) == 40_000_000
        assert clickhouse.execute(f"SELECT target FROM {db}.kpi_active_total") == [(40_000_000,)]
        assert set_kpi_active_target(admin, db, 35_000_000)
    finally:
        admin.disconnect()
