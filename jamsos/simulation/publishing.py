"""Publishing a simulation to Kafka through the contract's :class:`EventPublisher`.

Valid records go through ``send_valid``; invalid ones are sent the same way on purpose,
*without* validation, so that the pipeline's own validation and dead-lettering are what
is exercised; raw non-Avro bytes go through ``send_raw``. Delivery failures reported by
the producer are counted rather than ignored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from jamsos.contracts.catalog import input_topics
from jamsos.contracts.publisher import EventPublisher
from jamsos.settings import Settings
from jamsos.simulation.items import Item, RawMessage
from jamsos.simulation.jsonl import tee_jsonl
from jamsos.simulation.pacing import TokenBucket
from jamsos.simulation.simulation import Simulation
from jamsos.simulation.summary import SimulationSummary
from jamsos.topics import ensure_topics

Progress = Callable[[int, float], None]
"""Called with (messages sent so far, seconds elapsed)."""
PROGRESS_EVERY = 2_000
_MAX_PACE_BATCH = 100
TICK = "BusinessDayClosed"
TICK_APART_SECONDS = 0.002
"""Pause after a tick is appended: the topics carry the broker's append time in
milliseconds, and the worker orders a tick after every member event of the same
millisecond (`streams.merge`). Flushing before a tick and pausing after it makes that
order the publishing order, which `jamsos replay` follows."""


class Sink(Protocol):
    """What publishing needs from :class:`~jamsos.contracts.publisher.EventPublisher`."""

    def send_valid(self, record_name: str, record: dict[str, Any]) -> Any: ...

    def send_raw(self, topic: str, key: bytes | None, value: bytes) -> Any: ...

    def flush(self) -> None: ...


@dataclass
class PublishOutcome:
    """How many messages were handed to the producer and how many it failed to deliver."""

    sent: int = 0
    failed: int = 0
    elapsed: float = 0.0


def publish_items(
    sink: Sink,
    items: Iterable[Item],
    rate: float | None = None,
    progress: Progress | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    bucket: TokenBucket | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishOutcome:
    """Send every item, paced to ``rate`` messages/s when given, and flush at the end."""
    outcome = PublishOutcome()
    if bucket is None and rate is not None:
        bucket = TokenBucket(rate, clock=clock)
    # Tokens are taken per batch (cheaper than per message), but never more than a
    # hundredth of a second's worth, so slow rates still send evenly.
    batch = 1 if bucket is None else max(1, min(_MAX_PACE_BATCH, int(bucket.rate / 100)))
    started = clock()

    def failed(_: Exception) -> None:
        outcome.failed += 1

    sent = 0
    for item in items:
        if bucket is not None and sent % batch == 0:
            bucket.take(batch)
        tick = not isinstance(item, RawMessage) and item[0] == TICK
        if tick:
            sink.flush()  # everything before the tick is appended before it
        if isinstance(item, RawMessage):
            future = sink.send_raw(item.topic, item.key, item.value)
        else:
            # Invalid records are encoded without validation: the pipeline must catch them.
            future = sink.send_valid(item[0], item[1])
        if future is not None:
            future.add_errback(failed)
        if tick:
            sink.flush()
            sleep(TICK_APART_SECONDS)
        sent += 1
        if progress is not None and sent % PROGRESS_EVERY == 0:
            progress(sent, clock() - started)
    sink.flush()
    outcome.sent = sent
    outcome.elapsed = clock() - started
    if progress is not None:
        progress(sent, outcome.elapsed)
    return outcome


def publish_simulation(
    settings: Settings,
    simulation: Simulation,
    rate: float | None = None,
    progress: Progress | None = None,
    *,
    jsonl: Path | str | None = None,
    sink: Sink | None = None,
    summary: SimulationSummary | None = None,
) -> SimulationSummary:
    """Publish the whole simulation to the topics of ``settings``; returns what was sent.

    With ``jsonl``, the JSON form is written in the same pass (for ``jamsos replay``).
    Without ``sink``, an :class:`EventPublisher` is made and the input topics created if
    missing (the local broker does not auto-create topics). ``summary``, when given, is the
    one filled as messages go out (a progress display can read it while publishing runs).
    """
    summary = summary if summary is not None else SimulationSummary()
    own = sink is None
    if sink is None:
        ensure_topics(settings, input_topics(), service="publisher")
        sink = EventPublisher(settings)
    try:
        items: Iterable[Item] = simulation.events(summary)
        if jsonl is not None:
            with Path(jsonl).open("w", encoding="utf-8") as out:
                outcome = publish_items(sink, tee_jsonl(items, out), rate, progress)
        else:
            outcome = publish_items(sink, items, rate, progress)
    finally:
        if own:
            sink.close()  # type: ignore[attr-defined]
    if outcome.failed:
        raise RuntimeError(
            f"{outcome.failed} of {outcome.sent} simulated messages were not delivered"
        )
    return summary
