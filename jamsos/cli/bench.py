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
    import jamsos.rules

    return {
        "rules": "compiled" if jamsos.rules.COMPILED else "python",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(),
    }


@click.group()
def bench() -> None:
    """Benchmarks; each prints a table and writes JSON under bench-results/."""


@bench.command()
@click.option("--messages", default=200_000, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench-results"))
@one_line_errors
def crc(messages: int, out: Path) -> None:
    """kafka-python's CRC-32C: the C `crc32c` package against its pure-Python loop, for
    the checksum itself, publishing and consuming (same run, same messages)."""
    from jamsos.bench.crc import as_dicts, measure_crc

    figures = measure_crc(load_settings(), messages)
    out.mkdir(parents=True, exist_ok=True)
    result = {"bench": "crc", "machine": _machine(), "messages": messages}
    (out / "crc.json").write_text(json.dumps({**result, "runs": as_dicts(figures)}, indent=2))
    click.echo(f"{'crc32c':<8} {'checksum MB/s':>14} {'publish msg/s':>14} {'consume msg/s':>14}")
    for f in figures:
        click.echo(
            f"{f.implementation:<8} {f.checksum_mb_per_s:>14,.1f} "
            f"{f.publish_msgs_per_s:>14,.0f} {f.consume_msgs_per_s:>14,.0f}"
        )
    pure, c = figures
    click.echo(
        f"C / pure: checksum {c.checksum_mb_per_s / pure.checksum_mb_per_s:.0f}x, publish "
        f"{c.publish_msgs_per_s / pure.publish_msgs_per_s:.2f}x, consume "
        f"{c.consume_msgs_per_s / pure.consume_msgs_per_s:.2f}x"
    )


@bench.command()
@click.option("--members", default=3_000, show_default=True)
@click.option("--months", default=12, show_default=True)
@click.option("--runs", default=3, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench-results"))
@one_line_errors
def rules(members: int, months: int, runs: int, out: Path) -> None:
    """The member step offline, µs per event: rules compiled with mypyc against pure
    Python (`jamsos.compiled_rules`), alternating child processes, best of the rounds."""
    from jamsos.bench.rules import measure_rules, summary

    rounds = measure_rules(members, months, runs)
    figures = summary(rounds)
    result = {
        "bench": "rules",
        "machine": _machine(),
        "workload": {"members": members, "months": months, "events": rounds[0].events},
        "rounds": [vars(r) for r in rounds],
        **figures,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "rules.json").write_text(json.dumps(result, indent=2))
    click.echo(f"workload: {members:,} members x {months} months = {rounds[0].events:,} events")
    for r in rounds:
        click.echo(f"  {r.mode:<8} {r.us_per_event:>8.1f} us/event")
    click.echo(
        f"best: python {figures['python_us_per_event']} us, compiled "
        f"{figures['compiled_us_per_event']} us, {figures['speedup']}x"
    )
    if not figures["compiled_ran"]:
        raise click.ClickException("the compiled rules did not run: build them with `make rules`")


@bench.command()
@click.option("--records", default=100_000, show_default=True)
@click.option("--runs", default=3, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench-results"))
@one_line_errors
def serde(records: int, runs: int, out: Path) -> None:
    """Avro encode/decode records/s: fastavro (used) against the avro package."""
    from jamsos.bench.serde import measure_serde

    settings = load_settings()
    figures = measure_serde(AvroSerde(SchemaRegistry.from_settings(settings)), records, runs)
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
    figures = measure_tick(AvroSerde(SchemaRegistry.from_settings(settings)), members, changing)
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
    click.echo(f"{'view':<40}" + "".join(f"{r.members:>14,}" for r in results))
    for name in results[0].seconds:
        click.echo(f"{name:<40}" + "".join(f"{r.seconds[name]:>13.3f}s" for r in results))


@bench.command()
@click.option("--members", default=1_000_000, show_default=True, help="Members the worker holds.")
@click.option("--runs", default=3, show_default=True, help="kill -9 and restart rounds.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench-results"))
@one_line_errors
def recovery(members: int, runs: int, out: Path) -> None:
    """Worker holding N members: restore time, recovery after kill -9, state on disk, RSS."""
    from jamsos.bench.recovery import measure_recovery

    figures = measure_recovery(load_settings(), members, runs)
    out.mkdir(parents=True, exist_ok=True)
    (out / "recovery.json").write_text(
        json.dumps({"bench": "recovery", "machine": _machine(), **figures.as_dict()}, indent=2)
    )
    shown = figures.as_dict()
    width = max(map(len, shown))
    for key, value in shown.items():
        values = value if isinstance(value, list) else [value]
        text = ", ".join("-" if v is None else f"{v:,}" for v in values)
        click.echo(f"{key:<{width}}  {text}")


@bench.command()
@click.option("--members", default=20_000, show_default=True)
@click.option("--months", default=12, show_default=True)
@click.option("--seed", default=7, show_default=True)
@click.option(
    "--workers",
    "worker_counts",
    multiple=True,
    type=int,
    default=[1, 2],
    show_default=True,
    help="Workers in a run (repeatable: each count is measured).",
)
@click.option("--runs", default=3, show_default=True)
@click.option("--timeout", default=1800.0, show_default=True, help="Seconds a run may take.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench-results"))
@one_line_errors
def throughput(
    members: int,
    months: int,
    seed: int,
    worker_counts: tuple[int, ...],
    runs: int,
    timeout: float,
    out: Path,
) -> None:
    """End-to-end events/s (input topics to ClickHouse) against the consume+decode ceiling."""
    from jamsos.bench.throughput import ThroughputSummary, measure_throughput

    settings = load_settings()
    summaries = []
    for workers in worker_counts:
        measured = []
        for number in range(runs):
            result = measure_throughput(
                settings,
                members=members,
                months=months,
                seed=seed,
                workers=workers,
                timeout=timeout,
            )
            click.echo(
                f"  run {number + 1}/{runs}, {workers} worker(s): "
                f"{result.pipeline_per_second:,.0f} events/s, ceiling "
                f"{result.ceiling_per_second:,.0f}/s, ratio {result.ratio:.4f}",
                err=True,
            )
            measured.append(result)
        summaries.append(ThroughputSummary(workers, measured))
    out.mkdir(parents=True, exist_ok=True)
    (out / "throughput.json").write_text(
        json.dumps(
            {
                "bench": "throughput",
                "machine": _machine(),
                "workload": {"members": members, "months": months, "seed": seed},
                "results": [
                    {
                        "workers": s.workers,
                        "pipeline_per_second": round(s.pipeline_per_second),
                        "ceiling_per_second": round(s.ceiling_per_second),
                        "ratio": round(s.ratio, 4),
                        "runs": [r.as_dict() for r in s.runs],
                    }
                    for s in summaries
                ],
            },
            indent=2,
        )
    )
    events = summaries[0].runs[0].events
    click.echo(f"workload: {members:,} members x {months} months = {events:,} input messages")
    click.echo(f"{'workers':>7} {'pipeline ev/s':>14} {'ceiling ev/s':>13} {'ratio':>8}")
    for s in summaries:
        click.echo(
            f"{s.workers:>7} {s.pipeline_per_second:>14,.0f} {s.ceiling_per_second:>13,.0f}"
            f" {s.ratio:>8.4f}"
        )
    if len(summaries) > 1:
        base = summaries[0].pipeline_per_second
        for s in summaries[1:]:
            click.echo(
                f"scale-out: {s.workers} workers / {summaries[0].workers}: "
                f"{s.pipeline_per_second / base:.2f}x"
            )


@bench.command()
@click.option(
    "--rates",
    multiple=True,
    type=float,
    default=[1500.0],
    show_default=True,
    help="Workload messages/s (repeatable), e.g. a fixed rate and 50% of max throughput.",
)
@click.option("--runs", default=3, show_default=True)
@click.option("--seconds", default=60.0, show_default=True, help="Workload length per run.")
@click.option("--workers", default=1, show_default=True, help="Worker processes in a run.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench-results"))
@one_line_errors
def latency(rates: tuple[float, ...], runs: int, seconds: float, workers: int, out: Path) -> None:
    """Publish -> visible in ClickHouse latency (p50/p95/p99) under a steady workload."""
    from jamsos.bench.latency import measure_latency
    from jamsos.cli.common import CommandError

    settings = load_settings()
    try:
        results = measure_latency(
            settings, rates, runs, seconds, progress=click.echo, workers=workers
        )
    except RuntimeError as error:
        raise CommandError(str(error)) from error
    out.mkdir(parents=True, exist_ok=True)
    (out / "latency.json").write_text(
        json.dumps(
            {
                "bench": "latency",
                "machine": _machine(),
                "seconds": seconds,
                "workers": workers,
                "results": [r.as_dict() for r in results],
            },
            indent=2,
        )
    )
    click.echo(
        f"{'rate/s':>8} {'achieved/s':>11} {'runs':>5} {'probes':>7}"
        f" {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'drain s':>8}"
    )
    for r in results:
        p = r.medians_ms()
        probes = sum(len(run.latencies) for run in r.runs)
        click.echo(
            f"{r.rate:>8,.0f} {r.achieved_rate:>11,.0f} {len(r.runs):>5} {probes:>7}"
            f" {p['p50']:>9,.0f} {p['p95']:>9,.0f} {p['p99']:>9,.0f} {r.drain_seconds:>8.1f}"
        )
    for r in results:
        behind = sum(run.fell_behind for run in r.runs)
        if behind:
            click.echo(
                f"note: at {r.rate:,.0f}/s latency rose during {behind} of {len(r.runs)} runs:"
                " the pipeline did not keep up, so these figures grow with --seconds"
            )
