"""The agent table written through confirmed sends (`streams.agent_store`), against Faust's
own RocksDB store, with a producer that answers at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.types import TP

from streams.agent_store import ConfirmedTable, RevocationFence
from streams.staging import StagedTable, as_current


@dataclass
class _Metadata:
    topic: str
    partition: int
    offset: int


class _Deliveries:
    """Answers every send with the next offset of its partition; `fail` makes the batch's
    confirmation raise, as a refused send does."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self._futures: list[asyncio.Future[Any]] = []
        self._next: dict[int, int] = {}

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> asyncio.Future[Any]:
        assert partition is not None
        self.sent.append((topic, key, value, partition))
        offset = self._next.get(partition, 0)
        self._next[partition] = offset + 1
        future = asyncio.get_running_loop().create_future()
        future.set_result(_Metadata(topic, partition, offset))
        self._futures.append(future)
        return future

    async def confirm(self) -> int:
        if self.fail:
            raise RuntimeError("the broker refused a send")
        return len(self._futures)


@dataclass(frozen=True)
class _Message:
    partition: int


class _Event:
    def __init__(self, partition: int) -> None:
        self.message = _Message(partition)


@pytest.fixture
def table(tmp_path: Path) -> faust.types.TableT[str, bytes]:
    app = faust.App(
        "agent-store-test",
        key_serializer="raw",
        value_serializer="raw",
        store="rocksdb://",
        datadir=str(tmp_path),
        web_enabled=False,
    )
    return app.Table("agents", default=None, key_type=str, value_type=bytes, partitions=4)


def _write(store: ConfirmedTable, partition: int, writes: dict[str, bytes]) -> None:
    staged = StagedTable(store)
    with as_current(_Event(partition)):  # type: ignore[arg-type]
        staged.partition = partition
        for key, value in writes.items():
            staged[key] = value
        staged.flush(partition)


def test_writes_reach_the_local_store_only_once_the_changelog_has_them(
    table: faust.types.TableT[str, bytes],
) -> None:
    store = ConfirmedTable(table)
    deliveries = _Deliveries()
    _write(store, 2, {"AG-1": b"book", "share:AG-1:M1": b"[1,null]"})
    with as_current(_Event(2)):  # type: ignore[arg-type]
        assert store.get("AG-1") is None, "nothing is local before the commit"

    assert asyncio.run(store.commit(deliveries)) == 2  # type: ignore[arg-type]

    topic = table.changelog_topic.get_topic_name()
    assert deliveries.sent == [
        (topic, b'"AG-1"', b"book", 2),  # keys as Faust's own changelog messages have them
        (topic, b'"share:AG-1:M1"', b"[1,null]", 2),
    ]
    with as_current(_Event(2)):  # type: ignore[arg-type]
        assert store.get("AG-1") == b"book"
        assert table.get("share:AG-1:M1") == b"[1,null]"  # Faust reads what was applied
    assert table.data.persisted_offset(TP(topic, 2)) == 1  # type: ignore[attr-defined]


def test_a_refused_send_leaves_the_local_store_as_it_was(
    table: faust.types.TableT[str, bytes],
) -> None:
    store = ConfirmedTable(table)
    _write(store, 0, {"AG-1": b"v1"})
    asyncio.run(store.commit(_Deliveries()))  # type: ignore[arg-type]
    _write(store, 0, {"AG-1": b"v2"})

    with pytest.raises(RuntimeError, match="refused"):
        asyncio.run(store.commit(_Deliveries(fail=True)))  # type: ignore[arg-type]

    with as_current(_Event(0)):  # type: ignore[arg-type]
        assert store.get("AG-1") == b"v1"
    assert store.pending() == 0, "the failed batch is not sent again by the next one"


def test_a_write_outside_an_event_is_refused(table: faust.types.TableT[str, bytes]) -> None:
    with pytest.raises(RuntimeError, match="outside of an event"):
        ConfirmedTable(table)["AG-1"] = b"v"


class _App:
    rebalancing = False

    class consumer:  # noqa: N801
        @staticmethod
        def assignment() -> set[TP]:
            return {TP("inbox", 0)}


def test_a_revocation_waits_for_the_batch_holding_the_fence() -> None:
    fence = RevocationFence(_App())  # type: ignore[arg-type]
    order: list[str] = []

    async def batch() -> None:
        async with fence.lock:
            await asyncio.sleep(0.05)
            order.append("batch committed")

    async def revocation() -> None:
        await asyncio.sleep(0.01)
        await fence.revoked()
        order.append("revoked")

    async def both() -> None:
        await asyncio.gather(batch(), revocation())

    asyncio.run(both())
    assert order == ["batch committed", "revoked"]
    assert fence.revocations == 1


def test_after_a_revocation_only_partitions_still_held_are_handled() -> None:
    fence = RevocationFence(_App())  # type: ignore[arg-type]

    @dataclass(frozen=True)
    class Message:
        tp: TP

    @dataclass(frozen=True)
    class Event:
        message: Message

    events = [Event(Message(TP("inbox", 0))), Event(Message(TP("inbox", 1)))]
    assert fence.still_held(events) == [events[0]]  # type: ignore[arg-type]
