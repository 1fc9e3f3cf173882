"""The demo run: stack, schema, worker and sink, simulated workload, catch-up, report.

Each run has its own topic prefix and ClickHouse database, so runs on one stack never mix.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jamsos.connect import LOCAL_CLICKHOUSE_ADMIN_PASSWORD_FILE
from jamsos.contracts.catalog import TOPICS
from jamsos.demo.catchup import CatchUp
from jamsos.demo.crosscheck import CrossCheck, cross_check
from jamsos.demo.html_report import write_html_report
from jamsos.demo.lag import LagProbe
from jamsos.demo.pipeline_metrics import metrics_section
from jamsos.demo.processes import Children, RunError
from jamsos.demo.progress import CatchUpBar, PublishBar, bars, logs_to
from jamsos.demo.report import build_report
from jamsos.exits import EXIT_AGENT_FAILED
from jamsos.metrics import free_port
from jamsos.replay_file import read_events, replay_as_configured
from jamsos.settings import Settings
from jamsos.simulation import Simulation, SimulationConfig
from jamsos.simulation.publishing import publish_simulation
from jamsos.simulation.summary import SimulationSummary
from jamsos.simulation.timeline import Calendar
from jamsos.stack.acls import grant_local_services
from jamsos.stack.local import LocalStack
from jamsos.topics import ensure_topics
from jamsos.warehouse.client import make_client
from jamsos.warehouse.kpi import refresh_kpis
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
    stall_timeout: float
    """Seconds the pipeline may go without committing anything before the run fails."""
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
    try:
        migrate(admin, settings.clickhouse_database, cluster=settings.clickhouse_cluster)
    finally:
        admin.disconnect()
    ensure_topics(settings, list(TOPICS))
    if settings.stack_secure:
        grant_local_services(settings)  # each service's ACLs for this run's topics and groups
    say(f"run {run}: topics {settings.topic_prefix}*, database {settings.clickhouse_database}")
    say(f"library logs of this run: {workdir / 'demo.log'}")
    with logs_to(workdir / "demo.log"):
        try:
            return _run(settings, options, workdir, run)
        except RunError:
            raise
        except Exception as error:
            log.exception("the demo failed")
            raise RunError(
                f"{error or type(error).__name__}; read {workdir / 'demo.log'}"
            ) from error


def _run(settings: Settings, options: DemoOptions, workdir: Path, run: str) -> DemoResult:
    """Processes, feeds, catch-up, cross-check and report of one run; processes always
    stopped at the end (unless kept after a success)."""
    with Children(settings, keep=options.keep) as children:
        for n in range(1, options.workers + 1):
            children.start(
                f"worker {n}",
                *("worker", "--name", f"demo{run}-{n}"),
                log=workdir / f"worker-{n}.log",
                restart_on=frozenset({EXIT_AGENT_FAILED}),
                metrics_port=free_port(),
            )
        children.start("sink", "sink", log=workdir / "sink.log", metrics_port=free_port())
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
        summary = SimulationSummary()
        with bars() as progress:
            bar = PublishBar(progress, Calendar(config.start, config.months).days)

            def published(sent: int, _elapsed: float) -> None:
                children.check()  # a process that died fails the run now, not at the end
                bar.show(summary.by_type["BusinessDayClosed"], sent)

            publish_simulation(
                settings,
                Simulation(config),
                rate=options.rate,
                progress=published,
                jsonl=events_file,
                summary=summary,
            )
        say(
            f"published {summary.total:,} messages ({summary.duplicates:,} duplicates, "
            f"{summary.delayed:,} late, {summary.invalid_total:,} invalid)"
        )
        with events_file.open(encoding="utf-8") as lines:
            expected = replay_as_configured(settings, read_events(lines).events)
        say("waiting for the workers and the sink to catch up ...")
        probe = LagProbe(settings)
        try:
            with bars() as progress:
                took = CatchUp(probe, children, options.stall_timeout).wait(CatchUpBar(progress))
        finally:
            probe.close()
        say(f"caught up {took:,.0f}s after publishing ended")
        pipeline = metrics_section(children.children, summary.total)
        for child in children.children:
            if child.restarts:
                say(
                    f"the {child.role} stopped on purpose and was restarted {child.restarts} "
                    f"time(s) (exit status {EXIT_AGENT_FAILED}); read {child.log}"
                )
        client = make_client(settings, database=settings.clickhouse_database)
        try:
            refresh_kpis(client, settings.clickhouse_database)  # the sink's may be due later
            check = cross_check(client, expected, settings.clickhouse_database)
            target = round(ACTIVE_TARGET * options.members / REGISTERED_MEMBERS) or 1
            html_path = write_html_report(
                client,
                workdir / "report.html",
                title=f"jamsos demo {run}: {options.members:,} members, {options.months} months",
                scale_target=target,
            )
            report = build_report(
                client,
                members=options.members,
                scale_target=target,
                check=check,
                dead_letters_expected=summary.invalid_total,
            )
        finally:
            client.disconnect()
        pids = [child.process.pid for child in children.children]
        report += ["", *pipeline]
        report += ["", f"Charts (open in a browser, no network needed): {html_path}"]
        report += _epilogue(settings, workdir, pids if options.keep else None)
        return DemoResult(settings, check, report)


def _epilogue(settings: Settings, workdir: Path, kept: list[int] | None) -> list[str]:
    """Where the run's files and results are; with `--keep`, how to stop what still runs."""
    db = settings.clickhouse_database
    client = f"clickhouse-client --port {settings.clickhouse_port} --database {db}"
    if settings.stack_secure:  # TLS, and the migrator's password from the stack's folder
        client += (
            ' --secure --password "$(cat '
            + str(settings.state_dir / LOCAL_CLICKHOUSE_ADMIN_PASSWORD_FILE)
            + ')"'
        )
    lines = ["", f"Run files (events, logs): {workdir}"]
    if kept is not None:
        lines += [
            "The stack, worker and sink are still running. Query the results with:",
            f"  {client} --query 'SELECT * FROM kpi_active_total'",
            f"Stop the workers and the sink with `kill {' '.join(map(str, kept))}`, the stack "
            "with `jamsos stack down`.",
        ]
    else:
        lines += [f"The results stay in ClickHouse database {db} ({client})."]
    return lines
