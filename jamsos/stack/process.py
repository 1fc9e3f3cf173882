"""Background server processes that the local stack starts and, later, stops by pid.

A pid file alone is not proof of ownership: pids are recycled. Every process is therefore
started with a *marker* on its command line (the path of its own config file under the
stack's state folder), and a pid counts as ours only while `/proc/<pid>/cmdline` still
contains that marker. `down` stops nothing else.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


class StackError(RuntimeError):
    """A stack operation failed for a reason a person can act on (one line, no traceback)."""


@dataclass(frozen=True)
class ManagedProcess:
    """A server process identified by its pid file and a command-line marker."""

    name: str
    pid_file: Path
    log_file: Path
    marker: str
    server_log: Path | None = None
    """The server's own log, when it keeps one apart from stdout: the one to read on failure."""

    @property
    def log_to_read(self) -> Path:
        """Where a person should look when this process misbehaves."""
        return self.server_log or self.log_file

    def pid(self) -> int | None:
        """The pid of our running process, or None (stale pid files are ignored)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return None
        if self.marker not in cmdline or _is_zombie(pid):
            return None
        return pid

    def start(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
        """Start `argv` detached (own session), output appended to the log file."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as out:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        _wait_for_exec(proc, self.marker)
        log.info("started %s (pid %d), log %s", self.name, proc.pid, self.log_file)
        return proc.pid

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop our process: SIGTERM, then SIGKILL after `timeout`. False if none was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            log.warning("%s (pid %d) ignored SIGTERM for %.0fs; killing", self.name, pid, timeout)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        log.info("stopped %s (pid %d)", self.name, pid)
        return True


def _wait_for_exec(proc: subprocess.Popen[bytes], marker: str, timeout: float = 10.0) -> None:
    """Until the child has exec'd its program (or died): between fork and exec its command
    line is still the parent's, and `pid()` would take it for a process that already exited."""
    deadline = time.monotonic() + timeout
    path = Path(f"/proc/{proc.pid}/cmdline")
    while proc.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if marker in path.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                return
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (reaping it if it is our child)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_free_port(name: str, host: str, port: int) -> None:
    """Fail with one line when another program already listens where `name` must."""
    if port_open(host, port):
        raise StackError(
            f"{name}: port {port} on {host} is already taken by another program "
            f"(choose another port with the matching JAMSOS_* setting)"
        )


def wait_until_ready(
    process: ManagedProcess,
    probe: Callable[[], bool],
    timeout: float,
    interval: float = 0.25,
) -> None:
    """Poll `probe` until it answers True; fail early if the process dies, or at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        if probe():
            return
        if process.pid() is None:
            raise StackError(f"{process.name} exited during start-up; read {process.log_to_read}")
        if time.monotonic() >= deadline:
            raise StackError(
                f"{process.name} not ready after {timeout:.0f}s; read {process.log_to_read}"
            )
        time.sleep(interval)
