"""The demo run: stack, schema, worker and sink, simulated workload, catch-up, report.

Each run has its own topic prefix and ClickHouse database, so runs on one stack never mix.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jamsos.contracts.catalog import TOPICS
from jamsos.demo.crosscheck import CrossCheck, cross_check
from jamsos.demo.lag import LagProbe
from jamsos.demo.processes import start, stop
from jamsos.demo.report import build_report
from jamsos.replay_file import read_events
from jamsos.rules.replay import replay
from jamsos.settings import Settings
from jamsos.simulation import Simulation, SimulationConfig
from jamsos.simulation.publishing import publish_simulation
from jamsos.stack.local import LocalStack
from jamsos.topics import ensure_topics
from jamsos.warehouse.client import make_client
from jamsos.warehouse.migrations import migrate

log = logging.getLogger(__name__)

REGISTERED_MEMBERS = 50_700_000
ACTIVE_TARGET = 35_000_000


@dataclass(frozen=True)
class DemoOptions:
    members: int
    months: int
    seed: int
    keep: bool
    timeout: float
    workers: int = 2
    rate: float | None = None
    agents: int | None = None
    """Perisai agents; None: one per 250 members (at least 20)."""


@dataclass
class DemoResult:
    settings: Settings
    check: CrossCheck
    report: list[str]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run_demo(base: Settings, options: DemoOptions) -> DemoResult:
    say("starting the local stack (Kafka, ClickHouse, schema registry) ...")
    LocalStack(base).up()
    run = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    settings = base.model_copy(
        update={
            "topic_prefix": f"demo{run}.",
            "clickhouse_database": f"jamsos_demo_{run}",
            "sink_group": f"demo{run}.jamsos-sink",
        }
    )
    workdir = settings.state_dir / "demo" / run
    admin = make_client(settings)
    migrate(admin, settings.clickhouse_database)
    ensure_topics(settings, list(TOPICS))
    say(f"run {run}: topics {settings.topic_prefix}*, database {settings.clickhouse_database}")
    workers = [
        start(settings, "worker", "--name", f"demo{run}-{n}", log=workdir / f"worker-{n}.log")
        for n in range(1, options.workers + 1)
    ]
    sink = start(settings, "sink", log=workdir / "sink.log")
    try:
        config = SimulationConfig(
            members=options.members,
            months=options.months,
            seed=options.seed,
            agents=options.agents or max(20, options.members // 250),
        )
        events_file = workdir / "events.jsonl"
        pace = f" at {options.rate:,.0f} messages/s" if options.rate else ""
        say(
            f"publishing the simulated upstream feeds ({options.members:,} members, "
            f"{options.months} months){pace} to {options.workers} worker(s) ..."
        )
        summary = publish_simulation(
            settings,
            Simulation(config),
            rate=options.rate,
            progress=_bar("published"),
            jsonl=events_file,
        )
        say(
            f"\npublished {summary.total:,} messages ({summary.duplicates:,} duplicates, "
            f"{summary.delayed:,} late, {summary.invalid_total:,} invalid)"
        )
        with events_file.open(encoding="utf-8") as lines:
            expected = replay(read_events(lines).events)
        _wait_until_caught_up(settings, options.timeout)
        client = make_client(settings, database=settings.clickhouse_database)
        check = cross_check(client, expected)
        target = round(ACTIVE_TARGET * options.members / REGISTERED_MEMBERS) or 1
        report = build_report(
            client,
            members=options.members,
            scale_target=target,
            check=check,
            dead_letters_expected=summary.invalid_total,
        )
        report += _epilogue(settings, workdir, options.keep)
        return DemoResult(settings, check, report)
    finally:
        if not options.keep:
            for worker in workers:
                stop(worker)
            stop(sink)


def _bar(label: str) -> Callable[[int, float], None]:
    def progress(sent: int, elapsed: float) -> None:
        rate = sent / elapsed if elapsed > 0 else 0.0
        print(
            f"\r  {label} {sent:>10,} messages  {rate:>8,.0f}/s",
            end="",
            file=sys.stderr,
            flush=True,
        )

    return progress


def _wait_until_caught_up(settings: Settings, timeout: float) -> None:
    """Until the worker and the sink have committed everything there is (twice in a row)."""
    say("waiting for the worker and the sink to catch up ...")
    probe = LagProbe(settings)
    started = time.monotonic()
    settled = 0
    try:
        while settled < 2:
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"the pipeline did not catch up within {timeout:.0f}s")
            worker_lag, sink_lag = probe.worker_lag(), probe.sink_lag()
            settled = settled + 1 if worker_lag == 0 and sink_lag == 0 else 0
            print(
                f"\r  worker behind by {_lag(worker_lag):>9}  sink behind by {_lag(sink_lag):>9}"
                f"  ({time.monotonic() - started:,.0f}s)",
                end="",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(2)
    finally:
        probe.close()
    say("")


def _lag(value: int | None) -> str:
    return "starting" if value is None else f"{value:,}"


def _epilogue(settings: Settings, workdir: Path, keep: bool) -> list[str]:
    db = settings.clickhouse_database
    lines = ["", f"Run files (events, logs): {workdir}"]
    if keep:
        lines += [
            "The stack, worker and sink are still running. Query the results with:",
            f"  clickhouse-client --port {settings.clickhouse_port} --database {db} "
            "--query 'SELECT * FROM kpi_active_total'",
            'Stop the worker and sink with `pkill -f "jamsos (worker|sink)"`, the stack '
            "with `jamsos stack down`.",
        ]
    else:
        lines += [
            f"The results stay in ClickHouse database {db} "
            f"(clickhouse-client --port {settings.clickhouse_port} --database {db})."
        ]
    return lines
