"""`jamsos` commands as real subprocesses, for tests that start, stop and kill them."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jamsos.demo.processes import start, stop
from jamsos.settings import Settings

__all__ = ["running", "start", "stop"]


@contextmanager
def running(settings: Settings, *args: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`jamsos ARGS` running for the duration of the block, stopped with SIGTERM after."""
    process = start(settings, *args, log=log)
    try:
        yield process
    finally:
        stop(process)
