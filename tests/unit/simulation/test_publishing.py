"""Publishing dispatches each kind of message correctly, paces itself and counts failures."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jamsos.contracts.json_form import from_json_line
from jamsos.settings import Settings
from jamsos.simulation import InvalidEvent, RawMessage, SimulatedEvent, Simulation, SimulationConfig
from jamsos.simulation.pacing import TokenBucket
from jamsos.simulation.publishing import TICK_APART_SECONDS, publish_items, publish_simulation

SMALL = SimulationConfig(members=600, agents=5, months=2, invalid_share=0.05)


class _Future:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def add_errback(self, callback: Callable[[Exception], None]) -> None:
        if self.error is not None:
            callback(self.error)


class _Sink:
    """Records what would have gone to Kafka."""

    def __init__(self, failing: int = 0) -> None:
        self.valid: list[tuple[str, dict[str, Any]]] = []
        self.raw: list[tuple[str, bytes | None, bytes]] = []
        self.flushed = 0
        self._failing = failing

    def send_valid(self, record_name: str, record: dict[str, Any]) -> _Future:
        self.valid.append((record_name, record))
        return self._future()

    def send_raw(self, topic: str, key: bytes | None, value: bytes) -> _Future:
        self.raw.append((topic, key, value))
        return self._future()

    def _future(self) -> _Future:
        if self._failing:
            self._failing -= 1
            return _Future(RuntimeError("broker gone"))
        return _Future(None)

    def flush(self) -> None:
        self.flushed += 1


class _FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.now += seconds


def test_every_kind_goes_through_its_own_send_and_is_flushed() -> None:
    items = list(Simulation(SMALL).events())
    sink = _Sink()
    pauses: list[float] = []
    outcome = publish_items(sink, items, sleep=pauses.append)
    records = [i for i in items if isinstance(i, SimulatedEvent | InvalidEvent)]
    raw = [i for i in items if isinstance(i, RawMessage)]
    ticks = [i for i in records if i.record_name == "BusinessDayClosed"]
    assert raw
    assert ticks
    assert any(isinstance(i, InvalidEvent) for i in items)
    assert sink.valid == [(i.record_name, i.record) for i in records]
    assert sink.raw == [(i.topic, i.key, i.value) for i in raw]
    assert sink.flushed == 1 + 2 * len(ticks)
    assert pauses == [TICK_APART_SECONDS] * len(ticks)
    assert (outcome.sent, outcome.failed) == (len(items), 0)


def test_a_tick_is_sent_alone_between_flushes() -> None:
    """Everything before a tick is flushed before it is sent, and it is flushed before
    anything after it: by broker time the tick sits where it was published."""
    items = list(Simulation(SMALL).events())
    sink = _Sink()
    log: list[str] = []
    send_valid, flush = sink.send_valid, sink.flush

    def logged_send(record_name: str, record: dict[str, Any]) -> Any:
        log.append("tick" if record_name == "BusinessDayClosed" else "event")
        return send_valid(record_name, record)

    def logged_flush() -> None:
        log.append("flush")
        flush()

    sink.send_valid = logged_send  # type: ignore[method-assign]
    sink.flush = logged_flush  # type: ignore[method-assign]
    publish_items(sink, items, sleep=lambda _: log.append("pause"))
    for at, what in enumerate(log):
        if what == "tick":
            assert log[at - 1] == "flush"
            assert log[at + 1 : at + 3] == ["flush", "pause"]


def test_delivery_failures_are_counted() -> None:
    items = list(Simulation(SMALL).events())[:50]
    assert publish_items(_Sink(failing=3), items).failed == 3


def test_rate_limit_spreads_messages_over_time() -> None:
    fake = _FakeTime()
    bucket = TokenBucket(1_000, clock=fake.clock, sleep=fake.sleep)
    items = list(Simulation(SMALL).events())
    progress: list[tuple[int, float]] = []
    publish_items(
        _Sink(),
        items,
        progress=lambda sent, elapsed: progress.append((sent, elapsed)),
        bucket=bucket,
        clock=fake.clock,
    )
    # 1,000/s after an initial burst of a tenth of a second's worth.
    assert fake.slept == pytest.approx((len(items) - 100) / 1_000, abs=0.02)
    assert progress[-1] == (len(items), pytest.approx(fake.slept))


def test_token_bucket_refills_with_time_and_never_exceeds_its_burst() -> None:
    fake = _FakeTime()
    bucket = TokenBucket(10, burst=5, clock=fake.clock, sleep=fake.sleep)
    for _ in range(5):
        bucket.take()
    assert fake.slept == 0
    bucket.take()
    assert fake.slept == pytest.approx(0.1)
    fake.now += 100
    for _ in range(6):
        bucket.take()
    assert fake.slept == pytest.approx(0.2)
    with pytest.raises(ValueError, match="rate must be > 0"):
        TokenBucket(0)


def test_publish_simulation_writes_the_json_form_in_the_same_pass(tmp_path: Path) -> None:
    sink = _Sink()
    path = tmp_path / "sim.jsonl"
    summary = publish_simulation(Settings(), Simulation(SMALL), jsonl=path, sink=sink)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(sink.valid) == summary.total - sum(summary.garbage.values())
    assert len(sink.raw) == sum(summary.garbage.values())
    assert from_json_line(lines[-1])[0] == "BusinessDayClosed"
    assert json.loads(lines[0])["type"] == sink.valid[0][0]


def test_publish_simulation_fails_loudly_when_messages_are_lost() -> None:
    with pytest.raises(RuntimeError, match="not delivered"):
        publish_simulation(Settings(), Simulation(SMALL), sink=_Sink(failing=1))
