"""`jamsos` commands as real subprocesses, for tests that start, stop and kill them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jamsos.settings import Settings


def start(settings: Settings, *args: str, log: Path) -> subprocess.Popen[bytes]:
    """Start `jamsos ARGS` with the run's settings in its environment."""
    env = {
        **os.environ,
        "JAMSOS_TOPIC_PREFIX": settings.topic_prefix,
        "JAMSOS_CLICKHOUSE_DATABASE": settings.clickhouse_database,
        "JAMSOS_STATE_DIR": str(settings.state_dir),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "jamsos", *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )


def stop(process: subprocess.Popen[bytes], *, kill: bool = False, timeout: float = 30) -> None:
    """SIGTERM (or SIGKILL) and wait."""
    if process.poll() is None:
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running(settings: Settings, *args: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = start(settings, *args, log=log)
    try:
        yield process
    finally:
        stop(process)
