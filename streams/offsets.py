"""Noticing messages Faust skipped, before their partition's offset is committed past them.

Around a rebalance Faust can drop messages it has already fetched (it clears the agents'
queues, and marks as read what it fetched while flow was suspended) and later commit past
them once a later offset of the same partition is acknowledged: its check for a gap at the
head of the acknowledged offsets is skipped when the committed offset is unknown. On a busy
two-core machine the default demo lost four enrolments this way, right after the second
worker joined.

Every agent therefore checks, per partition, that each message it is handed follows the
one before it (or the group's committed offset, whichever is further). A jump is a lost
message: the agent raises `SkippedOffsetsError`, the worker stops before acknowledging the
batch (`streams.app.WorkerApp`), and the restarted worker, or the one that takes the
partition, re-reads from the committed offset. The inputs and inboxes are neither
compacted nor written in transactions, so their offsets are dense and a jump is never
legitimate (except after retention deleted messages nobody read: then they are gone, and
the worker says so instead of going on).

A partition that left this worker and came back continues from the offset the other
worker committed: Faust re-reads the committed offsets at every assignment, and the one to
continue from is the further of the two, so what this worker saw before is never mistaken
for a skip. (Forgetting partitions from Faust's `on_partitions_assigned` signal instead
was tried: with a receiver on that signal the two-worker test stalled in 4 runs of 10.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from faust.types import TP


class SkippedOffsetsError(RuntimeError):
    """Messages of a partition were never handed to the agent that reads it."""

    def __init__(self, message: str, partition: TP | None = None, offset: int = 0) -> None:
        super().__init__(message)
        self.partition = partition
        """The stalled partition (the stall watch's finding), to be read again ..."""
        self.offset = offset
        """... from this offset (its committed one)."""


Committed = Callable[[TP], "int | None"]
"""The group's committed offset of a partition as this worker knows it (None: unknown)."""


@dataclass
class OffsetGuard:
    """The next offset each partition's messages must continue from, for one agent."""

    committed: Committed
    _next: dict[TP, int] = field(default_factory=dict)

    def check(self, messages: Iterable[tuple[TP, int]]) -> None:
        """Raise `SkippedOffsetsError` at the first message that jumps ahead of the one
        expected. Going back is fine: a partition re-read from its committed offset after
        a rebalance or a restart starts again below what this worker last saw."""
        for tp, offset in messages:
            after_last = self._next.get(tp)
            committed = self.committed(tp)
            known = [o for o in (after_last, committed) if o is not None]
            expected = max(known) if known else None
            if expected is not None and offset > expected:
                raise SkippedOffsetsError(
                    f"{tp.topic}:{tp.partition}: offsets {expected}-{offset - 1} were never "
                    f"handed to the worker (it got {offset} next); stopping before they are "
                    "committed, so that a restart reads them again"
                )
            self._next[tp] = offset + 1

    def handed(self) -> dict[TP, int]:
        """Per partition, the offset after the last message handed to the agent."""
        return dict(self._next)


@dataclass
class StallWatch:
    """Noticing messages Faust fetched, dropped and will never hand over.

    `OffsetGuard` sees a dropped message only when a later one of its partition arrives. On
    a partition that then goes quiet (the clock after the day's tick, a feed at night) the
    dropped messages would wait for ever, and everything behind them (a tick holds back no
    member event, but a missing tick holds back every status it would change). Such a
    partition has a signature: the agent that reads it holds nothing (every message it was
    handed, on any of its partitions, is committed), yet the partition has messages past
    its committed offset, and this lasts while no rebalance or table recovery is going on.
    After `limit` seconds of it the worker stops (fail-stop, as for a skip), and the
    restarted worker reads them from the committed offset.

    A partition this worker was never handed a message of counts too: after a rebalance
    the clock went to the worker that had just joined, which fetched ticks and never got
    one. An agent that still holds handed messages (a tick waiting for the member events
    before it, a batch waiting out a registry outage) is busy, not stalled, so none of its
    partitions match.
    """

    guard: OffsetGuard
    highwater: Callable[[TP], int | None]
    assigned: Callable[[], set[TP]]
    settling: Callable[[], bool]
    """True while the group rebalances or tables recover (no message is delivered then)."""
    readers: Mapping[str, str]
    """Topic name -> the agent that reads it; only these topics are watched (the tables'
    changelogs are assigned too, but no agent reads them)."""
    limit: float = 60.0
    _since: dict[TP, float] = field(default_factory=dict)

    def check(self, now: float) -> None:
        """Raise `SkippedOffsetsError` for a partition stuck for `limit` seconds."""
        if self.settling():
            self._since.clear()
            return
        assigned = {tp for tp in self.assigned() if tp.topic in self.readers}
        handed = self.guard.handed()
        waiting: dict[TP, int] = {}
        busy: set[str] = set()
        for tp in assigned:  # only these have an end offset the consumer knows
            # Never committed: everything from the start is still to come. Seen on a busy
            # machine: a second worker joined, Faust dropped what it had fetched of its
            # first partitions, and nothing of them was ever handed over.
            committed = self.guard.committed(tp) or 0
            if handed.get(tp, committed) > committed:
                busy.add(self.readers[tp.topic])
                continue
            end = self.highwater(tp)
            if end is not None and committed < end:
                waiting[tp] = committed
        for tp in list(self._since):
            if tp not in waiting or self.readers[tp.topic] in busy:
                del self._since[tp]
        for tp, committed in sorted(waiting.items()):
            if self.readers[tp.topic] in busy:
                continue
            since = self._since.setdefault(tp, now)
            if now - since >= self.limit:
                end = self.highwater(tp) or committed
                del self._since[tp]  # reported once; a re-read starts the count again
                raise SkippedOffsetsError(
                    f"{tp.topic}:{tp.partition}: offsets {committed}-{end - 1} were fetched "
                    f"but not handed to the worker for {now - since:.0f}s while its agent "
                    "waited for messages",
                    tp,
                    committed,
                )
