"""Running `jamsos demo` as a subprocess and finding the processes it started (Linux /proc)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from clickhouse_driver.errors import Error as ClickHouseError

from jamsos.settings import Settings
from jamsos.warehouse.client import make_client


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


ARTEFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
"""Files a test keeps for people to look at (screenshots); ignored by git."""


def render_in_browser(page: Path, screenshot: Path) -> tuple[str, str]:
    """Open `page` in headless Chromium (Debian's `chromium`): its DOM once scripts ran,
    and the browser's log (console errors included); a screenshot is written too."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is not installed (make test installs it)"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--window-size=1300,3600",
        "--virtual-time-budget=15000",
        "--enable-logging=stderr",
        "--v=0",
    ]
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    shot = subprocess.run(
        [browser, *flags, f"--screenshot={screenshot}", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout, shot.stderr + dom.stderr


def wait_for_landing(settings: Settings, stderr: Callable[[], str], timeout: float = 300) -> str:
    """Wait until a running demo's first members are in ClickHouse (the whole pipeline is
    flowing); returns its database. A test that breaks a server does it then, while the
    feed is still being published, whatever the machine's speed."""
    deadline = time.monotonic() + timeout
    database = None
    while time.monotonic() < deadline:
        named = re.search(r"database (jamsos_demo_\w+)", stderr())
        if named:
            database = named[1]
            client = make_client(settings)
            try:
                if client.execute(f"SELECT count() FROM {database}.members")[0][0] > 0:
                    return database
            except (ClickHouseError, OSError, EOFError):
                pass  # not migrated yet, or busy
            finally:
                client.disconnect()
        time.sleep(0.5)
    pytest.fail(f"no member landed within {timeout:.0f}s (database {database})")
