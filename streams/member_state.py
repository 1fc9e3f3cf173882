"""The member side's state: RocksDB on the worker, its own compacted state topic in Kafka.

Faust tables made every write a RocksDB put, a changelog message and an acknowledgement
callback, and their changelog could run ahead of the outputs it stood for (hence the old
outbox). Here the worker owns the order of durability for each batch of the member inbox:

1. the batch's outputs are sent and every acknowledgement checked (`streams.delivery`);
2. its state goes to the state topic, one record per member touched plus the partition's
   clock record, which closes the batch (`commit`); those are acknowledged too;
3. only then is the local RocksDB written, in one write batch with the partition's
   checkpoint (the state-topic offset after the batch's clock record);
4. the batch's inbox offsets are committed by Faust after that.

So the local store is never ahead of the state topic, the state topic never ahead of the
outputs, and a re-delivered inbox message at or below a member's stored offset (or a tick
at or below the partition's last tick) is skipped: its outputs are already acknowledged.

A crash between 2 and 3 leaves a batch in the topic and not in RocksDB: `restore` reads
the state topic from the checkpoint on before a partition is first handled (on every
assignment), which also rebuilds a partition moved here from another worker. A crash in
the middle of 2 leaves part of a batch in the topic; its records carry the batch's id and
count only once its clock record (the commit) follows, so `restore` skips them. The
re-run that follows writes every key of that batch again, in a batch that commits.

The due-date index (which members change on which business day) is derived: one local
key per member under its next due date, never sent to Kafka, and rebuilt by `restore`
from the due date each stored member carries in its first bytes (`member_value`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from rocksdict import Options, Rdict, WriteBatch

log = logging.getLogger(__name__)

MEMBER_FORMAT = b"1"
"""First byte of a stored member: the version of its layout (`member_value`)."""
NO_DUE = b"----------"
BATCH_HEADER = "jamsos-batch"
"""Header on every state record: the id of the batch that wrote it."""
COMMIT_KEY = b"c"
"""State-topic key of a partition's clock record, the last record of each batch."""
MEMBER_PREFIX = b"m:"


def member_value(due_on: date | None, body: bytes) -> bytes:
    """A stored member: format byte, due date (10 bytes), then its body. The due date up
    front lets a restore rebuild the due index without parsing the body."""
    due = NO_DUE if due_on is None else due_on.isoformat().encode()
    return MEMBER_FORMAT + due + body


def member_body(value: bytes) -> bytes:
    """The body of a stored member (`member_value`)."""
    if value[:1] != MEMBER_FORMAT:
        raise ValueError(f"stored member of unknown format {value[:1]!r}")
    return value[11:]


def due_of(value: bytes | None) -> bytes | None:
    """The due date of a stored member as ISO bytes (None if it has none)."""
    if not value:
        return None
    due = value[1:11]
    return None if due == NO_DUE else due


class PartitionState(Protocol):
    """What the member processor reads and writes for one member partition."""

    def member(self, member_id: str) -> bytes | None: ...

    def put_member(self, member_id: str, value: bytes) -> None: ...

    def clock(self) -> bytes | None: ...

    def put_clock(self, value: bytes) -> None: ...

    def due_move(self, member_id: str, old: date | None, new: date | None) -> None:
        """File `member_id` under `new` instead of `old` (either may be None)."""

    def due_take(self, on: date) -> list[str]:
        """Remove and return (sorted) every member filed under `on`."""


@dataclass
class MemoryPartition:
    """A partition's state in plain dicts: for unit tests, benchmarks and tools."""

    members: dict[str, bytes] = field(default_factory=dict)
    clock_value: bytes | None = None
    due: dict[date, set[str]] = field(default_factory=dict)

    def member(self, member_id: str) -> bytes | None:
        return self.members.get(member_id)

    def put_member(self, member_id: str, value: bytes) -> None:
        self.members[member_id] = value

    def clock(self) -> bytes | None:
        return self.clock_value

    def put_clock(self, value: bytes) -> None:
        self.clock_value = value

    def due_move(self, member_id: str, old: date | None, new: date | None) -> None:
        if old == new:
            return
        if old is not None:
            self.due.get(old, set()).discard(member_id)
        if new is not None:
            self.due.setdefault(new, set()).add(member_id)

    def due_take(self, on: date) -> list[str]:
        return sorted(self.due.pop(on, set()))


