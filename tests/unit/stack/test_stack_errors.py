"""`jamsos stack up` fails with a one-line cause, not a traceback, when it cannot start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A loopback port some other program holds."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stack_up(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "JAMSOS_STATE_DIR": str(tmp_path / "state"),
        "JAMSOS_KAFKA_BOOTSTRAP": f"127.0.0.1:{_free_port()}",
        "JAMSOS_KAFKA_CONTROLLER_PORT": str(_free_port()),
        "JAMSOS_CLICKHOUSE_PORT": str(_free_port()),
        "JAMSOS_CLICKHOUSE_HTTP_PORT": str(_free_port()),
        "JAMSOS_REGISTRY_URL": f"http://127.0.0.1:{_free_port()}/apis/ccompat/v7",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "jamsos", "stack", "up"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_port_taken_by_another_program(tmp_path: Path, listening_port: int) -> None:
    result = _stack_up(tmp_path, JAMSOS_KAFKA_BOOTSTRAP=f"127.0.0.1:{listening_port}")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"jamsos: kafka: port {listening_port} on 127.0.0.1 is already taken by another "
        "program (choose another port with the matching JAMSOS_* setting)"
    ]


def test_java_missing(tmp_path: Path) -> None:
    result = _stack_up(tmp_path, PATH=str(tmp_path / "empty-bin"))
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("jamsos: java not found: it is needed to run Kafka")


def test_disk_too_full(tmp_path: Path) -> None:
    result = _stack_up(tmp_path, JAMSOS_STACK_MIN_FREE_DISK=str(2**62))
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("jamsos: disk full: only ")
    assert "MiB free under" in line
