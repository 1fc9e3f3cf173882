"""Progress bars a person can read (rate and ETA), and library logs kept out of the report.

`rich` draws the bars on stderr: live in a terminal, a final line when output is a file.
While a run lasts, every library log record (kafka-python, httpx, Python warnings) goes to
the run's own log file instead of the terminal, so the report is not broken up by them.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

CONSOLE = Console(stderr=True)
if not CONSOLE.is_terminal:  # a log file: one wide final line per bar, not a wrapped one
    CONSOLE = Console(stderr=True, width=160)


class _Rate(ProgressColumn):
    """Messages per second of the task's own counter (`messages` field or completed)."""

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        count = task.fields.get("messages", task.completed)
        rate = count / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:>8,.0f} msg/s", style="progress.data.speed")


def seconds_left(task: Task) -> float | None:
    """The task's own estimate (`eta` field) where it keeps one, else rich's.

    rich estimates from the completed count within a window, and forgets its samples
    whenever the total changes: right for publishing (a fixed number of days), never an
    answer for catching up, whose total grows while the worker writes its outputs."""
    if "eta" in task.fields:
        eta = task.fields["eta"]
        return None if eta is None else float(eta)
    return task.time_remaining


class _Left(ProgressColumn):
    """Time left as `h:mm:ss`, or `-:--:--` while there is no estimate yet."""

    def render(self, task: Task) -> Text:
        left = seconds_left(task)
        if left is None:
            return Text("-:--:--", style="progress.remaining")
        return Text(str(timedelta(seconds=int(left))), style="progress.remaining")


def bars() -> Progress:
    """A progress display: description, bar, counts, rate, elapsed and ETA."""
    return Progress(
        TextColumn("  [progress.description]{task.description}"),
        BarColumn(bar_width=24),
        TextColumn("{task.fields[detail]}"),
        _Rate(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        _Left(),
        console=CONSOLE,
        refresh_per_second=4,
    )


PLAIN_EVERY = 30.0
"""Seconds between plain progress lines when stderr is not a terminal (a log, CI)."""


class _Bar:
    """One task of a progress display; where no live bar can be drawn (stderr is a file),
    a plain line with the same figures every `PLAIN_EVERY` seconds instead."""

    def __init__(self, progress: Progress, description: str, total: float | None) -> None:
        self.progress = progress
        self.task: TaskID = progress.add_task(description, total=total, detail="", messages=0)
        self._printed = time.monotonic()

    def _update(self, **fields: object) -> None:
        self.progress.update(self.task, **fields)  # type: ignore[arg-type]
        if CONSOLE.is_terminal or time.monotonic() - self._printed < PLAIN_EVERY:
            return
        self._printed = time.monotonic()
        task = next(t for t in self.progress.tasks if t.id == self.task)
        elapsed = task.elapsed or 0.0
        rate = task.fields.get("messages", 0) / elapsed if elapsed else 0.0
        left = seconds_left(task)
        eta = "?" if left is None else f"{left:,.0f}s"
        CONSOLE.print(
            f"  {task.description}: {task.fields['detail']}  {rate:,.0f} msg/s  "
            f"{elapsed:,.0f}s elapsed, ETA {eta}",
            highlight=False,
        )


class PublishBar(_Bar):
    """Publishing measured in business days closed (exact total), with messages and rate."""

    def __init__(self, progress: Progress, days: int) -> None:
        super().__init__(progress, "publishing", days)
        self.days = days

    def show(self, days_closed: int, messages: int) -> None:
        self._update(
            completed=days_closed,
            messages=messages,
            detail=f"day {days_closed:>4}/{self.days}  {messages:>10,} msgs",
        )


DRAIN_WINDOW = 60.0
"""Seconds of readings the catch-up ETA is estimated from."""


class CatchUpBar(_Bar):
    """Catching up measured in messages committed against what is still behind.

    Its ETA is what is behind divided by how fast that has shrunk over the last
    `DRAIN_WINDOW` seconds (unknown while it has not shrunk): the committed count alone
    would promise too much, since the worker's own outputs keep adding to the sink's lag."""

    def __init__(self, progress: Progress, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(progress, "catching up", None)
        self._clock = clock
        self._behind: deque[tuple[float, int]] = deque()

    def _eta(self, behind: int) -> float | None:
        now = self._clock()
        self._behind.append((now, behind))
        while len(self._behind) > 2 and now - self._behind[1][0] >= DRAIN_WINDOW:
            self._behind.popleft()
        if behind == 0:
            return 0.0
        then, behind_then = self._behind[0]
        drained = (behind_then - behind) / (now - then) if now > then else 0.0
        return behind / drained if drained > 0 else None

    def show(self, done: int, behind: int, worker: int, sink: int) -> None:
        self._update(
            completed=done,
            total=done + behind,
            messages=done,
            eta=self._eta(behind),
            detail=f"worker behind {worker:>9,}  sink behind {sink:>9,}",
        )


@contextmanager
def logs_to(path: Path) -> Iterator[None]:
    """Send every log record and Python warning of this process to `path` for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers = [handler]
    root.setLevel(min(saved_level, logging.INFO))
    logging.captureWarnings(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            yield
    finally:
        logging.captureWarnings(False)
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        handler.close()