class MemoryState:
    """Every partition's state in memory (`MemoryPartition`)."""

    def __init__(self) -> None:
        self.partitions: dict[int, MemoryPartition] = {}

    def partition(self, partition: int) -> MemoryPartition:
        return self.partitions.setdefault(partition, MemoryPartition())


# -- RocksDB keys ------------------------------------------------------------------------------
def _member_key(partition: int, member_id: str) -> bytes:
    return b"m:%d:%s" % (partition, member_id.encode())


def _clock_key(partition: int) -> bytes:
    return b"c:%d" % partition


def _due_prefix(partition: int, on: bytes) -> bytes:
    return b"d:%d:%s:" % (partition, on)


def _checkpoint_key(partition: int) -> bytes:
    return b"o:%d" % partition


_ABSENT = object()


def _discard(entries: dict[str, bool], member_id: str) -> None:
    entries.pop(member_id, None)


class StagedPartition:
    """One partition's writes of the batch in flight, over the local store: reads see
    the batch's own writes first. Every write is undoable per event (`MemberBatch`)."""

    def __init__(self, db: Rdict, partition: int, undo: list[Callable[[], None]]) -> None:
        self.db = db
        self.partition = partition
        self.members: dict[str, bytes] = {}
        self.clock_value: bytes | None = None
        self.due: dict[date, dict[str, bool]] = {}
        self._undo = undo

    def member(self, member_id: str) -> bytes | None:
        staged = self.members.get(member_id)
        if staged is not None:
            return staged
        value: bytes | None = self.db.get(_member_key(self.partition, member_id))
        return value

    def put_member(self, member_id: str, value: bytes) -> None:
        previous = self.members.get(member_id)
        self.members[member_id] = value
        if previous is None:
            self._undo.append(lambda: self._forget_member(member_id))
        else:
            self._undo.append(lambda: self.members.__setitem__(member_id, previous))

    def _forget_member(self, member_id: str) -> None:
        self.members.pop(member_id, None)

    def clock(self) -> bytes | None:
        if self.clock_value is not None:
            return self.clock_value
        value: bytes | None = self.db.get(_clock_key(self.partition))
        return value

    def put_clock(self, value: bytes) -> None:
        previous = self.clock_value
        self.clock_value = value
        self._undo.append(lambda: setattr(self, "clock_value", previous))

    def due_move(self, member_id: str, old: date | None, new: date | None) -> None:
        if old == new:
            return
        if old is not None:
            self._file(old, member_id, present=False)
        if new is not None:
            self._file(new, member_id, present=True)

    def due_take(self, on: date) -> list[str]:
        prefix = _due_prefix(self.partition, on.isoformat().encode())
        members = set()
        key: bytes
        for key in self.db.keys(from_key=prefix):  # type: ignore[assignment]
            if not key.startswith(prefix):
                break
            members.add(key[len(prefix) :].decode())
        for member_id, present in self.due.get(on, {}).items():
            if present:
                members.add(member_id)
            else:
                members.discard(member_id)
        for member_id in members:
            self._file(on, member_id, present=False)
        return sorted(members)

    def _file(self, on: date, member_id: str, *, present: bool) -> None:
        day = self.due.setdefault(on, {})
        previous = day.get(member_id, _ABSENT)
        day[member_id] = present
        if previous is _ABSENT:
            self._undo.append(lambda: _discard(day, member_id))
        else:
            self._undo.append(lambda: day.__setitem__(member_id, bool(previous)))

    @property
    def changed(self) -> bool:
        return bool(self.members) or self.clock_value is not None or bool(self.due)

    def records(self, batch_id: bytes) -> list[StateRecord]:
        """The batch's records for the state topic: its members, then the clock (the
        commit; the current clock when the batch did not change it)."""
        headers = [(BATCH_HEADER, batch_id)]
        records = [
            StateRecord(MEMBER_PREFIX + member_id.encode(), value, self.partition, headers)
            for member_id, value in self.members.items()
        ]
        records.append(StateRecord(COMMIT_KEY, self.clock() or b"", self.partition, headers))
        return records

    def write_to(self, batch: WriteBatch, next_offset: int) -> None:
        """Stage this partition's writes, and its new checkpoint, in a RocksDB batch."""
        p = self.partition
        for member_id, value in self.members.items():
            batch.put(_member_key(p, member_id), value)
        if self.clock_value is not None:
            batch.put(_clock_key(p), self.clock_value)
        for on, members in self.due.items():
            prefix = _due_prefix(p, on.isoformat().encode())
            for member_id, present in members.items():
                key = prefix + member_id.encode()
                if present:
                    batch.put(key, b"")
                else:
                    batch.delete(key)
        batch.put(_checkpoint_key(p), str(next_offset).encode())


