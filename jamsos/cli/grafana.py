"""`jamsos grafana`: write (or check) the Grafana files under deploy/grafana/."""

from __future__ import annotations

import click

from jamsos.cli.common import CommandError
from jamsos.dashboards.provisioning import GRAFANA_DIR, stale, write


@click.command()
@click.option(
    "--check",
    is_flag=True,
    help="Only say whether the files match the code (exit 1 when they do not).",
)
def grafana(check: bool) -> None:
    """Dashboards, alert rules and provisioning for Grafana, generated from code."""
    if check:
        differ = stale()
        if differ:
            raise CommandError(
                f"{len(differ)} file(s) under {GRAFANA_DIR} differ from the code "
                f"({', '.join(differ)}); run `jamsos grafana` and commit them"
            )
        click.echo(f"the files under {GRAFANA_DIR} match the code")
        return
    for path in write():
        click.echo(f"wrote {path}")
