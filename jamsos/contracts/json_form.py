"""The JSON form of events (events.md, "JSON form") to and from fastavro record dicts.

People and tools write events as one JSON object per line, ``{"type": "<record name>",
...fields}``, for ``jamsos publish``, ``jamsos replay`` and fixtures. The conversion is
driven by the record's Avro schema, so the JSON form can never accept something the Avro
encoding cannot carry, and the dict it returns is exactly what a consumer gets back after
an Avro round trip (aware UTC ``datetime`` truncated to milliseconds, ``date``, ``None``
for absent optional fields).

JSON-form specifics that events.md leaves open and that are fixed here:

* timestamps must carry an explicit UTC designator (``Z`` or ``+00:00``); a local or
  zone-less time is refused rather than guessed, since business time drives every rule.
  Fractions finer than a millisecond are truncated, as the Avro encoding would do.
* ``bytes`` (only ``DeadLetter.key``/``value``) are standard base64 strings.
* an absent optional field and an explicit ``null`` mean the same; ``to_json_form`` always
  writes every field (``null`` included) so output lines have a fixed shape.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from jamsos.contracts.catalog import record_type
from jamsos.contracts.errors import ContractError, ErrorType

__all__ = ["from_json_form", "from_json_line", "to_json_form", "to_json_line"]

TYPE_KEY = "type"

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DATE = date(1970, 1, 1)
_TIMESTAMP_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|\+00:00)"
)
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIMESTAMP_SHAPE = "an ISO-8601 UTC timestamp"

Schema = Any  # a fastavro-parsed (sub)schema: str, list or dict
Named = Mapping[str, Any]


# --------------------------------------------------------------------------- helpers


def _show(value: Any) -> str:
    """A short repr for error messages: enough to spot the mistake, not a whole payload."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_kind(value: Any) -> str:
    """The JSON name of a Python value's type, as a JSON author would think of it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _fail(path: str, why: str) -> ContractError:
    """A DECODE_ERROR naming the field: the JSON cannot become a record of the contract."""
    return ContractError(ErrorType.DECODE_ERROR, f"{path}: {why}", field=path)


def _expected(path: str, what: str, value: Any) -> ContractError:
    return _fail(path, f"expected {what}, got {_json_kind(value)} {_show(value)}")


def _resolve(schema: Schema, named: Named) -> Schema:
    """Follow a reference to a named type (a parsed schema inlines each name only once)."""
    if isinstance(schema, str) and schema in named:
        return named[schema]
    return schema


def _type_of(schema: Schema) -> str:
    """The Avro type name of a resolved schema ('union' for a list)."""
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, str):
        return schema
    return str(schema["type"]) if isinstance(schema["type"], str) else "union"


def _logical(schema: Schema) -> str | None:
    return schema.get("logicalType") if isinstance(schema, dict) else None


def _check_range(path: str, value: int, bounds: tuple[int, int], what: str) -> int:
    if not bounds[0] <= value <= bounds[1]:
        raise _fail(path, f"{what} out of range: {value}")
    return value


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ------------------------------------------------------------- JSON -> record (decode)


def _parse_timestamp(path: str, value: Any) -> datetime:
    """ISO-8601 UTC text to an aware UTC datetime at millisecond precision."""
    if not isinstance(value, str):
        raise _expected(path, _TIMESTAMP_SHAPE, value)
    match = _TIMESTAMP_RE.fullmatch(value)
    if match is None:
        raise _fail(path, f"not {_TIMESTAMP_SHAPE}: {_show(value)}")
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    millis = int((match.group(7) or "0")[:3].ljust(3, "0"))
    try:
        return datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=UTC)
    except ValueError:
        raise _fail(path, f"not {_TIMESTAMP_SHAPE}: {_show(value)}") from None


def _parse_date(path: str, value: Any) -> date:
    """``YYYY-MM-DD`` text to a date; other ISO spellings are refused to keep files uniform."""
    if not isinstance(value, str):
        raise _expected(path, "a date YYYY-MM-DD", value)
    match = _DATE_RE.fullmatch(value)
    if match is None:
        raise _fail(path, f"not a date YYYY-MM-DD: {_show(value)}")
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise _fail(path, f"not a date YYYY-MM-DD: {_show(value)}") from None


def _decode_int(path: str, value: Any, bounds: tuple[int, int], what: str) -> int:
    if not _is_integer(value):
        raise _expected(path, f"an integer ({what})", value)
    return _check_range(path, value, bounds, what)


def _decode_float(path: str, value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _expected(path, "a number", value)
    return float(value)


def _decode_bytes(path: str, value: Any) -> bytes:
    if not isinstance(value, str):
        raise _expected(path, "base64 text", value)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(path, f"not valid base64: {_show(value)}") from None


def _decode_primitive(path: str, kind: str, value: Any) -> Any:
    """Decode a value of a primitive Avro type."""
    if kind == "null":
        if value is not None:
            raise _expected(path, "null", value)
        return None
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _expected(path, "true or false", value)
        return value
    if kind == "int":
        return _decode_int(path, value, _INT32, "int")
    if kind == "long":
        return _decode_int(path, value, _INT64, "long")
    if kind in ("float", "double"):
        return _decode_float(path, value)
    if kind == "string":
        if not isinstance(value, str):
            raise _expected(path, "a string", value)
        return value
    if kind == "bytes":
        return _decode_bytes(path, value)
    raise _fail(path, f"unsupported Avro type {kind!r}")


def _decode_enum(path: str, schema: Mapping[str, Any], value: Any) -> str:
    symbols = schema["symbols"]
    if not isinstance(value, str):
        raise _expected(path, f"one of {', '.join(symbols)}", value)
    if value not in symbols:
        raise _fail(path, f"not one of {', '.join(symbols)}: {_show(value)}")
    return value


def _decode_array(path: str, schema: Mapping[str, Any], value: Any, named: Named) -> list[Any]:
    if not isinstance(value, list):
        raise _expected(path, "an array", value)
    return [_decode(schema["items"], item, f"{path}[{i}]", named) for i, item in enumerate(value)]


def _decode_map(path: str, schema: Mapping[str, Any], value: Any, named: Named) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _expected(path, "an object", value)
    return {k: _decode(schema["values"], v, f"{path}.{k}", named) for k, v in value.items()}


def _decode_fixed(path: str, schema: Mapping[str, Any], value: Any) -> bytes:
    data = _decode_bytes(path, value)
    if len(data) != schema["size"]:
        raise _fail(path, f"expected {schema['size']} bytes, got {len(data)}")
    return data


def _decode_union(path: str, branches: list[Any], value: Any, named: Named) -> Any:
    """First branch that accepts the value; ``null`` only for ``null``.

    The contract's unions are all ``["null", T]``; for them the error is T's own error, which
    names the real problem (e.g. a bad date) instead of "matches no branch".
    """
    if value is None and "null" in branches:
        return None
    candidates = [b for b in branches if b != "null"]
    errors: list[ContractError] = []
    for branch in candidates:
        try:
            return _decode(branch, value, path, named)
        except ContractError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    raise _fail(path, f"matches no branch of the union: {_show(value)}")


def _decode(schema: Schema, value: Any, path: str, named: Named) -> Any:
    """Decode ``value`` against ``schema``; ``path`` names the field in errors."""
    schema = _resolve(schema, named)
    logical = _logical(schema)
    if logical == "timestamp-millis":
        return _parse_timestamp(path, value)
    if logical == "date":
        return _parse_date(path, value)
    kind = _type_of(schema)
    if kind == "union":
        return _decode_union(path, schema, value, named)
    if kind == "record":
        return _decode_record(schema, value, path, named)
    if kind == "enum":
        return _decode_enum(path, schema, value)
    if kind == "array":
        return _decode_array(path, schema, value, named)
    if kind == "map":
        return _decode_map(path, schema, value, named)
    if kind == "fixed":
        return _decode_fixed(path, schema, value)
    if isinstance(schema, dict):
        return _decode(schema["type"], value, path, named)
    return _decode_primitive(path, kind, value)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _decode_record(
    schema: Mapping[str, Any],
    value: Any,
    path: str,
    named: Named,
    skip: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Decode a JSON object into a record dict with every field of the schema present.

    Unknown fields are refused: a misspelt optional field would otherwise vanish silently.
    """
    if not isinstance(value, Mapping):
        raise _expected(path or "record", "an object", value)
    fields = schema["fields"]
    known = {field["name"] for field in fields}
    for key in value:
        if key not in known and key not in skip:
            raise _fail(_join(path, str(key)), "unknown field")
    record: dict[str, Any] = {}
    for field in fields:
        name, field_path = field["name"], _join(path, field["name"])
        if name in value:
            record[name] = _decode(field["type"], value[name], field_path, named)
        elif "default" in field:
            record[name] = _default_value(field, field_path, named)
        else:
            raise _fail(field_path, "missing required field")
    return record


