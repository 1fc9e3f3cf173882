"""The worker's state: RocksDB-backed Faust tables with changelog topics.

Agent state cannot live in a Python dict; RocksDB keeps it on disk per partition, and the
changelog topic rebuilds it on whichever worker takes the partition over. The member side,
a hundred times larger and written by every event, keeps its own state
(`streams.member_state`).
"""

from __future__ import annotations

from dataclasses import dataclass

import faust
from faust.types import TableT

from jamsos.settings import Settings
from jamsos.topics import TABLE_NAMES


@dataclass(frozen=True)
class WorkerTables:
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
    (agents,) = (_table(app, name, n) for name in TABLE_NAMES)
    return WorkerTables(agents=agents)
