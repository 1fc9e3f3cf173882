"""End-to-end throughput against the bare consume-and-decode ceiling, in the same run.

A run publishes a simulated workload (fixed seed) to a private prefix *before* any worker
starts, so the pipeline then drains a full backlog at its own pace:

1. **Ceiling**: a plain kafka-python consumer reads the input topics from the start and
   decodes every message with the same Avro serde. Nothing a pipeline could do with these
   messages is cheaper, so this is what the hardware allows with this client.
2. **Pipeline**: the sink and `workers` workers start; the clock runs from the first row
   visible in ClickHouse to the moment the worker and sink groups have committed
   everything (all rows landed). Both ends carry one sink flush interval, so it cancels.

Events/s counts *input* messages; each makes several internal and output messages.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import time
from dataclasses import asdict, dataclass

from kafka import KafkaConsumer

from jamsos.bench.harness import BenchRun, bench_run, wait_for
from jamsos.connect import kafka_options
from jamsos.contracts.catalog import input_topics
from jamsos.contracts.errors import ContractError
from jamsos.contracts.registry import SchemaRegistry
from jamsos.contracts.serde import AvroSerde
from jamsos.demo.lag import LagProbe
from jamsos.settings import Settings
from jamsos.simulation import Simulation, SimulationConfig
from jamsos.simulation.publishing import publish_simulation
from jamsos.warehouse.client import make_client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThroughputRun:
    """One measured run."""

    workers: int
    events: int
    ceiling_seconds: float
    pipeline_seconds: float
    rows: int

    @property
    def ceiling_per_second(self) -> float:
        return self.events / self.ceiling_seconds

    @property
    def pipeline_per_second(self) -> float:
        return self.events / self.pipeline_seconds

    @property
    def ratio(self) -> float:
        return self.pipeline_per_second / self.ceiling_per_second

    def as_dict(self) -> dict[str, float | int]:
        return {
            **asdict(self),
            "ceiling_per_second": round(self.ceiling_per_second),
            "pipeline_per_second": round(self.pipeline_per_second),
            "ratio": round(self.ratio, 4),
        }


@dataclass(frozen=True)
class ThroughputSummary:
    """Medians over the runs with the same number of workers."""

    workers: int
    runs: list[ThroughputRun]

    @property
    def pipeline_per_second(self) -> float:
        return statistics.median(r.pipeline_per_second for r in self.runs)

    @property
    def ceiling_per_second(self) -> float:
        return statistics.median(r.ceiling_per_second for r in self.runs)

    @property
    def ratio(self) -> float:
        return statistics.median(r.ratio for r in self.runs)


def measure_throughput(
    base: Settings,
    *,
    members: int,
    months: int,
    seed: int,
    workers: int,
    timeout: float,
) -> ThroughputRun:
    """One run: publish the workload, measure the ceiling, then the pipeline over it."""
    with bench_run(base, f"tp{workers}w") as run:
        config = SimulationConfig(
            members=members, months=months, seed=seed, agents=max(20, members // 250)
        )
        summary = publish_simulation(run.settings, Simulation(config))
        events = summary.total
        log.info("published %d messages to %s", events, run.settings.topic_prefix)
        ceiling = consume_and_decode(run.settings, events)
        seconds, rows = _drain(run, workers, timeout)
        return ThroughputRun(workers, events, ceiling, seconds, rows)


def consume_and_decode(settings: Settings, expected: int) -> float:
    """Seconds a plain consumer takes to read and decode `expected` input messages."""
    registry = SchemaRegistry.from_settings(settings)
    serde = AvroSerde(registry)
    consumer = KafkaConsumer(
        *(settings.topic(t) for t in input_topics()),
        **kafka_options(settings, "admin"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        max_poll_records=5000,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    try:
        seen = 0
        started: float | None = None
        deadline = time.monotonic() + 300
        while seen < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"ceiling consumer saw {seen} of {expected} messages")
            batches = consumer.poll(timeout_ms=500)
            if started is None and batches:
                started = time.monotonic()
            for records in batches.values():
                for record in records:
                    # Some are invalid on purpose; trying to decode them is the cost.
                    with contextlib.suppress(ContractError):
                        serde.decode(record.value)
                    seen += 1
        assert started is not None
        return time.monotonic() - started
    finally:
        consumer.close()
        registry.close()


def _drain(run: BenchRun, workers: int, timeout: float) -> tuple[float, int]:
    """Start sink and workers; seconds from the first landed row to everything landed."""
    client = make_client(run.settings, database=run.settings.clickhouse_database)
    probe = LagProbe(run.settings)
    try:
        run.start_sink()
        for number in range(1, workers + 1):
            run.start_worker(f"w{number}")

        def first_row() -> bool:
            return bool(client.execute("SELECT count() FROM member_status_changes")[0][0])

        started = wait_for(first_row, timeout=120, interval=0.1, what="first row")
        finished = wait_for(
            probe.caught_up,
            timeout=timeout,
            interval=0.25,
            what="pipeline caught up",
        )
        rows = int(client.execute("SELECT count() FROM member_status_changes")[0][0])
        return finished - started, rows
    finally:
        probe.close()
        client.disconnect()
