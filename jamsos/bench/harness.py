"""What the pipeline benchmarks share: a private run on the local stack.

Every measured run gets its own topic prefix, consumer groups and ClickHouse database (as
the demo does), starts the real `jamsos worker` and `jamsos sink` commands as child
processes, and removes its topics, database and worker state afterwards unless asked to
keep them. How far its groups are behind is `jamsos.demo.lag.LagProbe`.
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

from jamsos.contracts.catalog import TOPICS
from jamsos.demo.processes import start, stop
from jamsos.settings import Settings
from jamsos.topics import MEMBER_GROUP, delete_topics_with_prefix, ensure_topics
from jamsos.warehouse.client import make_client
from jamsos.warehouse.migrations import migrate

log = logging.getLogger(__name__)


@dataclass
class BenchRun:
    """One private run on the local stack: its settings, work folder and child processes."""

    settings: Settings
    workdir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def member_group(self) -> str:
        """The consumer group of the worker's member side."""
        return self.settings.topic(MEMBER_GROUP)

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
    """A private run: fresh prefix, groups and database; everything removed afterwards,
    except the processes' logs when the run failed."""
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
    migrate(admin, settings.clickhouse_database, cluster=settings.clickhouse_cluster)
    ensure_topics(settings, list(TOPICS))
    bench = BenchRun(settings, workdir)
    failed = False
    try:
        yield bench
    except BaseException:
        failed = True  # the processes' logs stay in `workdir`: a failure names them
        raise
    finally:
        bench.stop_all()
        if not keep:
            delete_topics_with_prefix(settings, settings.topic_prefix)
            admin.execute(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}")
            for state in (settings.state_dir / "workers").glob(f"{settings.topic_prefix}*"):
                shutil.rmtree(state, ignore_errors=True)
            if not failed:
                shutil.rmtree(workdir, ignore_errors=True)
        admin.disconnect()


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
