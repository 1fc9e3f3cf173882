"""Waiting for the pipeline to catch up, for as long as it makes progress.

A fixed clock is the wrong judge on a shared machine: a busy two-core box can take many
minutes to drain a backlog that an idle one drains in seconds. So the wait goes on while
the worker and sink groups keep committing, and ends with a one-line reason when they stop
moving for `stall_timeout` seconds (with the lags and the logs to read) or when a process
of the run exits. Done is "nothing left to commit", seen twice in a row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from jamsos.demo.lag import GroupLag
from jamsos.demo.processes import RunError


class StalledError(RunError):
    """The pipeline made no progress for the stall time-out (one line, with logs to read)."""


class Probe(Protocol):
    problem: str
    """Why the last unknown reading was unknown."""

    def worker(self) -> GroupLag | None: ...
    def sink(self) -> GroupLag | None: ...


class Watched(Protocol):
    """The run's processes: `check()` raises when one has exited."""

    def check(self) -> None: ...

    @property
    def logs(self) -> list[Path]: ...


class Display(Protocol):
    """Where the catch-up shows how far it is (a progress bar, or nothing)."""

    def show(self, done: int, behind: int, worker: int, sink: int) -> None: ...


@dataclass
class CatchUp:
    """Polls `probe` until both groups have committed everything there is."""

    probe: Probe
    processes: Watched
    stall_timeout: float
    interval: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def wait(self, display: Display | None = None) -> float:
        """Block until caught up; returns the seconds it took. Raises `StalledError` or the
        processes' exit error."""
        started = self.clock()
        last_change = started
        last_committed: int | None = None
        baseline: int | None = None
        readings: str | None = None
        settled = 0
        while settled < 2:
            self.processes.check()
            worker, sink = self.probe.worker(), self.probe.sink()
            now = self.clock()
            if worker is not None and sink is not None:
                committed = worker.committed + sink.committed
                behind = worker.behind + sink.behind
                readings = f"worker behind by {worker.behind:,}, sink by {sink.behind:,}"
                if committed != last_committed:
                    last_committed, last_change = committed, now
                baseline = committed if baseline is None else baseline
                if display is not None:
                    display.show(committed - baseline, behind, worker.behind, sink.behind)
                settled = settled + 1 if behind == 0 else 0
                if settled == 2:
                    break
            else:
                settled = 0
            if now - last_change > self.stall_timeout:
                logs = ", ".join(str(path) for path in self.processes.logs)
                raise StalledError(
                    f"the pipeline made no progress for {self.stall_timeout:.0f}s "
                    f"({readings or f'no reading yet: {self.probe.problem}'}); read {logs}"
                )
            self.sleep(self.interval)
        return self.clock() - started
