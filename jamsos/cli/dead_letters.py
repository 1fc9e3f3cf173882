"""`jamsos dead-letters replay`: re-publish dead letters to their original topics."""

from __future__ import annotations

import click

from jamsos.cli.common import load_settings, one_line_errors
from jamsos.contracts.dead_letter_replay import replay_dead_letters
from jamsos.topics import DEAD_LETTER_REPLAY_GROUP


@click.group(name="dead-letters")
def dead_letters() -> None:
    """Messages the pipeline could not apply, kept with their reasons."""


@dead_letters.command()
@click.option("--error-type", multiple=True, help="Only dead letters of this class (repeatable).")
@click.option(
    "--topic",
    "source_topics",
    multiple=True,
    help="Only dead letters from this contract topic (repeatable).",
)
@click.option(
    "--group",
    default=DEAD_LETTER_REPLAY_GROUP,
    show_default=True,
    help="Consumer group that remembers what was already re-published.",
)
@click.option(
    "--idle-timeout",
    default=5.0,
    show_default=True,
    help="Stop after this many seconds without new dead letters.",
)
@one_line_errors
def replay(
    error_type: tuple[str, ...], source_topics: tuple[str, ...], group: str, idle_timeout: float
) -> None:
    """Re-publish dead letters, once each, to the topics they came from (after a fix)."""
    result = replay_dead_letters(
        load_settings(),
        group=group,
        error_types=set(error_type),
        topics=set(source_topics),
        idle_timeout=idle_timeout,
    )
    click.echo(
        f"re-published {result.republished} dead letters; skipped {result.skipped} (filters),"
        f" {result.refused} naming no input topic of this deployment"
    )
