"""The catch-up wait is driven by progress: it waits while commits move, fails on a stall
or a dead process, and ends when nothing is left twice in a row."""

from __future__ import annotations

from pathlib import Path

import pytest

from jamsos.demo.catchup import CatchUp, StalledError
from jamsos.demo.lag import GroupLag
from jamsos.demo.processes import ChildExitedError


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class ScriptedProbe:
    """Readings of (worker, sink) in turn; the last one repeats."""

    def __init__(self, readings: list[tuple[GroupLag | None, GroupLag | None]]) -> None:
        self.readings = readings
        self.problem = "asking for the lag failed: KafkaTimeoutError"
        self.asked = 0
        self._sink: GroupLag | None = None

    def worker(self) -> GroupLag | None:
        worker, self._sink = self.readings[min(self.asked, len(self.readings) - 1)]
        self.asked += 1
        return worker

    def sink(self) -> GroupLag | None:
        return self._sink


class Processes:
    def __init__(self, dies_after: int | None = None) -> None:
        self.checks = 0
        self.dies_after = dies_after

    def check(self) -> None:
        self.checks += 1
        if self.dies_after is not None and self.checks > self.dies_after:
            raise ChildExitedError("the worker 1 exited with status 1; read worker-1.log")

    @property
    def logs(self) -> list[Path]:
        return [Path("worker-1.log"), Path("sink.log")]


class Shown:
    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []

    def show(self, done: int, behind: int, worker: int, sink: int) -> None:
        self.seen.append((done, behind))


def catch_up(probe: ScriptedProbe, processes: Processes, stall: float) -> CatchUp:
    clock = FakeClock()
    return CatchUp(probe, processes, stall, interval=1.0, clock=clock, sleep=clock.sleep)


def test_slow_progress_is_waited_for_far_beyond_the_stall_time_out() -> None:
    """A thousand seconds of slow but steady commits, with a 30 s stall limit."""
    slow = [(GroupLag(n, 1000 - n), GroupLag(n, 0)) for n in range(1000)]
    probe = ScriptedProbe([*slow, (GroupLag(1000, 0), GroupLag(1000, 0))])
    shown = Shown()
    took = catch_up(probe, Processes(), stall=30).wait(shown)
    assert took >= 1000
    assert shown.seen[-1] == (2000, 0)


def test_no_progress_for_the_stall_time_out_fails_with_the_lags_and_logs() -> None:
    stuck = ScriptedProbe([(GroupLag(10, 5), GroupLag(3, 7))])
    with pytest.raises(StalledError) as failure:
        catch_up(stuck, Processes(), stall=30).wait()
    message = str(failure.value)
    assert "no progress for 30s" in message
    assert "worker behind by 5, sink by 7" in message
    assert "worker-1.log" in message
    assert "sink.log" in message


def test_unknown_readings_count_towards_a_stall_but_do_not_end_the_wait_early() -> None:
    readings: list[tuple[GroupLag | None, GroupLag | None]] = [(None, None)] * 20
    probe = ScriptedProbe([*readings, (GroupLag(5, 0), GroupLag(5, 0))])
    assert catch_up(probe, Processes(), stall=60).wait() >= 20
    with pytest.raises(StalledError, match="no reading yet: asking for the lag failed"):
        catch_up(ScriptedProbe([(None, GroupLag(0, 0))]), Processes(), stall=10).wait()


def test_a_dead_process_ends_the_wait_at_once() -> None:
    probe = ScriptedProbe([(GroupLag(n, 100), GroupLag(n, 0)) for n in range(100)])
    with pytest.raises(ChildExitedError, match=r"worker-1\.log"):
        catch_up(probe, Processes(dies_after=3), stall=300).wait()
    assert probe.asked == 3


def test_done_needs_two_empty_readings_in_a_row() -> None:
    """A lone zero between two publishes (the sink not yet seeing the worker's outputs)
    is not the end."""
    probe = ScriptedProbe(
        [
            (GroupLag(5, 0), GroupLag(5, 0)),
            (GroupLag(5, 0), GroupLag(5, 3)),
            (GroupLag(5, 0), GroupLag(8, 0)),
            (GroupLag(5, 0), GroupLag(8, 0)),
        ]
    )
    catch_up(probe, Processes(), stall=30).wait()
    assert probe.asked == 4
