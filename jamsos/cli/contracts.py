"""`jamsos publish`, `jamsos schemas check` and `jamsos dead-letters replay`."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TextIO

import click

from jamsos.access import check_kafka, check_registry
from jamsos.cli.common import CommandError, load_settings, one_line_errors
from jamsos.contracts.catalog import TOPICS, load_catalog, subject_for
from jamsos.contracts.compatibility import (
    check_compatibility,
    load_schema_texts,
    load_schema_texts_from_git,
)
from jamsos.contracts.errors import ContractError
from jamsos.contracts.publisher import EventPublisher, publish_json_lines
from jamsos.contracts.registry import RegistryError, SchemaNotFoundError, SchemaRegistry
from jamsos.settings import PROJECT_ROOT
from jamsos.topics import ensure_topics

INPUT_TOPICS = [name for name, spec in TOPICS.items() if spec.direction == "input"]
RELEASE_TAG_PATTERN = "schemas/v*"


@click.command()
@click.argument("topic", type=click.Choice(INPUT_TOPICS))
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--bootstrap", "kafka_bootstrap", help="Kafka bootstrap servers.")
@click.option("--registry-url", help="Schema registry base URL.")
@click.option("--topic-prefix", help="Prefix of the physical topic names.")
@click.option("--strict", is_flag=True, help="Send nothing if any line is invalid.")
@one_line_errors
def publish(topic: str, file: TextIO, strict: bool, **flags: str | None) -> None:
    """Publish JSON-form events (one per line) from FILE to TOPIC as Avro.

    Invalid lines are reported with their line numbers and never sent.
    """
    settings = load_settings(**flags)
    check_kafka(settings, "publisher")
    check_registry(settings)
    lines: list[str] = list(file)
    publisher = EventPublisher(settings)
    try:
        ensure_topics(settings, [topic], service="publisher")
        if strict:
            dry = publish_json_lines(_DryRun(), topic, lines)  # type: ignore[arg-type]
            if dry.rejected:
                _report_rejections(dry.rejected)
                raise CommandError(f"{len(dry.rejected)} invalid lines; nothing sent (--strict)")
        report = publish_json_lines(publisher, topic, lines)
    finally:
        publisher.close()
    _report_rejections(report.rejected)
    click.echo(
        f"sent {report.sent} events to {settings.topic(topic)}; "
        f"rejected {len(report.rejected)} lines"
    )
    if report.rejected:
        raise SystemExit(2)


class _DryRun:
    """Stands in for a publisher when only validating (`--strict` first pass)."""

    def send_valid(self, record_name: str, record: dict) -> None:
        return None

    def flush(self) -> None:
        return None


def _report_rejections(rejected: list[tuple[int, str]]) -> None:
    for number, reason in rejected:
        click.echo(f"line {number}: {reason}", err=True)


@click.group()
def schemas() -> None:
    """The Avro schemas of schemas/."""


@schemas.command()
@click.option(
    "--against", "ref", help="Git ref of the last release (default: newest schemas/v* tag)."
)
@click.option(
    "--registry",
    "use_registry",
    is_flag=True,
    help="Compare with the latest versions in the schema registry instead of git.",
)
@click.option(
    "--repo",
    type=click.Path(file_okay=False, path_type=Path),
    default=PROJECT_ROOT,
    show_default=True,
    help="Repository whose schemas/ to check.",
)
@one_line_errors
def check(ref: str | None, use_registry: bool, repo: Path) -> None:
    """Fail when a schema change breaks backward or forward compatibility."""
    current = load_schema_texts(repo / "schemas")
    try:
        if use_registry:
            released, source = _released_in_registry(current), "the schema registry"
        else:
            ref = ref or _latest_release_tag(repo)
            if ref is None:
                click.echo(
                    f"no release tag ({RELEASE_TAG_PATTERN}) yet: "
                    f"{len(current)} schemas parse; nothing to compare with"
                )
                _parse_all(repo)
                return
            released, source = load_schema_texts_from_git(ref, repo), ref
    except (ContractError, RegistryError) as error:
        raise CommandError(str(error)) from error
    problems = check_compatibility(released, current)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise CommandError(f"{len(problems)} incompatible changes against {source}")
    click.echo(f"{len(current)} schemas are backward and forward compatible with {source}")


def _latest_release_tag(repo: Path) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(repo), "tag", "--list", RELEASE_TAG_PATTERN, "--sort=-v:refname"],
        capture_output=True,
        text=True,
        check=False,
    )
    tags = done.stdout.split()
    return tags[0] if done.returncode == 0 and tags else None


def _parse_all(repo: Path) -> None:
    try:
        load_catalog(repo / "schemas")
    except ContractError as error:
        raise CommandError(str(error)) from error


def _released_in_registry(current: dict[str, str]) -> dict[str, str]:
    """Latest registered text of each record's subject (records never registered are new)."""
    settings = load_settings()
    registry = SchemaRegistry.from_settings(settings)
    released: dict[str, str] = {}
    for name in current:
        topic = next((t for t, spec in TOPICS.items() if name in spec.record_names), None)
        if topic is None:
            continue
        try:
            released[name] = registry.latest(subject_for(topic, name))["schema"]
        except SchemaNotFoundError:
            continue
    return released
