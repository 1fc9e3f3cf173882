"""`jamsos demo`: the main job on the local stack, ending in a report and a cross-check."""

from __future__ import annotations

import click

from jamsos.cli.common import CommandError, load_settings, one_line_errors
from jamsos.demo.run import DemoOptions, run_demo


@click.command()
@click.option("--members", default=20_000, show_default=True, help="Simulated members.")
@click.option("--months", default=12, show_default=True, help="Simulated months.")
@click.option("--seed", default=1, show_default=True, help="Simulation seed.")
@click.option("--keep", is_flag=True, help="Leave the worker and sink running afterwards.")
@click.option(
    "--timeout",
    default=1800.0,
    show_default=True,
    help="Seconds to wait for the pipeline to catch up.",
)
@one_line_errors
def demo(members: int, months: int, seed: int, keep: bool, timeout: float) -> None:
    """Run the pipeline on a simulated workload; exit 1 if ClickHouse and replay disagree."""
    result = run_demo(load_settings(), DemoOptions(members, months, seed, keep, timeout))
    for line in result.report:
        click.echo(line)
    if not result.check.passed:
        raise CommandError("ClickHouse disagrees with `jamsos replay` (see the cross-check)")
