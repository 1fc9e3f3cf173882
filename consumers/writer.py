"""Batched inserts into the warehouse tables, one INSERT per table per flush.

The writer keeps one clickhouse-driver connection and drops it after any failure, so the
next attempt reconnects instead of reusing a socket in an unknown state.

A batch ClickHouse or the driver *refuses* (a value it cannot pack or parse, as opposed to
a connection or server that is away) is sifted: halves are inserted on their own until the
refused rows are single rows, which `insert_sifting` hands back so that the caller can
quarantine them; every other row lands. Re-inserting the rows of a refused half is
harmless, since every table collapses copies by its key.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence

from clickhouse_driver import Client
from clickhouse_driver.errors import Error, ErrorCodes

from jamsos.settings import Settings
from jamsos.warehouse.client import make_client
from jamsos.warehouse.rows import DERIVED_COLUMNS, TABLE_COLUMNS, Row

log = logging.getLogger(__name__)

REFUSED_VALUE_CODES = frozenset(
    {
        ErrorCodes.CANNOT_PARSE_TEXT,
        ErrorCodes.CANNOT_PARSE_INPUT_ASSERTION_FAILED,
        ErrorCodes.CANNOT_PARSE_DATE,
        ErrorCodes.CANNOT_PARSE_DATETIME,
        ErrorCodes.TYPE_MISMATCH,
        ErrorCodes.ARGUMENT_OUT_OF_BOUND,
        ErrorCodes.CANNOT_CONVERT_TYPE,
        ErrorCodes.CANNOT_PARSE_NUMBER,
        ErrorCodes.INCORRECT_DATA,
        ErrorCodes.TOO_LARGE_STRING_SIZE,
        ErrorCodes.VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE,
        ErrorCodes.CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN,
    }
)
"""Server errors that blame the values sent, not the table or the server. A missing
column or table (migrations not applied) is deliberately not here: it is retried, never
turned into a dead letter for every row."""


def is_refusal(error: BaseException) -> bool:
    """True when `error` refuses the rows themselves; retrying them unchanged cannot help."""
    if isinstance(error, Error):  # the server's answer, or the driver's own type check
        return getattr(error, "code", None) in REFUSED_VALUE_CODES
    # The driver's column writers fail this way on a value they cannot pack.
    return isinstance(
        error, struct.error | OverflowError | TypeError | ValueError | UnicodeError
    ) and not isinstance(error, ConnectionError)


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
        columns = TABLE_COLUMNS.get(table) or DERIVED_COLUMNS[table]
        names = ", ".join(f"`{name}`" for name in columns)
        if self._client is None:
            self._client = make_client(self.settings, database=self.database, account="writer")
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

    def insert_sifting(self, table: str, rows: Sequence[Row]) -> list[tuple[int, BaseException]]:
        """Insert `rows`; returns the refused ones (index, error), every other row landed.
        Raises, as `insert` does, on any failure that is not a refusal of values."""
        try:
            self.insert(table, rows)
        except Exception as error:
            if not is_refusal(error):
                raise
            if len(rows) == 1:
                return [(0, error)]
            middle = len(rows) // 2
            first = self.insert_sifting(table, rows[:middle])
            second = self.insert_sifting(table, rows[middle:])
            return first + [(middle + index, why) for index, why in second]
        return []

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.disconnect()
            except Exception:  # a broken connection may fail to close; it is dropped anyway
                log.debug("ignoring an error while dropping a ClickHouse connection")
            self._client = None
