"""The member store: staged batches, the due index, the commit order and the restore."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from streams.member_state import (
    BATCH_HEADER,
    COMMIT_KEY,
    MemberStore,
    MemoryPartition,
    StateRecord,
    due_of,
    member_body,
    member_value,
)

FEB_16, MAR_16 = date(2019, 2, 16), date(2019, 3, 16)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MemberStore]:
    opened = MemberStore(tmp_path / "state")
    yield opened
    opened.close()


@dataclass
class Acknowledged:
    offset: int


class StateTopic:
    """The state topic as a list: each send is acknowledged with the next offset, or fails
    from the `fail_at`-th send on."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.records: list[StateRecord] = []
        self.fail_at = fail_at

    async def send(self, record: StateRecord) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.fail_at is not None and len(self.records) >= self.fail_at:
            future.set_exception(RuntimeError("broker refused"))
        else:
            future.set_result(Acknowledged(len(self.records)))
        self.records.append(record)
        return future

    def log(self, partition: int = 0) -> list[tuple[int, bytes, bytes, bytes]]:
        return [
            (offset, r.key, r.value, dict(r.headers)[BATCH_HEADER])
            for offset, r in enumerate(self.records)
            if r.partition == partition
        ]


def commit(store: MemberStore, topic: StateTopic, writes: dict[str, date | None]) -> None:
    batch = store.begin()
    for member_id, due in writes.items():
        batch.partition(0).put_member(member_id, member_value(due, member_id.encode()))
        batch.partition(0).due_move(member_id, None, due)
    batch.partition(0).put_clock(b"clock")
    asyncio.run(store.commit(batch, topic.send))


def test_a_stored_member_carries_its_due_date_ahead_of_its_body() -> None:
    value = member_value(FEB_16, b'{"l":1}')

    assert due_of(value) == b"2019-02-16"
    assert member_body(value) == b'{"l":1}'
    assert due_of(member_value(None, b"{}")) is None


def test_the_due_index_sees_the_batch_and_the_store_and_is_taken_once(
    store: MemberStore,
) -> None:
    commit(store, StateTopic(), {f"M{i}": FEB_16 if i % 10 else MAR_16 for i in range(100)})
    batch = store.begin()
    batch.partition(0).due_move("M1", FEB_16, MAR_16)  # stored, moved in the batch
    batch.partition(0).due_move("N1", None, FEB_16)  # new in the batch

    february = batch.partition(0).due_take(FEB_16)

    assert len(february) == 90
    assert "M1" not in february
    assert "N1" in february
    assert batch.partition(0).due_take(FEB_16) == []
    assert "M1" in batch.partition(0).due_take(MAR_16)


def test_an_undone_event_leaves_no_trace_in_the_batch(store: MemberStore) -> None:
    batch = store.begin()
    partition = batch.partition(0)
    partition.put_member("M1", member_value(FEB_16, b"first"))
    partition.due_move("M1", None, FEB_16)
    batch.begin_event()
    partition.put_member("M1", member_value(MAR_16, b"second"))
    partition.due_move("M1", FEB_16, MAR_16)
    partition.put_clock(b"moved")
    batch.undo_event()

    assert partition.member("M1") == member_value(FEB_16, b"first")
    assert partition.clock() is None
    assert partition.due_take(MAR_16) == []
    assert partition.due_take(FEB_16) == ["M1"]


def test_a_commit_writes_locally_only_after_every_record_is_acknowledged(
    store: MemberStore,
) -> None:
    topic = StateTopic(fail_at=1)

    with pytest.raises(RuntimeError, match="broker refused"):
        commit(store, topic, {"M1": FEB_16, "M2": FEB_16})

    assert store.checkpoint(0) == 0
    assert store.begin().partition(0).member("M1") is None


def test_a_commit_sends_members_then_the_clock_that_closes_the_batch(
    store: MemberStore,
) -> None:
    topic = StateTopic()
    commit(store, topic, {"M1": FEB_16, "M2": None})

    assert [r.key for r in topic.records] == [b"m:M1", b"m:M2", COMMIT_KEY]
    assert len({dict(r.headers)[BATCH_HEADER] for r in topic.records}) == 1
    assert store.checkpoint(0) == 3


def test_a_restore_applies_committed_batches_and_skips_one_that_never_committed(
    tmp_path: Path,
) -> None:
    topic = StateTopic()
    with MemberStore(tmp_path / "writer") as writer:
        commit(writer, topic, {"M1": FEB_16, "M2": MAR_16})
        commit(writer, topic, {"M1": MAR_16})
    broken = StateRecord(b"m:M2", member_value(FEB_16, b"lost"), 0, [(BATCH_HEADER, b"x")])
    topic.records.append(broken)  # a batch cut short by a crash: no commit record

    with MemberStore(tmp_path / "fresh") as fresh:
        restored = fresh.apply(0, topic.log())

        assert restored == 3
        assert fresh.checkpoint(0) == 5  # after the last commit, before the broken batch
        batch = fresh.begin()
        assert batch.partition(0).member("M2") == member_value(MAR_16, b"M2")
        assert batch.partition(0).clock() == b"clock"
        assert batch.partition(0).due_take(FEB_16) == []  # M1 moved on to March
        assert batch.partition(0).due_take(MAR_16) == ["M1", "M2"]


def test_memory_partition_files_members_like_the_store() -> None:
    partition = MemoryPartition()
    partition.due_move("M1", None, FEB_16)
    partition.due_move("M2", None, FEB_16)
    partition.due_move("M1", FEB_16, MAR_16)

    assert partition.due_take(FEB_16) == ["M2"]
    assert partition.due_take(FEB_16) == []
    assert partition.due_take(MAR_16) == ["M1"]


def test_a_commit_stores_only_the_partitions_still_held(store: MemberStore) -> None:
    """A batch may hold messages of a partition a rebalance took away: the new owner
    stores that partition's state, not this worker."""
    topic = StateTopic()
    batch = store.begin()
    for partition in (0, 1):
        batch.partition(partition).put_member("M1", member_value(FEB_16, b"x"))

    asyncio.run(store.commit(batch, topic.send, partitions={0}))

    assert {r.partition for r in topic.records} == {0}
    assert store.begin().partition(0).member("M1") is not None
    assert store.begin().partition(1).member("M1") is None
    assert store.checkpoint(1) == 0
