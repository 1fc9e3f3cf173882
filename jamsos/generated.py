"""Files generated from code and committed (Grafana's, Kubernetes'): write them, or say
which differ from what the code makes now (`make lint` fails on any)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def write_files(root: Path, files: Callable[[], dict[str, str]]) -> list[Path]:
    """Write every file of `files()` (path under `root` -> text); returns their paths."""
    written = []
    for name, text in files().items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_files(root: Path, files: Callable[[], dict[str, str]]) -> list[str]:
    """Names of the files of `files()` missing under `root` or different from the code's."""
    return [
        name
        for name, text in files().items()
        if not (root / name).is_file() or (root / name).read_text(encoding="utf-8") != text
    ]
