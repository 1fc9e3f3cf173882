"""The worker's state: RocksDB-backed Faust tables with changelog topics.

Member state cannot live in a Python dict (50 M members, `scale.md`); RocksDB keeps it on
disk per partition, and the changelog topic rebuilds it on whichever worker takes the
partition over.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust
from faust.types import TableT

from jamsos.settings import Settings
from jamsos.topics import TABLE_NAMES


@dataclass(frozen=True)
class WorkerTables:
    members: TableT[str, bytes]
    """member_id → stored ledger (see `streams.member_processor.StoredMember`)."""
    member_partitions: TableT[str, bytes]
    """Per member partition: its business date, recent ticks, and the due-date index."""
    agents: TableT[str, bytes]
    """agent_id → stored agent book (see `streams.agent_processor.StoredAgent`)."""


def _table(app: faust.App, name: str, partitions: int) -> TableT[str, bytes]:
    """A str → bytes table; the app's "raw" serializers store both as they are."""
    return app.Table(
        name,
        default=None,
        key_type=str,
        value_type=bytes,
        partitions=partitions,
    )


def define_tables(app: faust.App, settings: Settings) -> WorkerTables:
    n = settings.kafka_partitions
    members, member_partitions, agents = (_table(app, name, n) for name in TABLE_NAMES)
    return WorkerTables(members=members, member_partitions=member_partitions, agents=agents)
