"""A catch-up that takes longer than five minutes (kafka-python's metadata age, where the
old lag probe broke) still ends in an equal cross-check: the wait follows progress, the
probe survives its client's metadata refreshes, and the sink loses nothing when it comes
back from a pause long enough for its group to drop it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from jamsos.settings import Settings
from tests.integration.demo.helpers import children_of, cmdline, demo_argv, failure_report, finish

PAUSE = 320.0
"""Seconds the sink is frozen: past the 300 s metadata age and its group session."""


@pytest.mark.timeout(1500)
def test_demo_whose_catch_up_outlasts_five_minutes_still_agrees_with_replay(
    settings: Settings, tmp_path: Path
) -> None:
    err = tmp_path / "demo.err"
    demo = subprocess.Popen(
        demo_argv(400, 3, 7, "--seed", "11", "--stall-timeout", "600"),
        stdout=subprocess.PIPE,
        stderr=err.open("w"),
        text=True,
    )
    sink = None
    try:
        deadline = time.monotonic() + 300
        while sink is None and time.monotonic() < deadline:
            assert demo.poll() is None, err.read_text()[-2000:]
            found = [p for p in children_of(demo.pid) if b"sink" in cmdline(p)]
            sink = found[0] if found else None
            time.sleep(0.1)
        assert sink is not None, "the demo never started its sink"
        os.kill(sink, signal.SIGSTOP)
        frozen_at = time.monotonic()
        while "waiting for the workers" not in err.read_text():
            assert demo.poll() is None, err.read_text()[-2000:]
            time.sleep(0.5)
        waiting_since = time.monotonic()
        time.sleep(max(0.0, PAUSE - (time.monotonic() - frozen_at)))
        os.kill(sink, signal.SIGCONT)
        out = finish(demo, err.read_text, timeout=900)
        finished = time.monotonic()
    finally:
        if sink is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(sink, signal.SIGCONT)
        if demo.poll() is None:
            demo.terminate()  # its workers and sink stop with it
            demo.wait()
    assert demo.returncode == 0, failure_report(err.read_text())
    assert finished - waiting_since > 300, "the catch-up was not longer than five minutes"
    assert "400 members, 7 agents" in out
    assert "all equal" in out
