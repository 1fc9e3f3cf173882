"""Pipeline processes (`jamsos worker`, `jamsos sink`) started as children with settings.

The demo, the benchmarks and the integration tests run the real commands, as an operator
would; settings reach them through the `JAMSOS_*` environment, like any other deployment.

A child must never outlive the command or test that started it, however that ends: a
normal return and an exception are covered by `Children` (a context manager), and a parent
that is killed outright (`kill -9`, a test runner's time-out) by the kernel itself: each
child asks, before it starts, to be sent SIGTERM when its parent dies (`PR_SET_PDEATHSIG`).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from jamsos.settings import Settings

_PR_SET_PDEATHSIG = 1


def environment(settings: Settings) -> dict[str, str]:
    """The environment that makes a child `jamsos` command use `settings`."""
    environment = {
        **os.environ,
        "JAMSOS_TOPIC_PREFIX": settings.topic_prefix,
        "JAMSOS_CLICKHOUSE_DATABASE": settings.clickhouse_database,
        "JAMSOS_SINK_GROUP": settings.sink_group,
        "JAMSOS_STATE_DIR": str(settings.state_dir),
    }
    if settings.metrics_port:
        environment["JAMSOS_METRICS_PORT"] = str(settings.metrics_port)
    return environment


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM me when my parent exits."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def start(
    settings: Settings, *args: str, log: Path, outlive_parent: bool = False
) -> subprocess.Popen[bytes]:
    """Start `jamsos ARGS` in the background, output appended to `log`.

    The child runs in its own session (a terminal's Ctrl-C goes to the parent, which stops
    it in order) and, unless `outlive_parent` (the demo's `--keep`), dies with the parent.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "jamsos", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment(settings),
            start_new_session=True,
            preexec_fn=None if outlive_parent else _die_with_parent,
        )


def stop(process: subprocess.Popen[bytes], *, kill: bool = False, timeout: float = 30) -> None:
    """SIGTERM (or SIGKILL) the process and wait for it."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RunError(RuntimeError):
    """A run failed for a reason it reports in one line, naming the log to read."""


class ChildExitedError(RunError):
    """A pipeline process ended while the run still needed it (one line: which, and its log)."""


MAX_RESTARTS = 5
"""Restarts of one child within a run before its exit fails the run after all."""


@dataclass
class Child:
    """One started pipeline process, its role and the log to read when it fails."""

    role: str
    process: subprocess.Popen[bytes]
    log: Path
    args: tuple[str, ...] = ()
    restart_on: frozenset[int] = frozenset()
    """Exit statuses after which the child is started again, as a supervisor would."""
    restarts: int = 0
    metrics_port: int = 0
    """Where it serves `/metrics` (0: nowhere); a restarted child serves there again."""


@dataclass
class Children:
    """The pipeline processes of one run: started together, watched, always stopped.

    `check()` raises `ChildExitedError` as soon as one has ended, so a run fails at once with the
    log to read instead of waiting for progress that cannot come. Leaving the `with` block
    stops every child still running, unless `keep` (then they are meant to outlive the run).
    """

    settings: Settings
    keep: bool = False
    children: list[Child] = field(default_factory=list)

    def start(
        self,
        role: str,
        *args: str,
        log: Path,
        restart_on: frozenset[int] = frozenset(),
        metrics_port: int = 0,
    ) -> Child:
        settings = self.settings.model_copy(update={"metrics_port": metrics_port})
        process = start(settings, *args, log=log, outlive_parent=self.keep)
        child = Child(role, process, log, args, restart_on, metrics_port=metrics_port)
        self.children.append(child)
        return child

    def check(self) -> None:
        """Raise when a child has ended, unless it ended with a status it is restarted on
        (then it is started again, at most `MAX_RESTARTS` times); and end the run if a
        SIGTERM came whose exit was lost (`terminate_as_exit`)."""
        if _terminated:
            raise SystemExit(128 + _terminated[0])
        for child in self.children:
            code = child.process.poll()
            if code in child.restart_on and child.restarts < MAX_RESTARTS:
                child.restarts += 1
                settings = self.settings.model_copy(update={"metrics_port": child.metrics_port})
                child.process = start(
                    settings, *child.args, log=child.log, outlive_parent=self.keep
                )
                continue
            if code is not None:
                raise ChildExitedError(
                    f"the {child.role} (pid {child.process.pid}) exited with status {code} "
                    f"while the run needed it; read {child.log}"
                )

    @property
    def logs(self) -> list[Path]:
        return [child.log for child in self.children]

    def stop_all(self) -> None:
        for child in self.children:
            stop(child.process)

    def __enter__(self) -> Children:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if not self.keep or kind is not None:
            self.stop_all()


_terminated: list[int] = []
"""Signals `terminate_as_exit` has received in this process."""


@contextmanager
def terminate_as_exit() -> Iterator[None]:
    """SIGTERM ends the block like an exception (exit status 143), so `finally` and `with`
    clean-up (stopping children) run; the previous handler is restored afterwards.

    A signal that lands in a callback whose exceptions Python ignores (logging's lock
    release after starting a child is one) loses that exit; the signal is therefore also
    noted, and `Children.check` ends the run then."""

    def handler(signum: int, _frame: object) -> None:
        _terminated.append(signum)
        raise SystemExit(128 + signum)

    _terminated.clear()
    previous: Callable[..., object] | int | None = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _terminated.clear()