@dataclass(frozen=True)
class StateRecord:
    """One message of the state topic."""

    key: bytes
    value: bytes
    partition: int
    headers: list[tuple[str, bytes]]


Send = Callable[[StateRecord], Awaitable[Awaitable[Any]]]
"""Hands a record to the producer; returns the future of its acknowledgement (whose
result has an `offset`)."""


class MemberBatch:
    """The staged state of one inbox batch, over every partition it touches."""

    def __init__(self, db: Rdict) -> None:
        self.db = db
        self.partitions: dict[int, StagedPartition] = {}
        self._undo: list[Callable[[], None]] = []

    def partition(self, partition: int) -> StagedPartition:
        staged = self.partitions.get(partition)
        if staged is None:
            staged = self.partitions[partition] = StagedPartition(self.db, partition, self._undo)
        return staged

    def begin_event(self) -> None:
        """Start recording the writes of one event, so that `undo_event` can drop them."""
        self._undo.clear()

    def undo_event(self) -> None:
        """Forget the writes made since `begin_event`: an event that failed half-way
        leaves no trace, and the batch goes on from the state before it."""
        while self._undo:
            self._undo.pop()()


class MemberStore:
    """The member state of every partition this worker holds, in one RocksDB."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = Rdict(str(path), Options(raw_mode=True))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> MemberStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def begin(self) -> MemberBatch:
        return MemberBatch(self.db)

    def checkpoint(self, partition: int) -> int:
        """The state-topic offset this store has applied up to (exclusive)."""
        value = self.db.get(_checkpoint_key(partition))
        return 0 if value is None else int(value)

    async def commit(
        self, batch: MemberBatch, send: Send, *, partitions: set[int] | None = None
    ) -> int:
        """Write `batch`: its records to the state topic, acknowledged, then RocksDB (see
        the module docstring); only those of `partitions` if given (the ones this worker
        still holds). Raises, writing nothing locally, if a send fails. Returns how many
        records were sent."""
        batch_id = uuid.uuid4().bytes
        staged = [
            p
            for p in batch.partitions.values()
            if p.changed and (partitions is None or p.partition in partitions)
        ]
        pending: list[tuple[StagedPartition, list[Awaitable[Any]]]] = []
        sent = 0
        for partition in staged:
            futures = [await send(record) for record in partition.records(batch_id)]
            pending.append((partition, futures))
            sent += len(futures)
        writes = WriteBatch(raw_mode=True)
        for partition, futures in pending:
            acknowledged = [await future for future in futures]
            partition.write_to(writes, acknowledged[-1].offset + 1)
        if staged:
            self.db.write(writes)
        return sent

    def seed(self, partition: int, members: Iterable[tuple[str, bytes]], *, clock: bytes) -> None:
        """Write stored members and a clock straight into `partition`, due index included
        (benchmarks: what the event path would have left behind, in a fraction of the
        time). Not sent to the state topic."""
        writes = WriteBatch(raw_mode=True)
        for count, (member_id, value) in enumerate(members, 1):
            self._restore_member(writes, partition, member_id, value)
            if count % 10_000 == 0:
                self.db.write(writes)
                writes = WriteBatch(raw_mode=True)
        writes.put(_clock_key(partition), clock)
        self.db.write(writes)

    def apply(self, partition: int, records: Iterable[tuple[int, bytes, bytes, bytes]]) -> int:
        """Apply state-topic records `(offset, key, value, batch_id)` of `partition`, in
        offset order, from this store's checkpoint on: each batch once its commit record
        is read; records of a batch that never committed are dropped. Returns how many
        members were written."""
        pending: list[tuple[bytes, bytes]] = []
        pending_id: bytes | None = None
        restored = 0
        for offset, key, value, batch_id in records:
            if batch_id != pending_id:
                pending, pending_id = [], batch_id
            if key != COMMIT_KEY:
                pending.append((key, value))
                continue
            writes = WriteBatch(raw_mode=True)
            for member_key, member in pending:
                self._restore_member(writes, partition, member_key[2:].decode(), member)
            writes.put(_clock_key(partition), value)
            writes.put(_checkpoint_key(partition), str(offset + 1).encode())
            self.db.write(writes)
            restored += len(pending)
            pending, pending_id = [], None
        return restored

    def _restore_member(
        self, writes: WriteBatch, partition: int, member_id: str, value: bytes
    ) -> None:
        key = _member_key(partition, member_id)
        old, new = due_of(self.db.get(key)), due_of(value)
        if old != new:
            suffix = member_id.encode()
            if old is not None:
                writes.delete(_due_prefix(partition, old) + suffix)
            if new is not None:
                writes.put(_due_prefix(partition, new) + suffix, b"")
        writes.put(key, value)


RESTORE_FETCH_MS = 500


async def restore(store: MemberStore, consumer: Any, topic: str, partition: int) -> int:
    """Bring `partition` of `store` up to the end of the state topic, reading from its
    checkpoint on with `consumer` (an aiokafka consumer without a group, shared by every
    restore of the worker). Awaits between fetches, so the worker's group membership stays
    alive however long a cold restore takes. Returns how many members were written."""
    from aiokafka import TopicPartition

    tp = TopicPartition(topic, partition)
    start = store.checkpoint(partition)
    end = (await consumer.end_offsets([tp]))[tp]
    if start >= end:
        return 0
    consumer.assign([tp])
    consumer.seek(tp, start)
    restored = 0
    position = start
    carry: list[tuple[int, bytes, bytes, bytes]] = []
    while position < end:
        fetched = await consumer.getmany(tp, timeout_ms=RESTORE_FETCH_MS)
        messages = fetched.get(tp, [])
        if not messages:
            position = await consumer.position(tp)
            continue
        records = carry + [
            (m.offset, m.key or b"", m.value or b"", dict(m.headers or ()).get(BATCH_HEADER, b""))
            for m in messages
        ]
        # Apply whole batches only: records after the last commit wait for the next fetch.
        last_commit = max((i for i, r in enumerate(records) if r[1] == COMMIT_KEY), default=-1)
        restored += store.apply(partition, records[: last_commit + 1])
        carry = records[last_commit + 1 :]
        position = messages[-1].offset + 1
    if carry:
        log.warning(
            "state partition %d: %d records of a batch that never committed are skipped",
            partition,
            len(carry),
        )
    log.info(
        "state partition %d restored from %d to %d: %d members", partition, start, end, restored
    )
    return restored
