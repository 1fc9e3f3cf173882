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

SHARDS = 1024
"""Buckets per date: the 16th of a month is the due date of most members, so one date
holds millions; 1,024 buckets keep each stored list small (about a thousand ids per
million members of a partition) while a tick still reads only 1,024 keys per day."""


def bucket_key(on: date, shard: int) -> str:
    return f"due:{on.isoformat()}:{shard}"


def directory_key(on: date) -> str:
    """The list of a date's non-empty buckets, so a tick reads only those."""
    return f"due:{on.isoformat()}"


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
            self._update(old, shard, member_id, add=False)
        if new is not None:
            self._update(new, shard, member_id, add=True)

    def refile(self, member_id: str, on: date | None) -> None:
        """Write `member_id`'s entry under `on` again, even where the store has it already.

        After a kill -9 (or a fail-stop) the changelog may lack index writes whose member
        writes it has: the member's event is then recalled, not applied again, and a worker
        restoring from the changelog would never see the member come due. Re-writing on
        recall puts the entry back into the changelog."""
        if on is None:
            return
        shard = shard_of(member_id)
        key = bucket_key(on, shard)
        stored = self.table.get(key)
        members: list[str] = json.loads(stored) if stored else []
        if member_id not in members:
            members.append(member_id)
        self.table[key] = json.dumps(members).encode()
        directory = self.table.get(directory_key(on))
        shards: list[int] = json.loads(directory) if directory else []
        if shard not in shards:
            shards.append(shard)
        self.table[directory_key(on)] = json.dumps(shards).encode()

    def take(self, on: date) -> list[str]:
        """Remove and return every member filed under `on`."""
        directory = self.table.get(directory_key(on))
        if not directory:
            return []
        members: list[str] = []
        for shard in json.loads(directory):
            key = bucket_key(on, shard)
            stored = self.table.get(key)
            if stored:
                members.extend(json.loads(stored))
                del self.table[key]
        del self.table[directory_key(on)]
        return sorted(members)

    def _update(self, on: date, shard: int, member_id: str, *, add: bool) -> None:
        key = bucket_key(on, shard)
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
        if not stored or not members:  # the bucket appeared or disappeared
            self._list_in_directory(on, shard, listed=bool(members))

    def _list_in_directory(self, on: date, shard: int, *, listed: bool) -> None:
        key = directory_key(on)
        stored = self.table.get(key)
        shards: list[int] = json.loads(stored) if stored else []
        if listed and shard not in shards:
            shards.append(shard)
        elif not listed and shard in shards:
            shards.remove(shard)
        if shards:
            self.table[key] = json.dumps(shards).encode()
        elif stored is not None:
            del self.table[key]
