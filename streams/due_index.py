"""Which members change on which business day: the index that keeps ticks cheap.

A tick must cost in proportion to the members that change that day, never to all members
(`status.md`, `scale.md`). Every member is filed under the date of its next time-driven
change (`next_change_date`), in one of `SHARDS` buckets per date so no single stored value
grows with the partition's size. A tick reads the buckets of the days it closes, and only
the members in them.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import MutableMapping
from datetime import date

SHARDS = 16


def bucket_key(on: date, shard: int) -> str:
    return f"due:{on.isoformat()}:{shard}"


def shard_of(member_id: str) -> int:
    return zlib.crc32(member_id.encode()) % SHARDS


class DueIndex:
    """The date → members index, stored in a key-value table (one per partition)."""

    def __init__(self, table: MutableMapping[str, bytes]) -> None:
        self.table = table

    def move(self, member_id: str, old: date | None, new: date | None) -> None:
        """File `member_id` under `new` instead of `old` (either may be None)."""
        if old == new:
            return
        shard = shard_of(member_id)
        if old is not None:
            self._update(bucket_key(old, shard), member_id, add=False)
        if new is not None:
            self._update(bucket_key(new, shard), member_id, add=True)

    def take(self, on: date) -> list[str]:
        """Remove and return every member filed under `on`."""
        members: list[str] = []
        for shard in range(SHARDS):
            key = bucket_key(on, shard)
            stored = self.table.get(key)
            if stored:
                members.extend(json.loads(stored))
                del self.table[key]
        return sorted(members)

    def _update(self, key: str, member_id: str, *, add: bool) -> None:
        stored = self.table.get(key)
        members: list[str] = json.loads(stored) if stored else []
        if add and member_id not in members:
            members.append(member_id)
        elif not add and member_id in members:
            members.remove(member_id)
        else:
            return
        if members:
            self.table[key] = json.dumps(members).encode()
        elif stored is not None:
            del self.table[key]
