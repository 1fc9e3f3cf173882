"""Progress bars a person can read (rate and ETA), and library logs kept out of the report.

`rich` draws the bars on stderr: live in a terminal, a final line when output is a file.
While a run lasts, every library log record (kafka-python, httpx, Python warnings) goes to
the run's own log file instead of the terminal, so the report is not broken up by them.
"""

from __future__ import annotations

import logging
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


class PublishBar:
    """Publishing measured in business days closed (exact total), with messages and rate."""

    def __init__(self, progress: Progress, days: int) -> None:
        self.progress = progress
        self.task: TaskID = progress.add_task("publishing", total=days, detail="", messages=0)
        self.days = days

    def show(self, days_closed: int, messages: int) -> None:
        self.progress.update(
            self.task,
            completed=days_closed,
            messages=messages,
            detail=f"day {days_closed:>4}/{self.days}  {messages:>10,} msgs",
        )


class CatchUpBar:
    """Catching up measured in messages committed against what is still behind."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID = progress.add_task("catching up", total=None, detail="", messages=0)

    def show(self, done: int, behind: int, worker: int, sink: int) -> None:
        self.progress.update(
            self.task,
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
