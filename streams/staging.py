"""Batches of agent-inbox events: table writes staged per batch, the right partition per write.

The worker takes its inboxes in batches (`Stream.take_events`). Within a batch an agent,
or one of its members' shares, is often written many times; every write to a Faust table
is a RocksDB put *and* a changelog message. `StagedTable` keeps a batch's writes in memory
and hands each key's last value to the table once, when the batch is done (for the agent
table, to `streams.agent_store.ConfirmedTable`, which sends them itself). Offsets are
acknowledged only after that, so a crash mid-batch re-delivers the whole batch; shares
carry sequence numbers and tallies versions (`streams.agent_processor`), so the
re-delivery is safe. (The member side keeps its own state: `streams.member_state`.)

Faust's RocksDB store picks the partition of a read or write from the *current event*
(a context variable the stream sets per message). In a batch that is no longer the
message being handled, so `as_current` sets it explicitly: while handling each event, and
while flushing the writes of each partition.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Protocol

from faust.streams import _current_event
from faust.types import EventT

_DELETED = object()


@contextmanager
def as_current(event: EventT) -> Iterator[None]:
    """Make `event` Faust's current event (table partition routing) inside the block."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class Target(Protocol):
    """Where a batch's writes go: a Faust table, `streams.agent_store.ConfirmedTable`, or a
    dict in tests."""

    def get(self, key: str, default: Any = None, /) -> Any: ...

    def __setitem__(self, key: str, value: bytes, /) -> None: ...

    def __delitem__(self, key: str, /) -> None: ...


class StagedTable(MutableMapping[str, bytes]):
    """A write-back view of a table for one batch: reads see staged writes first.

    `partition` must be set to the partition of the event being handled before each use;
    it is recorded with every staged write so that `flush` sends it to the right place.
    `first` picks the keys `flush` writes before the others.
    """

    def __init__(self, table: Target, first: Callable[[str], bool] = lambda _: False) -> None:
        self.table = table
        self.first = first
        self.partition = 0
        self._staged: dict[str, tuple[int, Any]] = {}
        self._undo: list[tuple[str, tuple[int, Any] | None]] = []

    def begin_event(self) -> None:
        """Start recording the writes of one event, so that `undo_event` can drop them."""
        self._undo.clear()

    def undo_event(self) -> None:
        """Forget the writes staged since `begin_event`: an event that failed half-way
        leaves no trace, and the batch goes on from the state before it."""
        while self._undo:
            key, previous = self._undo.pop()
            if previous is None:
                self._staged.pop(key, None)
            else:
                self._staged[key] = previous

    def __getitem__(self, key: str) -> bytes:
        staged = self._staged.get(key)
        if staged is None:
            value = self.table.get(key)
            if value is None:
                raise KeyError(key)
            return value
        if staged[1] is _DELETED:
            raise KeyError(key)
        return staged[1]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __setitem__(self, key: str, value: bytes) -> None:
        self._undo.append((key, self._staged.get(key)))
        self._staged[key] = (self.partition, value)

    def __delitem__(self, key: str) -> None:
        self._undo.append((key, self._staged.get(key)))
        self._staged[key] = (self.partition, _DELETED)

    def __iter__(self) -> Iterator[str]:
        raise NotImplementedError("a staged table is read by key, never scanned")

    def __len__(self) -> int:
        raise NotImplementedError("a staged table is read by key, never scanned")

    def partitions(self) -> set[int]:
        """Partitions with staged writes."""
        return {partition for partition, _ in self._staged.values()}

    def flush(self, partition: int) -> int:
        """Write the staged keys of `partition` to the table (the caller has made an event
        of that partition current): the keys `first` picks, then the others. A crash keeps
        a prefix of the writes, which `streams.agent_processor` relies on. Returns how many
        keys were written."""
        written = 0
        self._undo.clear()
        keys = [k for k, (p, _) in self._staged.items() if p == partition]
        for key in sorted(keys, key=lambda k: not self.first(k)):
            _, value = self._staged.pop(key)
            if value is _DELETED:
                if self.table.get(key) is not None:
                    del self.table[key]
            else:
                self.table[key] = value
            written += 1
        return written
