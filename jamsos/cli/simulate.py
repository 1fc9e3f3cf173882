"""`jamsos simulate`: the simulated upstream systems, published to Kafka and/or a file."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

import click
from kafka.errors import KafkaError

from jamsos.access import check_kafka, check_registry
from jamsos.cli.common import CommandError, load_settings, one_line_errors
from jamsos.contracts.registry import RegistryError
from jamsos.simulation import Item, Simulation, SimulationConfig, SimulationSummary
from jamsos.simulation.jsonl import write_jsonl
from jamsos.simulation.publishing import PROGRESS_EVERY, publish_simulation

_DEFAULTS = SimulationConfig()


@click.command()
@click.option("--members", type=click.IntRange(min=0), default=_DEFAULTS.members, show_default=True)
@click.option("--agents", type=click.IntRange(min=0), default=_DEFAULTS.agents, show_default=True)
@click.option("--months", type=click.IntRange(min=1), default=_DEFAULTS.months, show_default=True)
@click.option("--seed", type=int, default=_DEFAULTS.seed, show_default=True)
@click.option(
    "--start",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=_DEFAULTS.start.isoformat(),
    show_default=True,
    help="First day of the simulated period.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    help="Messages per second (default: as fast as possible).",
)
@click.option(
    "--jsonl",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the events in JSON form to this file (input for `jamsos replay`).",
)
@click.option(
    "--duplicate-share",
    type=click.FloatRange(0, 1),
    default=_DEFAULTS.duplicate_share,
    show_default=True,
    help="Share of events published twice.",
)
@click.option(
    "--delay-share",
    type=click.FloatRange(0, 1),
    default=_DEFAULTS.delay_share,
    show_default=True,
    help="Share of events published hours to days late.",
)
@click.option(
    "--invalid-share",
    type=click.FloatRange(0, 1),
    default=_DEFAULTS.invalid_share,
    show_default=True,
    help="Share of events accompanied by a broken message.",
)
@click.option("--no-publish", is_flag=True, help="Do not publish to Kafka (use with --jsonl).")
@click.option("--bootstrap", "kafka_bootstrap", help="Kafka bootstrap servers.")
@click.option("--registry-url", help="Schema registry base URL.")
@click.option("--topic-prefix", help="Prefix of the physical topic names.")
@one_line_errors
def simulate(
    members: int,
    agents: int,
    months: int,
    seed: int,
    start: datetime,
    rate: float | None,
    jsonl: Path | None,
    duplicate_share: float,
    delay_share: float,
    invalid_share: float,
    no_publish: bool,
    **flags: str | None,
) -> None:
    """Simulate the agency's upstream systems: agents, members, payments, daily closes.

    The stream is deterministic for a seed and includes what real feeds contain:
    duplicates, late arrivals, payments before enrolments and a few broken messages
    (which the pipeline must dead-letter). Prints a summary as JSON on stdout.
    """
    config = SimulationConfig(
        members=members,
        agents=agents,
        months=months,
        seed=seed,
        start=start.date(),
        duplicate_share=duplicate_share,
        delay_share=delay_share,
        invalid_share=invalid_share,
    )
    simulation = Simulation(config)
    progress = _ProgressLine()
    if no_publish:
        summary = SimulationSummary()
        items = progress.counting(simulation.events(summary))
        if jsonl is not None:
            with jsonl.open("w", encoding="utf-8") as out:
                write_jsonl(items, out)
        else:
            for _ in items:
                pass
    else:
        settings = load_settings(**flags)
        check_kafka(settings, "publisher")
        check_registry(settings)
        try:
            summary = publish_simulation(settings, simulation, rate, progress, jsonl=jsonl)
        except (RuntimeError, KafkaError, RegistryError) as error:
            raise CommandError(f"publishing failed: {error}") from error
    progress.done()
    click.echo(json.dumps(summary.as_dict()))


class _ProgressLine:
    """A progress line on stderr, rewritten in place on a terminal."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._shown = False

    def __call__(self, count: int, elapsed: float) -> None:
        speed = count / elapsed if elapsed > 0 else 0.0
        line = f"{count:,} messages ({speed:,.0f}/s)"
        click.echo(f"\r{line}" if self._tty else line, err=True, nl=not self._tty)
        self._shown = True

    def counting(self, items: Iterable[Item]) -> Iterator[Item]:
        """Pass ``items`` through, reporting every few thousand."""
        started = time.monotonic()
        count = 0
        for item in items:
            count += 1
            if count % PROGRESS_EVERY == 0:
                self(count, time.monotonic() - started)
            yield item
        self(count, time.monotonic() - started)

    def done(self) -> None:
        if self._tty and self._shown:
            click.echo("", err=True)
