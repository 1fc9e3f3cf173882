"""What the pipeline benchmarks share: a private run on the local stack and its probes.

Every measured run gets its own topic prefix, consumer groups and ClickHouse database (as
the demo does), starts the real `jamsos worker` and `jamsos sink` commands as child
processes, and removes its topics, database and worker state afterwards unless asked to
keep them. Lag is read from the groups' committed offsets with one long-lived consumer, so
polling it often costs little.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

from jamsos.contracts.catalog import TOPICS
from jamsos.demo.processes import start, stop
from jamsos.settings import Settings
from jamsos.topics import delete_topics_with_prefix, ensure_topics
from jamsos.warehouse.client import make_client
from jamsos.warehouse.migrations import migrate

log = logging.getLogger(__name__)

WORKER_INPUTS = (
    "enrolments",
    "contributions",
    "agents",
    "clock",
    "worker.member-inbox",
    "worker.agent-inbox",
)
"""Topics the worker group consumes (contract inputs and its own inboxes)."""
SINK_INPUTS = ("member-status", "lapse-alerts", "agent-tallies", "dead-letters", "contributions")
"""Topics the sink group consumes."""
INPUTS = ("enrolments", "contributions", "agents", "clock")
"""The upstream contract topics a workload is published to."""


@dataclass
class BenchRun:
    """One private run on the local stack: its settings, work folder and child processes."""

    settings: Settings
    workdir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def worker_group(self) -> str:
        return self.settings.topic("jamsos-worker")

    def start_worker(self, name: str = "w1") -> subprocess.Popen[bytes]:
        """Start `jamsos worker --name NAME` (state under the run's worker folder)."""
        process = start(
            self.settings, "worker", "--name", name, log=self.workdir / f"worker-{name}.log"
        )
        self.processes.append(process)
        return process

    def start_sink(self) -> subprocess.Popen[bytes]:
        process = start(self.settings, "sink", log=self.workdir / "sink.log")
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            stop(process)
        self.processes.clear()

    def worker_state_dir(self, name: str = "w1") -> Path:
        """Where `jamsos worker --name NAME` keeps its RocksDB state in this run."""
        return self.settings.state_dir / "workers" / f"{self.settings.topic_prefix}{name}"


@contextmanager
def bench_run(base: Settings, label: str, *, keep: bool = False) -> Iterator[BenchRun]:
    """A private run: fresh prefix, groups and database; everything removed afterwards."""
    run = f"{label}{time.strftime('%H%M%S')}{uuid.uuid4().hex[:4]}"
    settings = base.model_copy(
        update={
            "topic_prefix": f"bench-{run}.",
            "clickhouse_database": f"jamsos_bench_{run}",
            "sink_group": f"bench-{run}.jamsos-sink",
        }
    )
    workdir = settings.state_dir / "bench" / run
    workdir.mkdir(parents=True, exist_ok=True)
    admin = make_client(settings)
    migrate(admin, settings.clickhouse_database)
    ensure_topics(settings, list(TOPICS))
    bench = BenchRun(settings, workdir)
    try:
        yield bench
    finally:
        bench.stop_all()
        if not keep:
            delete_topics_with_prefix(settings, settings.topic_prefix)
            admin.execute(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}")
            for state in (settings.state_dir / "workers").glob(f"{settings.topic_prefix}*"):
                shutil.rmtree(state, ignore_errors=True)
            shutil.rmtree(workdir, ignore_errors=True)
        admin.disconnect()


class LagProbe:
    """Committed-offset lag of consumer groups, read with one reusable consumer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
        )
        self.admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        self._partitions: dict[tuple[str, ...], list[TopicPartition]] = {}

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()

    def _committed(self, group: str, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The group's committed offsets, asked of its coordinator without joining it."""
        answer = self.admin.list_group_offsets({group: partitions})[group]
        return {tp: meta.offset for tp, meta in answer.items() if meta.offset >= 0}

    def _topic_partitions(self, topics: tuple[str, ...]) -> list[TopicPartition]:
        if topics not in self._partitions:
            physical = [self.settings.topic(t) for t in topics]
            self._partitions[topics] = [
                TopicPartition(topic, p)
                for topic in physical
                for p in self.consumer.partitions_for_topic(topic) or ()
            ]
        return self._partitions[topics]

    def lag(self, group: str, topics: tuple[str, ...]) -> int | None:
        """Messages of `topics` not yet committed by `group`; None before its first commit
        on a partition that holds data."""
        partitions = self._topic_partitions(topics)
        offsets = self._committed(group, partitions)
        lag = 0
        for tp, end in self.consumer.end_offsets(partitions).items():
            if end == 0:
                continue
            done = offsets.get(tp)
            if done is None:
                return None
            lag += max(0, end - done)
        return lag

    def caught_up(self, worker_group: str, sink_group: str) -> bool:
        """Worker and sink have committed everything there is."""
        return self.lag(worker_group, WORKER_INPUTS) == 0 and self.lag(sink_group, SINK_INPUTS) == 0


def wait_for(
    condition: Callable[[], bool], *, timeout: float, interval: float = 0.25, what: str
) -> float:
    """Poll `condition` until true; returns the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f}s")
        time.sleep(interval)
