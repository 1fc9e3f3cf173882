"""One member partition's arrivals in broker-timestamp order: enrolments, contributions,
business-day ticks.

The spec's order (`status.md`, arrival order of ticks): on each partition, a tick applies
after every member event that reached Kafka before it, by broker timestamp. The input
topics carry the broker's append time (`jamsos.topics.BROKER_TIMED_TOPICS`), so each of
the three sources is already in timestamp order; merging them is a k-way merge on
`(timestamp, source, offset)`, where member events come before a tick of the same
millisecond ("published no later than the tick").

A head may be taken only when no other source can still deliver something earlier: the
other source has a head of its own that sorts later, or it is *closed* up to a time past
the head's. A source is closed up to `t` when its consumer has read everything the broker
had when it answered a fetch asked for after `t` (`FetchTimes`): whatever is appended
later carries a later append time. Every worker therefore takes the same order from the
same topics, whatever its backlog, batch sizes or restarts; that is what makes alerts a
function of the input and a re-run after a crash repeat the outputs it had sent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum


class Source(IntEnum):
    """Where an arrival comes from; the value breaks timestamp ties (events before ticks)."""

    ENROLMENTS = 0
    CONTRIBUTIONS = 1
    CLOCK = 2


SOURCE_TOPICS = {
    Source.ENROLMENTS: "enrolments",
    Source.CONTRIBUTIONS: "contributions",
    Source.CLOCK: "clock",
}
"""Contract topic of each source."""


@dataclass(frozen=True, slots=True)
class Arrival:
    """One input message as the member partition sees it."""

    source: Source
    partition: int
    offset: int
    timestamp: int
    """Broker append time, in milliseconds."""
    key: bytes | None
    value: bytes

    @property
    def order(self) -> tuple[int, int, int]:
        return self.timestamp, self.source, self.offset


class PartitionMerge:
    """The arrivals of one member partition read so far and not yet taken."""

    def __init__(self) -> None:
        self.queues: dict[Source, deque[Arrival]] = {source: deque() for source in Source}

    def add(self, arrivals: Iterable[Arrival]) -> None:
        """Queue arrivals, each source's in offset order."""
        for arrival in arrivals:
            self.queues[arrival.source].append(arrival)

    def waiting(self, source: Source) -> int:
        """How many arrivals of `source` wait to be taken."""
        return len(self.queues[source])

    def take(self, closed: Mapping[Source, int | None], limit: int) -> list[Arrival]:
        """Up to `limit` arrivals that can no longer be preceded by anything unread, in
        order. `closed[source]` is the time up to which `source` is closed (None: not
        known to be closed at all)."""
        taken: list[Arrival] = []
        queues = self.queues
        while len(taken) < limit:
            heads = [queue[0] for queue in queues.values() if queue]
            if not heads:
                break
            first = min(heads, key=_order)
            if not all(
                queues[source] or _closed_past(closed.get(source), first.timestamp)
                for source in Source
                if source is not first.source
            ):
                break
            taken.append(queues[first.source].popleft())
        return taken

    def clear(self) -> None:
        for queue in self.queues.values():
            queue.clear()


def _order(arrival: Arrival) -> tuple[int, int, int]:
    return arrival.timestamp, arrival.source, arrival.offset


def _closed_past(closed: int | None, timestamp: int) -> bool:
    return closed is not None and closed > timestamp


def closed_until(
    position: int | None, highwater: int | None, asked_after_ms: int | None, slack_ms: int
) -> int | None:
    """The time up to which a partition is closed (`PartitionMerge.take`): its consumer has
    read up to the highwater mark of its last fetch, a fetch asked for after
    `asked_after_ms` (local clock; `FetchTimes`), so answered after it too. `slack_ms`
    covers the skew between this clock and the broker's."""
    if position is None or highwater is None or asked_after_ms is None or position < highwater:
        return None
    return asked_after_ms - slack_ms


class FetchTimes:
    """A lower bound of when each partition's latest fetch was asked for.

    aiokafka stamps a partition's fetch with the local time its *answer* was handled,
    which a busy event loop can delay well past the broker's answer; a closing taken from
    it could pass messages appended in between. A partition's next fetch is only asked
    for once the previous answer has been handled, so the previous stamp is a time before
    the latest fetch was asked for, and before its answer."""

    def __init__(self) -> None:
        self._stamps: dict[object, tuple[int | None, int | None]] = {}

    def asked_after(self, partition: object, stamp: int | None) -> int | None:
        """Given the partition's current stamp, the stamp before it (None until there are
        two)."""
        previous, current = self._stamps.get(partition, (None, None))
        if stamp != current:
            previous, current = current, stamp
            self._stamps[partition] = (previous, current)
        return previous


def merged(streams: Sequence[Iterable[Arrival]]) -> list[Arrival]:
    """All of `streams` in the merge's order, every source closed (tests, tools)."""
    merge = PartitionMerge()
    for stream in streams:
        merge.add(stream)
    everything = dict.fromkeys(Source, 2**62)
    return merge.take(everything, 2**62)
