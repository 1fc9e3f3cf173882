"""Where an inbox message came from: the input message a dead letter must point back to.

The intake copies each valid input message into the member inbox, re-keyed by member. A
held event that expires becomes a dead letter long after, in the member agent, which sees
only the inbox copy; the dead letter must still name the *input* topic, partition, offset
and key (events.md), so that it can be re-published there once the missing event is in.
The intake therefore sends every copy with an `jamsos-origin` header, and the member
agent reads it back. A copy without one (written by an older worker) is traced to its
inbox position instead.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

HEADER = "jamsos-origin"


@dataclass(frozen=True, slots=True)
class Origin:
    """An input message's position and key."""

    topic: str
    partition: int
    offset: int
    key: bytes | None

    def header(self) -> tuple[str, bytes]:
        """The `(name, value)` Kafka header that carries this origin."""
        return HEADER, json.dumps(self.to_list(), separators=(",", ":")).encode()

    @classmethod
    def from_headers(
        cls, headers: Mapping[str, bytes] | Iterable[tuple[str, bytes]] | None
    ) -> Origin | None:
        """The origin in a message's headers, if one is there."""
        if not headers:
            return None
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        for name, value in pairs:
            if name == HEADER:
                return cls.from_list(json.loads(value))
        return None

    def to_list(self) -> list[Any]:
        """`[topic, partition, offset, key as base64 or None]`: header and table form."""
        key = None if self.key is None else base64.b64encode(self.key).decode()
        return [self.topic, self.partition, self.offset, key]

    @classmethod
    def from_list(cls, item: list[Any]) -> Origin:
        topic, partition, offset, key = item
        return cls(topic, partition, offset, None if key is None else base64.b64decode(key))
