"""`jamsos sink`: the Kafka -> ClickHouse sink consumers."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

import click

from jamsos.access import check_clickhouse, check_kafka, check_registry
from jamsos.cli.common import load_settings, one_line_errors
from jamsos.contracts.registry import SchemaRegistry
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from jamsos.topics import ensure_topics

if TYPE_CHECKING:
    from consumers.sink import BatchingSink

log = logging.getLogger(__name__)


@click.command()
@click.option("--bootstrap", "kafka_bootstrap", help="Kafka bootstrap servers.")
@click.option("--registry-url", help="Schema registry base URL.")
@click.option("--topic-prefix", help="Prefix of the physical topic names.")
@click.option("--database", "clickhouse_database", help="ClickHouse database to land in.")
@click.option("--group", "sink_group", help="Kafka consumer group of the sinks.")
@click.option("--batch-rows", "sink_batch_rows", type=int, help="Rows that trigger a flush.")
@click.option(
    "--flush-seconds", "sink_flush_seconds", type=float, help="Longest wait before a flush."
)
@click.option(
    "--commit-seconds",
    "sink_commit_seconds",
    type=float,
    help="Least time between offset commits (0: after every flush).",
)
@click.option(
    "--until-idle",
    type=float,
    default=None,
    help="Exit once the topics are drained and nothing arrived for this many seconds.",
)
@one_line_errors
def sink(until_idle: float | None, **flags: object) -> None:
    """Land the output topics and contributions in ClickHouse until SIGTERM/SIGINT.

    Rows are inserted in batches; Kafka offsets are committed only after ClickHouse has
    accepted them, so a crash re-delivers rather than loses, and the tables collapse the
    re-delivered copies.
    """
    from consumers.sink import run_sink
    from jamsos.topics import SINK_TOPICS

    settings = load_settings(**flags)
    # The sink's own progress lines, whatever the level of the libraries' chatter.
    logging.getLogger("consumers").setLevel(min(logging.INFO, logging.getLogger().level))
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s; flushing and stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    check_kafka(settings, "sink")
    check_registry(settings)
    check_clickhouse(settings, "writer")
    if settings.kpi_refresh_seconds > 0:
        check_clickhouse(settings, "refresher")
    ensure_topics(settings, SINK_TOPICS, service="sink")
    check_kafka(settings, "sink", SINK_TOPICS)
    registry = SchemaRegistry.from_settings(settings)
    try:
        stats = run_sink(
            settings,
            AvroSerde(registry),
            until_idle=until_idle,
            stop=stop,
            on_start=lambda sink: _serve_metrics(settings, sink),
        )
    finally:
        registry.close()
    click.echo(
        f"landed {stats.rows_total} rows from {stats.messages} messages "
        f"({stats.skipped} skipped, {stats.failed_attempts} failed insert attempts)"
    )


def _serve_metrics(settings: Settings, sink: BatchingSink) -> None:
    """`/metrics`, `/healthz` and `/readyz` of this sink, when `JAMSOS_METRICS_PORT` is set."""
    if not settings.metrics_port:
        return
    from consumers.metrics import sink_metrics
    from jamsos.metrics import serve

    registry, health = sink_metrics(sink)
    serve(settings.metrics_host, settings.metrics_port, registry, health)
