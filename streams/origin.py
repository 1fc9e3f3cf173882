"""Where a member event came from: the input message a dead letter must point back to.

A held event that expires becomes a dead letter long after its message was read; the dead
letter must still name the input topic, partition, offset and key (events.md), so that it
can be re-published there once the missing event is in. The member state keeps each held
event's origin (`streams.member_processor.StoredMember.hold`) in its list form.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Origin:
    """An input message's position and key."""

    topic: str
    partition: int
    offset: int
    key: bytes | None

    def to_list(self) -> list[Any]:
        """`[topic, partition, offset, key as base64 or None]`: the stored form."""
        key = None if self.key is None else base64.b64encode(self.key).decode()
        return [self.topic, self.partition, self.offset, key]

    @classmethod
    def from_list(cls, item: list[Any]) -> Origin:
        topic, partition, offset, key = item
        return cls(topic, partition, offset, None if key is None else base64.b64decode(key))
