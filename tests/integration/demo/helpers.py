"""Running `jamsos demo` as a subprocess and finding the processes it started (Linux /proc)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


def demo_argv(members: int, months: int, agents: int, *flags: str) -> list[str]:
    """The command line of a small demo run."""
    return [
        sys.executable,
        "-m",
        "jamsos",
        "demo",
        "--members",
        str(members),
        "--months",
        str(months),
        "--agents",
        str(agents),
        *flags,
    ]


def children_of(pid: int) -> set[int]:
    """Direct children of `pid`."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            continue
    return found


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def failure_report(stderr: str, lines: int = 40) -> str:
    """The end of a failed run's stderr, followed by the last `lines` lines of every log of
    the run (those it names and the others beside them: worker, sink): a run that fails in
    CI leaves its logs behind on a machine nobody can read."""
    report = [stderr[-3000:]]
    named = [Path(name) for name in re.findall(r"(/\S+?\.log)\b", stderr)]
    beside = [log for path in named if path.parent.is_dir() for log in path.parent.glob("*.log")]
    for path in dict.fromkeys([*named, *sorted(beside)]):
        if path.is_file():
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            report += [f"--- last {len(tail)} lines of {path}", *tail]
    return "\n".join(report)


def finish(demo: subprocess.Popen[str], stderr: Callable[[], str], timeout: float) -> str:
    """The demo's stdout once it ends within `timeout` seconds. Past that, it is stopped as
    a user would stop it (SIGTERM: its workers and sink stop with it) and the test fails
    with the run's stderr and logs, not a bare time-out."""
    try:
        out, _ = demo.communicate(timeout=timeout)
        return out
    except subprocess.TimeoutExpired:
        demo.terminate()
        try:
            demo.wait(timeout=120)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
        pytest.fail(f"the demo did not end within {timeout:.0f}s\n{failure_report(stderr())}")
