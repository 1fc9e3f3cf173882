"""The business clock's bound, and `jamsos replay` leaving refused ticks out."""

from __future__ import annotations

from datetime import date

from jamsos.rules.clock import tick_advance_refused
from jamsos.rules.replay import default_as_of, replay

from .builders import closed, enrolled, paid


def test_a_tick_may_move_the_clock_at_most_the_allowed_days() -> None:
    assert tick_advance_refused(None, date(2099, 1, 1)) is None  # the first tick sets it
    assert tick_advance_refused(date(2019, 1, 31), date(2019, 3, 3)) is None  # 31 days
    assert tick_advance_refused(date(2019, 1, 31), date(2018, 1, 1)) is None  # goes nowhere
    refused = tick_advance_refused(date(2019, 1, 31), date(2019, 3, 4))
    assert refused is not None
    assert "32 days" in refused
    assert "at most 31" in refused
    assert tick_advance_refused(date(2019, 1, 31), date(2019, 3, 4), max_days=40) is None


def test_replay_leaves_out_a_tick_too_far_ahead_as_the_worker_refuses_it() -> None:
    events = [
        enrolled("2019-01-10", "M1"),
        paid("2019-01-12", 1, "M1"),
        closed("2019-01-31"),
        closed("2039-01-31"),
        closed("2019-02-16"),
    ]
    assert default_as_of(events) == date(2019, 2, 16)
    (member,) = [line for line in replay(events) if line["kind"] == "member"]
    assert (member["status"], member["arrears_months"]) == ("GRACE", 1)
