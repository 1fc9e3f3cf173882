"""`jamsos db migrate`: the ClickHouse schema of deploy/clickhouse, applied once each."""

from __future__ import annotations

import click

from jamsos.cli.common import CommandError, load_settings, one_line_errors
from jamsos.warehouse.client import make_client
from jamsos.warehouse.migrations import MigrationError, migrate, set_kpi_active_target


@click.group()
def db() -> None:
    """The ClickHouse warehouse."""


@db.command(name="migrate")
@click.option("--host", "clickhouse_host", help="ClickHouse host.")
@click.option("--port", "clickhouse_port", type=int, help="ClickHouse native (TCP) port.")
@click.option("--database", "clickhouse_database", help="Target database (created if missing).")
@click.option("--user", "clickhouse_user", help="ClickHouse user allowed to run DDL.")
@click.option("--kpi-target", "kpi_active_target", type=int, help="Active-members target.")
@one_line_errors
def migrate_command(**flags: object) -> None:
    """Apply the pending DDL migrations in order and set the KPI target.

    Safe to run again: applied migrations are recorded in <database>.schema_migrations and
    skipped; a recorded migration whose file changed stops the run.
    """
    settings = load_settings(**flags)
    client = make_client(settings)
    try:
        applied = migrate(client, settings.clickhouse_database)
        changed = set_kpi_active_target(
            client, settings.clickhouse_database, settings.kpi_active_target
        )
    except MigrationError as error:
        raise CommandError(str(error)) from error
    except Exception as error:  # clickhouse-driver errors: server down, refused DDL, ...
        raise CommandError(f"ClickHouse: {type(error).__name__}: {error}") from error
    finally:
        client.disconnect()
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied)
    click.echo(
        f"{settings.clickhouse_database}: applied {len(applied)} migrations"
        + (f" ({names})" if applied else " (up to date)")
        + (f"; KPI target set to {settings.kpi_active_target:,}" if changed else "")
    )
