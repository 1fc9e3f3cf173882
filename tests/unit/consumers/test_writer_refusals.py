"""Which insert failures blame the rows (quarantine them) and which the warehouse (retry)."""

from __future__ import annotations

import struct

import pytest
from clickhouse_driver.errors import (
    ErrorCodes,
    NetworkError,
    ServerException,
    SocketTimeoutError,
    TypeMismatchError,
)

from consumers.writer import is_refusal


@pytest.mark.parametrize(
    ("error", "refusal"),
    [
        (TypeMismatchError("Column version: argument out of range"), True),
        (ServerException("cannot parse", code=ErrorCodes.CANNOT_PARSE_DATE), True),
        (ServerException("out of range", code=ErrorCodes.VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE), True),
        (struct.error("ushort format requires 0 <= number <= 65535"), True),
        (OverflowError("int too big to convert"), True),
        (ServerException("no such column", code=ErrorCodes.NO_SUCH_COLUMN_IN_TABLE), False),
        (ServerException("unknown table", code=ErrorCodes.UNKNOWN_TABLE), False),
        (ServerException("too many parts", code=ErrorCodes.TOO_MANY_PARTS), False),
        (NetworkError("connection refused"), False),
        (SocketTimeoutError("timed out"), False),
        (ConnectionResetError(), False),
        (EOFError(), False),
    ],
)
def test_only_failures_that_blame_the_values_are_refusals(
    error: BaseException, refusal: bool
) -> None:
    assert is_refusal(error) is refusal
