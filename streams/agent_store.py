"""The agent table's writes, sent and confirmed by the worker itself, and the fence that keeps
a rebalance from overtaking them.

Faust writes a table through its producer buffer and records the changelog offset when a
send happens to complete; nothing waits for it. Around a rebalance that buffer can sit still
for seconds. A batch was acknowledged while its agent records still sat there; they reached
the changelog *after* the new owner of the partition had written newer ones, and the next
restore rolled the agent back under newer share records (recruits went uncounted).

So the agent side goes around the buffer (`ConfirmedTable`): a batch's writes are sent with
the batch's outputs (`streams.delivery.Deliveries`, futures checked), and only once Kafka
has acknowledged them are they written to the local store, with the changelog offsets, in
one RocksDB write batch per partition (`Store.apply_changelog_batch`, the call Faust's own
restore uses). The local store is therefore never ahead of the changelog.

The worker runs with `stream_wait_empty=False`, so Faust's revocation does not wait for an
agent's batch in flight. `RevocationFence` does, for the agent tallies: the app's
`on_partitions_revoked` signal waits for the batch holding the fence to commit. A batch
whose events may have been fetched before a revocation (Faust's `take_events` keeps
collecting while the agent works) is handled only once the rebalance is over, and only for
the partitions this worker still holds; the others' new owner reads those events again from
the committed offset.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import faust
from faust.streams import current_event
from faust.types import TP, EventT
from faust.types.stores import StoreT

from streams.delivery import Deliveries

SETTLE_POLL_SECONDS = 0.05
"""How often a batch held back by a rebalance looks whether it is over."""


@dataclass(frozen=True)
class _ChangelogMessage:
    """The parts of a changelog message `Store.apply_changelog_batch` reads."""

    tp: TP
    partition: int
    offset: int
    key: bytes
    value: bytes | None


@dataclass(frozen=True)
class _ChangelogEvent:
    message: _ChangelogMessage


class ConfirmedTable:
    """A Faust table (str → bytes, raw serializers) written through confirmed sends.

    Reads come from the local store, routed by Faust's current event like the table's own.
    Writes wait in `pending` until `commit`; `streams.staging.StagedTable` only writes here
    at the end of a batch, so nothing reads a key between its write and its commit.
    """

    def __init__(self, table: faust.types.TableT[str, bytes]) -> None:
        self.table = table
        self._pending: list[tuple[int, str, bytes | None]] = []

    def get(self, key: str, default: Any = None) -> Any:
        return self.table.data.get(key, default)

    def __setitem__(self, key: str, value: bytes) -> None:
        self._pending.append((_current_partition(), key, value))

    def __delitem__(self, key: str) -> None:
        self._pending.append((_current_partition(), key, None))

    def pending(self) -> int:
        return len(self._pending)

    async def commit(self, deliveries: Deliveries) -> int:
        """Send the pending writes to the changelog, confirm them with everything else the
        batch sent, then apply them to the local store. Raises if a send failed (the batch
        then fails whole). Returns how many writes were committed."""
        pending, self._pending = self._pending, []
        changelog = self.table.changelog_topic
        topic = changelog.get_topic_name()
        sent = []
        for partition, key, value in pending:
            # Encoded as the table encodes its own changelog messages (keys as JSON).
            key_bytes = changelog.prepare_key(key, None)[0]
            future = await deliveries.send(topic, key_bytes, value, partition)
            sent.append((future, key_bytes, value))
        await deliveries.confirm()
        cast(StoreT, self.table.data).apply_changelog_batch(
            list(_as_changelog_events(sent)), to_key=_same, to_value=_same
        )
        return len(sent)


def _as_changelog_events(sent: Sequence[tuple[Any, bytes, bytes | None]]) -> Iterator[EventT]:
    for future, key, value in sent:
        metadata = future.result()
        tp = TP(metadata.topic, metadata.partition)
        message = _ChangelogMessage(tp, metadata.partition, metadata.offset, key, value)
        yield _ChangelogEvent(message)  # type: ignore[misc]  # duck-typed as Faust reads it


def _same(value: Any) -> Any:
    return value


def _current_partition() -> int:
    event = current_event()
    if event is None:
        raise RuntimeError("an agent-table write outside of an event (see streams.staging)")
    return int(event.message.partition)


class RevocationFence:
    """Keeps a revocation from completing while an agent-tally batch is being written,
    and tells a batch whether a revocation happened since its events were collected."""

    def __init__(self, app: faust.App) -> None:
        self.app = app
        self.lock = asyncio.Lock()
        self.revocations = 0

    async def revoked(self) -> None:
        """Called in the app's revocation: waits for the batch in flight, then counts."""
        async with self.lock:
            self.revocations += 1

    async def settled(self) -> None:
        """Returns once no rebalance is under way."""
        while self.app.rebalancing:
            await asyncio.sleep(SETTLE_POLL_SECONDS)

    def still_held(self, events: Sequence[EventT]) -> list[EventT]:
        """The events of partitions this worker holds now (call under `lock`)."""
        held = set(self.app.consumer.assignment())
        return [event for event in events if event.message.tp in held]
