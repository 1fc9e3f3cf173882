"""`jamsos stack up | down | status`."""

from __future__ import annotations

import json

import click

from jamsos.cli.common import load_settings, one_line_errors
from jamsos.stack.local import LocalStack


@click.group()
def stack() -> None:
    """The local stack: Apache Kafka (KRaft), ClickHouse and the schema registry."""


@stack.command()
@one_line_errors
def up() -> None:
    """Start whatever is not running and wait until every server is ready."""
    states = LocalStack(load_settings()).up()
    for state in states:
        click.echo(f"{state.name:<16} ready  pid {state.pid}")


@stack.command()
@one_line_errors
def down() -> None:
    """Stop the servers `up` started (by pid); nothing else."""
    stopped = LocalStack(load_settings()).down()
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@stack.command()
@click.option("--json", "as_json", is_flag=True, help="Print endpoints and states as JSON.")
@one_line_errors
def status(as_json: bool) -> None:
    """Show whether each server runs, and the endpoints other commands use (exit 3: not running)."""
    description = LocalStack(load_settings()).describe()
    if as_json:
        click.echo(json.dumps(description, indent=2))
    else:
        for name, server in description["servers"].items():
            state = "ready" if server["ready"] else ("starting" if server["pid"] else "stopped")
            click.echo(f"{name:<16} {state:<9} pid {server['pid'] or '-':<8} log {server['log']}")
        for name, endpoint in description["endpoints"].items():
            click.echo(f"{name:<16} {endpoint}")
    if not description["running"]:
        raise SystemExit(3)  # like `systemctl status`: 3 = not running
