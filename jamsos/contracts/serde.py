"""Avro in the Confluent wire format: `0x00`, a 4-byte big-endian schema id, the Avro body.

fastavro does the encoding and decoding (it is several times faster than the `avro`
package, which the project keeps for its compatibility checker). Parsed schemas are cached
per schema id, so after the first message of a type the hot path is pure fastavro.

Decoding never crashes on bad bytes: every way a message can be malformed ends as a
`ContractError` whose `error_type` and message go into the dead letter. Only an unreachable
registry raises `RegistryError`, because that is an outage to retry, not bad input.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from typing import Any, cast

import fastavro

from jamsos.contracts.catalog import NAMESPACE, TOPICS, Catalog, load_catalog, subject_for
from jamsos.contracts.errors import ContractError, ErrorType
from jamsos.contracts.registry import SchemaNotFoundError, SchemaRegistry

MAGIC_BYTE = 0
HEADER = struct.Struct(">bI")


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded message: which record type it is, under which schema id, and its fields."""

    record_name: str
    schema_id: int
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _ReaderPlan:
    """How to read bodies written with one schema id."""

    record_name: str
    writer: Any
    reader: Any | None  # None when writer == reader: fastavro then skips schema resolution


class AvroSerde:
    """Encoder/decoder of the contract's records, with schema ids from the registry."""

    def __init__(self, registry: SchemaRegistry, catalog: Catalog | None = None) -> None:
        self.registry = registry
        self.catalog = catalog or load_catalog()
        self._writer_ids: dict[tuple[str, str], int] = {}
        self._plans: dict[int, _ReaderPlan] = {}

    # -- encoding --------------------------------------------------------------------------
    def schema_id(self, topic: str, record_name: str) -> int:
        """The id our schema of `record_name` has under `topic`'s subject (registered once)."""
        key = (topic, record_name)
        schema_id = self._writer_ids.get(key)
        if schema_id is None:
            record_type = self.catalog.get(record_name)
            schema_id = self.registry.register(
                subject_for(topic, record_type.name), record_type.schema_str
            )
            self._writer_ids[key] = schema_id
        return schema_id

    def encode(self, topic: str, record_name: str, record: dict[str, Any]) -> bytes:
        """Frame `record` as Confluent Avro for contract topic `topic`."""
        schema_id = self.schema_id(topic, record_name)
        out = io.BytesIO()
        out.write(HEADER.pack(MAGIC_BYTE, schema_id))
        fastavro.schemaless_writer(out, self.catalog.get(record_name).schema, record)
        return out.getvalue()

    # -- decoding --------------------------------------------------------------------------
    def decode(self, data: bytes | None, topic: str | None = None) -> Decoded:
        """Decode one message value; `topic` (contract name) restricts the allowed types."""
        if data is None or len(data) < HEADER.size:
            size = 0 if data is None else len(data)
            raise ContractError(
                ErrorType.DECODE_ERROR,
                f"message of {size} bytes is shorter than the 5-byte Confluent header",
            )
        if data[0] != MAGIC_BYTE:
            raise ContractError(
                ErrorType.DECODE_ERROR,
                f"wrong magic byte 0x{data[0]:02x} (Confluent Avro starts with 0x00)",
            )
        schema_id = int.from_bytes(data[1:5], "big")
        plan = self._plan(schema_id)
        if topic is not None and plan.record_name not in TOPICS[topic].record_names:
            raise ContractError(
                ErrorType.UNKNOWN_SCHEMA,
                f"schema id {schema_id} is {plan.record_name}, which does not belong on {topic}",
            )
        body = io.BytesIO(data)
        body.seek(HEADER.size)
        try:
            record = fastavro.schemaless_reader(body, plan.writer, plan.reader)
        except Exception as error:
            raise ContractError(
                ErrorType.DECODE_ERROR,
                f"corrupt Avro body for {plan.record_name} (schema id {schema_id}): "
                f"{type(error).__name__}: {error}",
            ) from None
        trailing = len(data) - body.tell()
        if trailing:
            raise ContractError(
                ErrorType.DECODE_ERROR,
                f"{trailing} unexpected bytes after the {plan.record_name} record",
            )
        return Decoded(plan.record_name, schema_id, cast(dict[str, Any], record))

    def _plan(self, schema_id: int) -> _ReaderPlan:
        plan = self._plans.get(schema_id)
        if plan is None:
            plan = self._plans[schema_id] = self._make_plan(schema_id)
        return plan

    def _make_plan(self, schema_id: int) -> _ReaderPlan:
        try:
            text = self.registry.schema(schema_id)
        except SchemaNotFoundError:
            raise ContractError(
                ErrorType.UNKNOWN_SCHEMA, f"schema id {schema_id} is not in the registry"
            ) from None
        try:
            raw = json.loads(text)
            writer = fastavro.parse_schema(raw)
        except Exception as error:
            raise ContractError(
                ErrorType.UNKNOWN_SCHEMA,
                f"schema id {schema_id} is not a usable Avro schema: {error}",
            ) from None
        record_name = _record_name(raw)
        if record_name not in self.catalog.types:
            raise ContractError(
                ErrorType.UNKNOWN_SCHEMA,
                f"schema id {schema_id} is {raw.get('name')!r}, not a record type of the contract",
            )
        ours = self.catalog.get(record_name)
        same = json.loads(ours.schema_str) == raw
        return _ReaderPlan(record_name, writer, None if same else ours.schema)


def _record_name(raw: Any) -> str:
    """The short name of a `jamsos.*` record schema, or '' for anything else."""
    if not isinstance(raw, dict) or raw.get("type") != "record":
        return ""
    name = str(raw.get("name", ""))
    namespace = str(raw.get("namespace", ""))
    full = name if "." in name else f"{namespace}.{name}"
    space, _, short = full.rpartition(".")
    return short if space == NAMESPACE or space.startswith("jamsos.") else ""
