"""Batched inserts into the warehouse tables, one INSERT per table per flush.

The writer keeps one clickhouse-driver connection and drops it after any failure, so the
next attempt reconnects instead of reusing a socket in an unknown state.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from clickhouse_driver import Client

from jamsos.settings import Settings
from jamsos.warehouse.client import make_client
from jamsos.warehouse.rows import TABLE_COLUMNS, Row

log = logging.getLogger(__name__)


class TableWriter:
    """Inserts rows of the tables of `jamsos.warehouse.rows` into one database."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.database = settings.clickhouse_database
        self._client: Client | None = None

    def insert(self, table: str, rows: Sequence[Row]) -> None:
        """Insert `rows` into `table` in one batch; raises on any ClickHouse failure."""
        if not rows:
            return
        columns = TABLE_COLUMNS[table]
        names = ", ".join(f"`{name}`" for name in columns)
        if self._client is None:
            self._client = make_client(self.settings, database=self.database)
        try:
            self._client.execute(
                f"INSERT INTO {self.database}.{table} ({names}) VALUES",
                list(zip(*rows, strict=True)),
                columnar=True,
                types_check=False,
            )
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.disconnect()
            except Exception:  # a broken connection may fail to close; it is dropped anyway
                log.debug("ignoring an error while dropping a ClickHouse connection")
            self._client = None
