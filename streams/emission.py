"""A message the worker wants published, and the outbox that makes re-publishing safe.

A batch's table changes and its outputs are separate Kafka messages (changelog and output
topics). A crash before the producer has delivered all of them can leave the changelog
holding a change whose outputs never left: the re-delivered event then looks like a
duplicate and would emit nothing. Every stored member keeps the emissions of its recent
source offsets (its *outbox*); a re-delivered offset re-publishes exactly those bytes.
Outputs carry deterministic ids, so a second copy is harmless downstream.

The worker waits for the producer to deliver everything of a batch before acknowledging
its offsets (`streams.agents`), so only the entries of the batch in flight can ever be
needed, and `remember` keeps just those.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

MERGED_BYTES = 256 * 1024
"""Largest merged agent-inbox message: well under Kafka's 1 MiB default message size,
so that a busy agent's updates for one batch never make a message the broker refuses."""

OUTBOX_DEPTH = 4
"""Source offsets remembered per key when processing outside of batches (tests, tools)."""


@dataclass(frozen=True, slots=True)
class Emission:
    """One message to publish: a contract or internal topic name, key, value, partition."""

    topic: str
    key: bytes | None
    value: bytes
    partition: int | None = None

    def to_list(self) -> list[Any]:
        key = None if self.key is None else base64.b64encode(self.key).decode()
        return [self.topic, key, base64.b64encode(self.value).decode(), self.partition]

    @classmethod
    def from_list(cls, item: list[Any]) -> Emission:
        topic, key, value, partition = item
        return cls(
            topic,
            None if key is None else base64.b64decode(key),
            base64.b64decode(value),
            partition,
        )


def remember(
    outbox: list[list[Any]],
    offset: int,
    emissions: list[Emission],
    keep_from: int | None = None,
) -> list[list[Any]]:
    """The outbox after processing `offset`: its emissions appended, older entries dropped.

    `keep_from` is the first offset of the batch being processed: entries from it on may
    still have to be re-published, since the batch's outputs are not yet acknowledged.
    Entries of earlier batches never will (each batch is acknowledged by Kafka before its
    offsets are), so they are dropped, which keeps stored members small. Without a batch,
    the last `OUTBOX_DEPTH` entries are kept.
    """
    entries = [*outbox, [offset, [emission.to_list() for emission in emissions]]]
    if keep_from is None:
        return entries[-OUTBOX_DEPTH:]
    return [entry for entry in entries if entry[0] >= keep_from]


def recall(outbox: list[list[Any]], offset: int) -> list[Emission]:
    """The emissions remembered for `offset` (none if it is older than the outbox)."""
    return [
        Emission.from_list(item)
        for entry_offset, items in outbox
        if entry_offset == offset
        for item in items
    ]


def merge_by_key(emissions: list[Emission], topic: str) -> list[Emission]:
    """`emissions` with every message to `topic` under one key merged into a JSON list.

    Used for the agent inbox: the share updates a batch makes for one agent travel as one
    message, so the agent's book is read, written and published once per batch instead
    of once per member event. Order within a key is kept (later updates of a member
    supersede earlier ones by sequence number on the agent side). A key's list is split
    into several messages, in order, where it would pass `MERGED_BYTES`.
    """
    merged: dict[bytes | None, list[bytes]] = {}
    others: list[Emission] = []
    for emission in emissions:
        if emission.topic == topic and emission.partition is None:
            merged.setdefault(emission.key, []).append(emission.value)
        else:
            others.append(emission)
    for key, values in merged.items():
        others.extend(Emission(topic, key, chunk) for chunk in _json_lists(values))
    return others


def _json_lists(values: list[bytes]) -> list[bytes]:
    """`values` (JSON texts) as JSON lists of at most `MERGED_BYTES` each (a single value
    larger than that travels alone)."""
    chunks: list[bytes] = []
    current: list[bytes] = []
    size = 2
    for value in values:
        if current and size + len(value) + 1 > MERGED_BYTES:
            chunks.append(b"[" + b",".join(current) + b"]")
            current, size = [], 2
        current.append(value)
        size += len(value) + 1
    if current:
        chunks.append(b"[" + b",".join(current) + b"]")
    return chunks
