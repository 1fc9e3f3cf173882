"""Pipeline processes (`jamsos worker`, `jamsos sink`) started as children with settings.

The demo and the integration tests run the real commands, as an operator would; settings
reach them through the `JAMSOS_*` environment, like any other deployment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from jamsos.settings import Settings


def environment(settings: Settings) -> dict[str, str]:
    """The environment that makes a child `jamsos` command use `settings`."""
    return {
        **os.environ,
        "JAMSOS_TOPIC_PREFIX": settings.topic_prefix,
        "JAMSOS_CLICKHOUSE_DATABASE": settings.clickhouse_database,
        "JAMSOS_SINK_GROUP": settings.sink_group,
        "JAMSOS_STATE_DIR": str(settings.state_dir),
    }


def start(settings: Settings, *args: str, log: Path) -> subprocess.Popen[bytes]:
    """Start `jamsos ARGS` in the background, output appended to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "jamsos", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment(settings),
            start_new_session=True,
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
