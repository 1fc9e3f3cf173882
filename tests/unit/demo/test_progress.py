"""Progress where no live bar can be drawn (a log file, CI): plain lines with the figures."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import pytest

from jamsos.demo import progress as progress_module
from jamsos.demo.progress import CatchUpBar, PublishBar, bars, logs_to


def test_without_a_terminal_progress_is_printed_as_plain_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress_module, "PLAIN_EVERY", 0.0)
    with bars() as display:
        PublishBar(display, days=365).show(days_closed=100, messages=150_000)
        CatchUpBar(display).show(done=10, behind=90, worker=60, sink=30)
    err = capsys.readouterr().err
    assert "publishing: day  100/365" in err
    assert "150,000 msgs" in err
    assert "msg/s" in err
    assert "ETA" in err
    assert "catching up: worker behind" in err
    assert "sink behind        30" in err


def test_library_logs_and_warnings_go_to_the_run_log_not_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "demo.log"
    with logs_to(log_file):
        logging.getLogger("kafka.conn").warning("broker hiccup")
        warnings.warn("legacy API", DeprecationWarning, stacklevel=1)
    logging.getLogger("after").warning("back on stderr")
    text = log_file.read_text()
    assert "broker hiccup" in text
    assert "legacy API" in text
    assert "broker hiccup" not in capsys.readouterr().err
