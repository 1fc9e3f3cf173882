"""The sink's Prometheus metrics, read from its `SinkStats` at each scrape.

A collector, not counters incremented on the hot path: the sink already counts what it
does (`SinkStats`), so a scrape reads those figures and the sink's loop does nothing more.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from consumers.sink import BatchingSink
from jamsos.metrics import STALE_AFTER_SECONDS, Health


class SinkCollector:
    """`jamsos_sink_*` metrics of one running sink."""

    def __init__(self, sink: BatchingSink) -> None:
        self.sink = sink

    def collect(self) -> Iterator[Metric]:
        stats = self.sink.stats
        rows = CounterMetricFamily(
            "jamsos_sink_rows", "Rows ClickHouse accepted, by table", labels=["table"]
        )
        for table, count in sorted(stats.rows.items()):
            rows.add_metric([table], count)
        yield rows
        for name, text, value in (
            ("messages", "Kafka messages read", stats.messages),
            ("skipped", "Messages skipped (invalid input, handled by the worker)", stats.skipped),
            ("quarantined", "Rows ClickHouse refused, landed as dead letters", stats.quarantined),
            ("flushes", "Batches ClickHouse accepted", stats.flushes),
            ("commits", "Offset commits", stats.commits),
            ("insert_errors", "Failed insert attempts (each retried)", stats.failed_attempts),
            ("flush_seconds", "Time in accepted flushes", stats.flush_seconds),
            ("paused_seconds", "Time paused while ClickHouse refused", stats.paused_seconds),
        ):
            yield CounterMetricFamily(f"jamsos_sink_{name}", text, value=value)
        yield GaugeMetricFamily(
            "jamsos_sink_assigned_partitions", "Partitions assigned", value=stats.assigned
        )
        yield GaugeMetricFamily(
            "jamsos_sink_paused_partitions", "Partitions paused", value=stats.paused
        )
        if stats.committed_lag is not None:
            yield GaugeMetricFamily(
                "jamsos_sink_committed_lag",
                "Messages past the committed offsets of the assigned partitions",
                value=stats.committed_lag,
            )


def sink_metrics(sink: BatchingSink) -> tuple[CollectorRegistry, Health]:
    """The registry and health of `sink`: alive while its loop turns, ready while it holds
    partitions and is not paused by a refusing ClickHouse."""
    registry = CollectorRegistry()
    registry.register(SinkCollector(sink))

    def ready() -> tuple[bool, str]:
        stats = sink.stats
        if time.monotonic() - stats.loop_at > STALE_AFTER_SECONDS:
            return False, "main loop quiet"
        if stats.paused:
            return False, f"{stats.paused} partitions paused (ClickHouse refusing)"
        return True, f"{stats.assigned} partitions assigned"

    return registry, Health(lambda: sink.stats.loop_at, ready)
