"""A demo that fails, or is killed, leaves no process of its own behind, and says why in one
line naming the log to read."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from jamsos.settings import Settings
from tests.integration.demo.helpers import alive, children_of, cmdline, demo_argv


def start_demo(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """A demo paced slowly enough to still be publishing when the test acts on it."""
    err = tmp_path / "demo.err"
    demo = subprocess.Popen(
        demo_argv(300, 2, 5, "--rate", "20", "--workers", "2"),
        stdout=subprocess.DEVNULL,
        stderr=err.open("w"),
        text=True,
    )
    return demo, err


def wait_for_children(demo: subprocess.Popen[str], count: int, timeout: float = 180) -> set[int]:
    """The demo's pipeline processes, once it has started `count` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert demo.poll() is None, "the demo ended before starting its processes"
        kids = {pid for pid in children_of(demo.pid) if b"jamsos" in cmdline(pid)}
        if len(kids) >= count:
            return kids
        time.sleep(0.2)
    raise AssertionError(f"the demo did not start {count} processes in {timeout}s")


def wait_gone(pids: set[int], timeout: float = 60) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.2)
    return {p for p in pids if alive(p)}


def test_a_worker_that_exits_fails_the_demo_in_one_line_and_stops_the_rest(
    settings: Settings, tmp_path: Path
) -> None:
    demo, err = start_demo(tmp_path)
    try:
        kids = wait_for_children(demo, 3)
        victim = min(kids)  # the first worker started
        os.kill(victim, signal.SIGKILL)
        code = demo.wait(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
    message = err.read_text()
    assert code == 1
    assert "Traceback" not in message
    last = message.strip().splitlines()[-1]
    assert last.startswith("jamsos: the worker 1")
    assert "exited" in last
    assert "worker-1.log" in last
    assert wait_gone(kids) == set()


def test_a_demo_killed_outright_takes_its_processes_with_it(
    settings: Settings, tmp_path: Path
) -> None:
    """`kill -9` of the demo (or a test runner's time-out) runs no clean-up code at all:
    the kernel's parent-death signal stops the workers and the sink."""
    demo, _ = start_demo(tmp_path)
    try:
        kids = wait_for_children(demo, 3)
    finally:
        demo.kill()
        demo.wait()
    assert wait_gone(kids) == set()


def test_sigterm_stops_the_demo_and_its_processes(settings: Settings, tmp_path: Path) -> None:
    demo, err = start_demo(tmp_path)
    try:
        kids = wait_for_children(demo, 3)
        demo.send_signal(signal.SIGTERM)
        code = demo.wait(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert code == 128 + signal.SIGTERM
    assert "Traceback" not in err.read_text()
    assert wait_gone(kids) == set()
