"""`jamsos db migrate` (the ClickHouse schema of deploy/clickhouse, applied once each) and
`jamsos db refresh-kpis`."""

from __future__ import annotations

import click

from jamsos.cli.common import CommandError, load_settings, one_line_errors
from jamsos.warehouse.client import make_client
from jamsos.warehouse.kpi import refresh_kpis
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
        applied = migrate(client, settings.clickhouse_database, cluster=settings.clickhouse_cluster)
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


@db.command(name="refresh-kpis")
@click.option("--host", "clickhouse_host", help="ClickHouse host.")
@click.option("--port", "clickhouse_port", type=int, help="ClickHouse native (TCP) port.")
@click.option("--database", "clickhouse_database", help="Database whose KPI tables to refresh.")
@one_line_errors
def refresh_kpis_command(**flags: object) -> None:
    """Recompute the pre-aggregated KPI tables now (the sink does it every
    JAMSOS_KPI_REFRESH_SECONDS): member counts from `members FINAL`, daily transitions of
    the business days whose changes landed since the last refresh."""
    settings = load_settings(**flags)
    client = make_client(settings, database=settings.clickhouse_database)
    try:
        done = refresh_kpis(client, settings.clickhouse_database)
    except Exception as error:  # clickhouse-driver errors: server down, missing tables, ...
        raise CommandError(f"ClickHouse: {type(error).__name__}: {error}") from error
    finally:
        client.disconnect()
    what = "refreshed" if done.recomputed else "already current (nothing landed since)"
    click.echo(f"{settings.clickhouse_database}: KPI tables {what} in {done.seconds:.2f}s")


@db.command(name="grants")
@click.option("--database", "clickhouse_database", help="Database the accounts work on.")
@one_line_errors
def grants_command(**flags: object) -> None:
    """Create the writer, refresher and reader accounts and their grants
    (deploy/clickhouse/users/grants.sql) on current ClickHouse, as the migrator.

    ClickHouse 18.16 has no SQL access control: there the accounts are in users.xml."""
    from jamsos.warehouse.users import render_grants

    settings = load_settings(**flags)
    statements = render_grants(settings)
    client = make_client(settings)
    try:
        version = str(client.execute("SELECT version()")[0][0])
        if int(version.split(".")[0]) < 20:
            raise CommandError(
                f"ClickHouse {version} has no SQL access control: define the accounts in "
                "users.xml (deploy/local/clickhouse/users.xml.tmpl)"
            )
        for statement in statements:
            client.execute(statement)
    except CommandError:
        raise
    except Exception as error:  # clickhouse-driver errors: refused grant, server down, ...
        raise CommandError(f"ClickHouse: {type(error).__name__}: {error}") from error
    finally:
        client.disconnect()
    click.echo(f"{settings.clickhouse_database}: {len(statements)} account statements applied")
