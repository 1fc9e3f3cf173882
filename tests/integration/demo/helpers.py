"""Running `jamsos demo` as a subprocess and finding the processes it started (Linux /proc)."""

from __future__ import annotations

import re
import sys
from pathlib import Path


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
    """The end of a failed run's stderr, followed by the last `lines` lines of every log it
    names: a run that fails in CI leaves its logs behind on a machine nobody can read."""
    report = [stderr[-3000:]]
    for name in dict.fromkeys(re.findall(r"(/\S+?\.log)\b", stderr)):
        path = Path(name)
        if path.is_file():
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            report += [f"--- last {len(tail)} lines of {path}", *tail]
    return "\n".join(report)