def _default_value(field: Mapping[str, Any], path: str, named: Named) -> Any:
    """A field's schema default in record form (a union's default matches its first branch)."""
    schema = _resolve(field["type"], named)
    if isinstance(schema, list):
        schema = schema[0]
    default = field["default"]
    if _type_of(_resolve(schema, named)) in ("bytes", "fixed") and isinstance(default, str):
        return default.encode("latin-1")  # Avro JSON defaults spell bytes as latin-1 text
    return _decode(schema, default, path, named)


def from_json_form(
    obj: Mapping[str, Any], schema_dir: Path | str | None = None
) -> tuple[str, dict[str, Any]]:
    """Turn one JSON-form event into ``(record name, record dict ready for fastavro)``.

    Errors: ``UNKNOWN_SCHEMA`` when ``type`` names no record of the contract,
    ``DECODE_ERROR`` for anything else that does not fit the schema, each naming the field.
    """
    if not isinstance(obj, Mapping):
        raise _expected("event", "a JSON object", obj)
    type_name = obj.get(TYPE_KEY)
    if not isinstance(type_name, str):
        raise ContractError(
            ErrorType.DECODE_ERROR, "type: missing or not a string record name", field="type"
        )
    rtype = record_type(type_name, schema_dir)
    named = rtype.schema.get("__named_schemas", {})
    record = _decode_record(rtype.schema, obj, "", named, skip=frozenset({TYPE_KEY}))
    return rtype.name, record


