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


def test_the_catch_up_eta_follows_how_fast_the_backlog_shrinks(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """400 behind, shrinking by 100 every 10 s: 30 s left after the second reading, although
    the total (done + behind) changes at every reading."""
    monkeypatch.setattr(progress_module, "PLAIN_EVERY", 0.0)
    now = [0.0]
    with bars() as display:
        bar = CatchUpBar(display, clock=lambda: now[0])
        bar.show(done=0, behind=400, worker=400, sink=0)
        assert "ETA ?" in capsys.readouterr().err
        now[0] = 10.0
        bar.show(done=150, behind=300, worker=250, sink=50)
        assert "ETA 30s" in capsys.readouterr().err
        now[0] = 20.0
        bar.show(done=330, behind=200, worker=150, sink=50)
        assert "ETA 20s" in capsys.readouterr().err
        now[0] = 30.0
        bar.show(done=500, behind=250, worker=100, sink=150)  # the sink's lag grew
        assert "ETA 50s" in capsys.readouterr().err  # 250 behind / (150 drained in 30 s)
