"""A child that stops on purpose (exit 70) is started again, a few times; others fail the run."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jamsos.demo import processes
from jamsos.demo.processes import MAX_RESTARTS, ChildExitedError, Children
from jamsos.exits import EXIT_AGENT_FAILED
from jamsos.settings import Settings


def exiting_with(code: int) -> Any:
    def start(_settings: Settings, *args: str, log: Path, outlive_parent: bool) -> Any:
        process = subprocess.Popen([sys.executable, "-c", f"raise SystemExit({code})"])
        process.wait()
        return process

    return start


def test_a_worker_that_stops_on_purpose_is_restarted_then_fails_the_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(processes, "start", exiting_with(EXIT_AGENT_FAILED))
    children = Children(Settings())
    worker = children.start(
        "worker 1", "worker", log=tmp_path / "w.log", restart_on=frozenset({EXIT_AGENT_FAILED})
    )
    for _ in range(MAX_RESTARTS):
        children.check()
    assert worker.restarts == MAX_RESTARTS
    with pytest.raises(ChildExitedError, match=r"worker 1 .* exited with status 70"):
        children.check()


def test_any_other_exit_fails_the_run_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(processes, "start", exiting_with(1))
    children = Children(Settings())
    children.start("sink", "sink", log=tmp_path / "s.log", restart_on=frozenset({70}))
    with pytest.raises(ChildExitedError, match=r"sink .* exited with status 1"):
        children.check()


def test_a_sigterm_whose_exit_was_swallowed_ends_the_run_at_the_next_check() -> None:
    """A SIGTERM landing in a callback whose exceptions Python ignores (logging's lock
    release after a fork) loses its SystemExit; the run must still end, at the next check."""
    children = Children(Settings())
    with processes.terminate_as_exit():
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler)
        with pytest.raises(SystemExit):
            handler(signal.SIGTERM, None)  # the exit that the callback swallowed
        with pytest.raises(SystemExit) as exited:
            children.check()
    assert exited.value.code == 128 + signal.SIGTERM
    children.check()  # a later run in the same process starts clean
