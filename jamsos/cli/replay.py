"""`jamsos replay FILE.jsonl [--as-of DATE]`: final states computed offline (spec/cli.md)."""

from __future__ import annotations

import json
from datetime import date
from typing import TextIO

import click

from jamsos.cli.common import load_settings, one_line_errors
from jamsos.replay_file import read_events, replay_as_configured


@click.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Evaluate on this date (default: the latest BusinessDayClosed in FILE).",
)
@one_line_errors
def replay(file: TextIO, as_of: object) -> None:
    """Print the final state of every member and agent in FILE as JSON lines.

    Uses the worker's own rule code; invalid events are reported on stderr and left out,
    as the worker would dead-letter them.
    """
    settings = load_settings()
    parsed = read_events(file)
    for number, reason in parsed.refused:
        click.echo(f"line {number}: {reason}", err=True)
    target: date | None = as_of.date() if as_of is not None else None  # type: ignore[attr-defined]
    for line in replay_as_configured(settings, parsed.events, target):
        click.echo(json.dumps(line, separators=(",", ":")))