def from_json_line(line: str, schema_dir: Path | str | None = None) -> tuple[str, dict[str, Any]]:
    """Parse one line of a ``.jsonl`` file (see :func:`from_json_form`)."""
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise ContractError(ErrorType.DECODE_ERROR, f"event: not valid JSON: {exc}") from None
    return from_json_form(obj, schema_dir)


# ------------------------------------------------------------- record -> JSON (encode)


def _format_timestamp(path: str, value: Any) -> str:
    """Aware datetime (or epoch millis, as fastavro also accepts) to ``...T..:..:..[.fff]Z``."""
    if _is_integer(value):
        value = _EPOCH + timedelta(milliseconds=_check_range(path, value, _INT64, "long"))
    if not isinstance(value, datetime):
        raise _expected(path, "a datetime", value)
    if value.tzinfo is None or value.utcoffset() is None:
        raise _fail(path, f"naive datetime is ambiguous, give it a time zone: {_show(value)}")
    value = value.astimezone(UTC)
    text = value.replace(tzinfo=None).isoformat(timespec="seconds")  # strftime drops year 0s
    millis = value.microsecond // 1000
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def _format_date(path: str, value: Any) -> str:
    """A date (or epoch days, as fastavro also accepts) to ``YYYY-MM-DD``."""
    if _is_integer(value):
        value = _EPOCH_DATE + timedelta(days=_check_range(path, value, _INT32, "int"))
    if isinstance(value, datetime) or not isinstance(value, date):
        raise _expected(path, "a date", value)
    return value.isoformat()


