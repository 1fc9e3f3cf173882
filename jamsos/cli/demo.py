"""`jamsos demo`: the main job on the local stack, ending in a report and a cross-check."""

from __future__ import annotations

import click

from jamsos.cli.common import CommandError, load_settings, one_line_errors
from jamsos.demo.processes import terminate_as_exit
from jamsos.demo.run import DemoOptions, run_demo


@click.command()
@click.option("--members", default=100_000, show_default=True, help="Simulated members.")
@click.option("--months", default=12, show_default=True, help="Simulated months.")
@click.option(
    "--agents", type=int, default=None, help="Perisai agents [default: one per 250 members]."
)
@click.option("--seed", default=1, show_default=True, help="Simulation seed.")
@click.option(
    "--workers", default=2, show_default=True, help="Worker processes (one per core here)."
)
@click.option(
    "--rate",
    default=2000.0,
    show_default=True,
    help="Messages/s the upstream feeds are published at (0: as fast as possible).",
)
@click.option("--keep", is_flag=True, help="Leave the workers and sink running afterwards.")
@click.option(
    "--stall-timeout",
    default=300.0,
    show_default=True,
    help="Seconds the pipeline may go without committing anything before the run fails "
    "(it waits as long as the workers and the sink make progress).",
)
@one_line_errors
def demo(
    members: int,
    months: int,
    agents: int | None,
    seed: int,
    workers: int,
    rate: float,
    keep: bool,
    stall_timeout: float,
) -> None:
    """Run the pipeline on a simulated workload; exit 1 if ClickHouse and replay disagree
    (final states, or the lapse alerts).

    The feeds are paced (`--rate`) as upstream systems would send them; unpaced, the same
    events arrive as fast as Kafka takes them, and the workers merge each business-day tick
    behind the member events published before it either way.
    """
    options = DemoOptions(members, months, seed, keep, stall_timeout, workers, rate or None, agents)
    with terminate_as_exit():
        result = run_demo(load_settings(), options)
    for line in result.report:
        click.echo(line)
    if not result.check.passed:
        raise CommandError("ClickHouse disagrees with `jamsos replay` (see the cross-check)")
