"""`jamsos grafana` and `jamsos k8s`: write (or check) files generated from code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from jamsos.cli.common import CommandError


def write_or_check(
    check: bool,
    command: str,
    root: Path,
    stale: Callable[[], list[str]],
    write: Callable[[], list[Path]],
) -> None:
    """With `check`, fail (exit 1) when the files under `root` differ from the code; else
    write them."""
    if check:
        differ = stale()
        if differ:
            raise CommandError(
                f"{len(differ)} file(s) under {root} differ from the code "
                f"({', '.join(differ)}); run `jamsos {command}` and commit them"
            )
        click.echo(f"the files under {root} match the code")
        return
    for path in write():
        click.echo(f"wrote {path}")


CHECK_HELP = "Only say whether the files match the code (exit 1 when they do not)."


@click.command()
@click.option("--check", is_flag=True, help=CHECK_HELP)
def grafana(check: bool) -> None:
    """Dashboards, alert rules and provisioning for Grafana, generated from code."""
    from jamsos.dashboards.provisioning import GRAFANA_DIR, stale, write

    write_or_check(check, "grafana", GRAFANA_DIR, stale, write)


@click.command()
@click.option("--check", is_flag=True, help=CHECK_HELP)
def k8s(check: bool) -> None:
    """Strimzi topics and users (ACLs per service), generated from code."""
    from jamsos.kubernetes import GENERATED, stale, write

    write_or_check(check, "k8s", GENERATED, stale, write)