def _encode_primitive(path: str, kind: str, value: Any) -> Any:
    """Check a record value of a primitive type and give its JSON value."""
    if kind == "bytes":
        if not isinstance(value, bytes | bytearray):
            raise _expected(path, "bytes", value)
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind in ("int", "long", "string", "boolean", "null", "float", "double"):
        return _decode_primitive(path, kind, value)  # same checks; the value is its own JSON
    raise _fail(path, f"unsupported Avro type {kind!r}")


def _encode_union(path: str, branches: list[Any], value: Any, named: Named) -> Any:
    if value is None and "null" in branches:
        return None
    errors: list[ContractError] = []
    for branch in (b for b in branches if b != "null"):
        try:
            return _encode(branch, value, path, named)
        except ContractError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    raise _fail(path, f"matches no branch of the union: {_show(value)}")


def _encode_fixed(path: str, schema: Mapping[str, Any], value: Any) -> str:
    if not isinstance(value, bytes) or len(value) != schema["size"]:
        raise _expected(path, f"{schema['size']} bytes", value)
    return base64.b64encode(value).decode("ascii")


def _encode_container(
    kind: str, path: str, schema: Mapping[str, Any], value: Any, named: Named
) -> Any:
    """Arrays and maps: encode each element against the element schema."""
    if kind == "array":
        if not isinstance(value, list | tuple):
            raise _expected(path, "a list", value)
        return [_encode(schema["items"], v, f"{path}[{i}]", named) for i, v in enumerate(value)]
    if not isinstance(value, Mapping):
        raise _expected(path, "a mapping", value)
    return {k: _encode(schema["values"], v, f"{path}.{k}", named) for k, v in value.items()}


def _encode(schema: Schema, value: Any, path: str, named: Named) -> Any:
    """Encode a record value to its JSON-form value, checking it against ``schema``."""
    schema = _resolve(schema, named)
    logical = _logical(schema)
    if logical == "timestamp-millis":
        return _format_timestamp(path, value)
    if logical == "date":
        return _format_date(path, value)
    kind = _type_of(schema)
    if kind == "union":
        return _encode_union(path, schema, value, named)
    if kind == "record":
        return _encode_record(schema, value, path, named)
    if kind == "enum":
        return _decode_enum(path, schema, value)
    if kind in ("array", "map"):
        return _encode_container(kind, path, schema, value, named)
    if kind == "fixed":
        return _encode_fixed(path, schema, value)
    if isinstance(schema, dict):
        return _encode(schema["type"], value, path, named)
    return _encode_primitive(path, kind, value)


def _encode_record(
    schema: Mapping[str, Any], record: Any, path: str, named: Named
) -> dict[str, Any]:
    """Encode every field in schema order; absent optional fields become ``null``."""
    if not isinstance(record, Mapping):
        raise _expected(path or "record", "a mapping", record)
    fields = schema["fields"]
    known = {field["name"] for field in fields}
    for key in record:
        if key not in known:
            raise _fail(_join(path, str(key)), "unknown field")
    out: dict[str, Any] = {}
    for field in fields:
        name, field_path = field["name"], _join(path, field["name"])
        if name in record:
            out[name] = _encode(field["type"], record[name], field_path, named)
        elif field.get("default", ...) is None:
            out[name] = None
        elif "default" in field:
            default = _default_value(field, field_path, named)
            out[name] = _encode(field["type"], default, field_path, named)
        else:
            raise _fail(field_path, "missing required field")
    return out


def to_json_form(
    type_name: str, record: Mapping[str, Any], schema_dir: Path | str | None = None
) -> dict[str, Any]:
    """Turn a record dict (as fastavro reads or writes it) into its JSON form.

    The result starts with ``"type"`` and has every schema field in schema order, so files
    written from it diff cleanly. Errors name the offending field.
    """
    rtype = record_type(type_name, schema_dir)
    named = rtype.schema.get("__named_schemas", {})
    return {TYPE_KEY: rtype.name, **_encode_record(rtype.schema, record, "", named)}


def to_json_line(
    type_name: str, record: Mapping[str, Any], schema_dir: Path | str | None = None
) -> str:
    """One ``.jsonl`` line (no trailing newline) for a record."""
    return json.dumps(to_json_form(type_name, record, schema_dir), ensure_ascii=False)
