"""A message the worker wants published, and the outbox that makes re-publishing safe.

Faust publishes an agent's sends when it commits the source offset, but writes table
changes to the changelog at once. After a crash the table can therefore already hold a
change whose outputs never left: the re-delivered event then looks like a duplicate and
would emit nothing. Every stored member and agent record keeps the emissions of its last
few source offsets (its *outbox*); a re-delivered offset re-publishes exactly those bytes.
Outputs carry deterministic ids, so a second copy is harmless downstream.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

OUTBOX_DEPTH = 4
"""Source offsets remembered per key: re-deliveries after a crash reach back one commit
interval, in which one member rarely has more than a couple of events."""


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


def remember(outbox: list[list[Any]], offset: int, emissions: list[Emission]) -> list[list[Any]]:
    """The outbox after processing `offset`: its emissions appended, oldest dropped."""
    entry = [offset, [emission.to_list() for emission in emissions]]
    return [*outbox, entry][-OUTBOX_DEPTH:]


def recall(outbox: list[list[Any]], offset: int) -> list[Emission]:
    """The emissions remembered for `offset` (none if it is older than the outbox)."""
    return [
        Emission.from_list(item)
        for entry_offset, items in outbox
        if entry_offset == offset
        for item in items
    ]
