"""Hypothesis strategies that build records from a fastavro-parsed schema.

Driving generation from the schema itself means a new field or type is covered by the
property tests without touching them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Inside datetime's range on both sides, whole milliseconds, always UTC-aware: exactly what
# fastavro reads back for timestamp-millis.
_MIN_MILLIS = int((datetime(1, 1, 2, tzinfo=UTC) - _EPOCH).total_seconds() * 1000)
_MAX_MILLIS = int((datetime(9999, 12, 30, tzinfo=UTC) - _EPOCH).total_seconds() * 1000)

_PRIMITIVES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(*INT32),
    "long": st.integers(*INT64),
    "float": st.floats(width=32, allow_nan=False),
    "double": st.floats(allow_nan=False),
    "string": st.text(max_size=20),
    "bytes": st.binary(max_size=20),
}


def timestamps_millis() -> st.SearchStrategy[datetime]:
    """Aware UTC datetimes with millisecond precision."""
    return st.integers(_MIN_MILLIS, _MAX_MILLIS).map(lambda ms: _EPOCH + timedelta(milliseconds=ms))


def dates() -> st.SearchStrategy[date]:
    return st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))


def from_schema(schema: Any, named: Mapping[str, Any] | None = None) -> st.SearchStrategy[Any]:
    """A strategy for values of ``schema`` (a fastavro-parsed schema or sub-schema)."""
    if named is None and isinstance(schema, dict):
        named = schema.get("__named_schemas", {})
    named = named or {}
    if isinstance(schema, str):
        if schema in named:
            return from_schema(named[schema], named)
        return _PRIMITIVES[schema]
    if isinstance(schema, list):
        return st.one_of([from_schema(branch, named) for branch in schema])
    return _from_dict_schema(schema, named)


def _from_dict_schema(
    schema: Mapping[str, Any], named: Mapping[str, Any]
) -> st.SearchStrategy[Any]:
    logical = schema.get("logicalType")
    if logical == "timestamp-millis":
        return timestamps_millis()
    if logical == "date":
        return dates()
    kind = schema["type"]
    if kind == "record":
        return st.fixed_dictionaries(
            {f["name"]: from_schema(f["type"], named) for f in schema["fields"]}
        )
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "array":
        return st.lists(from_schema(schema["items"], named), max_size=5)
    if kind == "map":
        return st.dictionaries(
            st.text(max_size=8), from_schema(schema["values"], named), max_size=4
        )
    if kind == "fixed":
        return st.binary(min_size=schema["size"], max_size=schema["size"])
    return from_schema(kind, named)
