"""`jamsos bench …`: measured speed on the local stack (median of several rounds)."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

import click

from jamsos.cli.common import load_settings, one_line_errors
from jamsos.contracts.registry import SchemaRegistry
from jamsos.contracts.serde import AvroSerde


def _machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(),
    }


@click.group()
def bench() -> None:
    """Benchmarks; each prints a table and writes JSON under bench-results/."""


@bench.command()
@click.option("--records", default=100_000, show_default=True)
@click.option("--runs", default=3, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench-results"))
@one_line_errors
def serde(records: int, runs: int, out: Path) -> None:
    """Avro encode/decode records/s: fastavro (used) against the avro package."""
    from jamsos.bench.serde import measure_serde

    settings = load_settings()
    figures = measure_serde(AvroSerde(SchemaRegistry(settings.registry_url)), records, runs)
    result = {"bench": "serde", "machine": _machine(), **figures.as_dict()}
    out.mkdir(parents=True, exist_ok=True)
    (out / "serde.json").write_text(json.dumps(result, indent=2))
    for key, value in figures.as_dict().items():
        click.echo(
            f"{key:<24} {value:>12,}" if isinstance(value, int) else f"{key:<24} {value:>12}"
        )


@bench.command()
@click.option("--members", default=1_000_000, show_default=True)
@click.option("--changing", default=0.01, show_default=True, help="Share that changes.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench-results"))
@one_line_errors
def tick(members: int, changing: float, out: Path) -> None:
    """Seconds and members touched by one business-day tick."""
    from jamsos.bench.tick import measure_tick

    settings = load_settings()
    figures = measure_tick(AvroSerde(SchemaRegistry(settings.registry_url)), members, changing)
    result = {"bench": "tick", "machine": _machine(), **figures.as_dict()}
    out.mkdir(parents=True, exist_ok=True)
    (out / "tick.json").write_text(json.dumps(result, indent=2))
    for key, value in figures.as_dict().items():
        click.echo(f"{key:<16} {value}")


@bench.command()
@click.option(
    "--members",
    "sizes",
    multiple=True,
    type=int,
    default=[1_000_000, 10_000_000],
    show_default=True,
    help="Members to fill (repeatable).",
)
@click.option("--runs", default=3, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench-results"))
@one_line_errors
def views(sizes: tuple[int, ...], runs: int, out: Path) -> None:
    """Latency of each dashboard view over the given numbers of members."""
    from jamsos.bench.queries import measure_views

    settings = load_settings()
    results = [measure_views(settings, members, runs) for members in sizes]
    out.mkdir(parents=True, exist_ok=True)
    (out / "views.json").write_text(
        json.dumps(
            {
                "bench": "views",
                "machine": _machine(),
                "results": [{"members": r.members, "seconds": r.seconds} for r in results],
            },
            indent=2,
        )
    )
    click.echo(f"{'view':<22}" + "".join(f"{r.members:>14,}" for r in results))
    for name in results[0].seconds:
        click.echo(f"{name:<22}" + "".join(f"{r.seconds[name]:>13.3f}s" for r in results))
