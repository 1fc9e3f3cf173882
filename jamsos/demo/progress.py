"""Progress bars a person can read (rate and ETA), and library logs kept out of the report.

`rich` draws the bars on stderr: live in a terminal, a final line when output is a file.
While a run lasts, every library log record (kafka-python, httpx, Python warnings) goes to
the run's own log file instead of the terminal, so the report is not broken up by them.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
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
    TimeRemainingColumn,
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


def bars() -> Progress:
    """A progress display: description, bar, counts, rate, elapsed and ETA."""
    return Progress(
        TextColumn("  [progress.description]{task.description}"),
        BarColumn(bar_width=24),
        TextColumn("{task.fields[detail]}"),
        _Rate(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
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
        left = task.time_remaining
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


class CatchUpBar(_Bar):
    """Catching up measured in messages committed against what is still behind."""

    def __init__(self, progress: Progress) -> None:
        super().__init__(progress, "catching up", None)

    def show(self, done: int, behind: int, worker: int, sink: int) -> None:
        self._update(
            completed=done,
            total=done + behind,
            messages=done,
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
