"""The topic contract of events.md as data, and the Avro schemas that back it.

Everything that needs to know "which record goes on which topic, under which key and which
registry subject" asks this module, so the answer exists once. Schemas are read from the
repository's ``schemas/`` directory (the files are the contract and are what the
compatibility check compares), parsed once per directory and cached.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from fastavro.schema import parse_schema

from jamsos.contracts.errors import ContractError, ErrorType

__all__ = [
    "NAMESPACE",
    "SCHEMA_DIR",
    "TOPICS",
    "Catalog",
    "RecordType",
    "TopicSpec",
    "input_topics",
    "key_bytes_for",
    "key_for",
    "load_catalog",
    "output_topics",
    "record_names",
    "record_type",
    "subject_for",
    "topic_for",
]

logger = logging.getLogger(__name__)

NAMESPACE = "jamsos.v1"
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


@dataclass(frozen=True)
class TopicSpec:
    """One topic of events.md: its record types and the field that is its message key.

    ``key_field`` is ``None`` for keyless topics (``clock``). For ``dead-letters`` it is the
    ``key`` field, which holds the original key bytes unchanged.
    """

    name: str
    record_names: tuple[str, ...]
    key_field: str | None
    direction: str  # "input" (published by upstream systems) or "output" (by the pipeline)


def _topics(*specs: TopicSpec) -> Mapping[str, TopicSpec]:
    """Freeze the topic table: it is public contract, not something to patch at run time."""
    return MappingProxyType({spec.name: spec for spec in specs})


TOPICS: Mapping[str, TopicSpec] = _topics(
    TopicSpec("enrolments", ("MemberEnrolled", "MembershipTerminated"), "member_id", "input"),
    TopicSpec("contributions", ("ContributionPaid", "ContributionReversed"), "member_id", "input"),
    TopicSpec("agents", ("AgentRegistered", "AgentStatusChanged"), "agent_id", "input"),
    TopicSpec("clock", ("BusinessDayClosed",), None, "input"),
    TopicSpec("member-status", ("MemberStatusChanged",), "member_id", "output"),
    TopicSpec("lapse-alerts", ("LapseAlert",), "member_id", "output"),
    TopicSpec("agent-tallies", ("AgentTally",), "agent_id", "output"),
    TopicSpec("dead-letters", ("DeadLetter",), "key", "output"),
)

_TOPIC_OF_RECORD: Mapping[str, str] = MappingProxyType(
    {name: spec.name for spec in TOPICS.values() for name in spec.record_names}
)


@dataclass(frozen=True)
class RecordType:
    """A record type of the contract with its schema in the forms callers need.

    ``schema`` is the fastavro-parsed schema (for the schemaless reader and writer);
    ``schema_str`` is the file's JSON re-serialised compactly, the text to register in the
    schema registry (it keeps docs and defaults, which the registry's compatibility check
    needs, unlike the Parsing Canonical Form); ``raw`` is the file's JSON as loaded.
    """

    name: str
    full_name: str
    topic: str
    schema: dict[str, Any]  # shared by every caller: treat as read-only
    schema_str: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class Catalog:
    """All record types loaded from one schema directory."""

    directory: Path
    types: Mapping[str, RecordType]

    def get(self, name: str) -> RecordType:
        """The record type called ``name`` (short name or ``jamsos.v1.`` full name)."""
        short = name.removeprefix(f"{NAMESPACE}.")
        try:
            return self.types[short]
        except KeyError:
            raise ContractError(
                ErrorType.UNKNOWN_SCHEMA, f"type: unknown record type {name!r}", field="type"
            ) from None


def record_names() -> tuple[str, ...]:
    """Every record name of the contract, inputs first, in topic order."""
    return tuple(_TOPIC_OF_RECORD)


def input_topics() -> tuple[str, ...]:
    """Topics upstream systems publish to (the pipeline consumes and may dead-letter them)."""
    return tuple(name for name, spec in TOPICS.items() if spec.direction == "input")


def output_topics() -> tuple[str, ...]:
    """Topics the pipeline writes."""
    return tuple(name for name, spec in TOPICS.items() if spec.direction == "output")


def _read_schema_file(path: Path) -> dict[str, Any]:
    """Load one ``.avsc``; a missing or broken file is a build problem, reported as such."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ContractError(ErrorType.SCHEMA_ERROR, f"{path}: schema file missing") from None
    except (OSError, ValueError) as exc:
        raise ContractError(ErrorType.SCHEMA_ERROR, f"{path}: unreadable: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("type") != "record":
        raise ContractError(ErrorType.SCHEMA_ERROR, f"{path}: not an Avro record schema")
    return raw


def _load_record_type(directory: Path, name: str) -> RecordType:
    """Load and parse ``<name>.avsc``, checking it declares the record it is named after."""
    path = directory / f"{name}.avsc"
    raw = _read_schema_file(path)
    full_name = f"{raw.get('namespace', '')}.{raw.get('name')}".lstrip(".")
    if raw.get("name") != name or not full_name.startswith(f"{NAMESPACE}."):
        raise ContractError(
            ErrorType.SCHEMA_ERROR, f"{path}: declares {full_name!r}, expected {NAMESPACE}.{name}"
        )
    try:
        # A fresh named-types table per file: each file is self-contained and several files
        # define the same enum (e.g. jamsos.v1.Segment), which one shared table would reject.
        parsed = cast(dict[str, Any], parse_schema(raw, named_schemas={}))
    except Exception as exc:  # fastavro raises several unrelated types for bad schemas
        raise ContractError(ErrorType.SCHEMA_ERROR, f"{path}: invalid schema: {exc}") from exc
    return RecordType(
        name=name,
        full_name=full_name,
        topic=_TOPIC_OF_RECORD[name],
        schema=parsed,
        schema_str=json.dumps(raw, separators=(",", ":"), ensure_ascii=False),
        raw=raw,
    )


@lru_cache(maxsize=8)
def _load_catalog_cached(directory: Path) -> Catalog:
    types = {name: _load_record_type(directory, name) for name in record_names()}
    logger.debug("loaded %d record schemas from %s", len(types), directory)
    return Catalog(directory=directory, types=MappingProxyType(types))


def load_catalog(schema_dir: Path | str | None = None) -> Catalog:
    """Load (once per directory) every record schema of the contract.

    Defaults to the repository's ``schemas/``; tests and the compatibility check pass
    another directory. Every record of :data:`TOPICS` must have its file, so a missing
    schema fails at start-up rather than on the first message of that type.
    """
    directory = Path(schema_dir).resolve() if schema_dir is not None else SCHEMA_DIR
    return _load_catalog_cached(directory)


def record_type(name: str, schema_dir: Path | str | None = None) -> RecordType:
    """The record type ``name`` (short or full name); ``UNKNOWN_SCHEMA`` if not in the contract."""
    return load_catalog(schema_dir).get(name)


def _known_record_name(record_name: str) -> str:
    """Short name of a known record; raises ``UNKNOWN_SCHEMA`` without loading any schema."""
    short = record_name.removeprefix(f"{NAMESPACE}.")
    if short not in _TOPIC_OF_RECORD:
        raise ContractError(
            ErrorType.UNKNOWN_SCHEMA, f"type: unknown record type {record_name!r}", field="type"
        )
    return short


def topic_for(record_name: str) -> str:
    """The one topic a record type is published on."""
    return _TOPIC_OF_RECORD[_known_record_name(record_name)]


def subject_for(topic: str, record_name: str) -> str:
    """Schema-registry subject under the TopicRecordNameStrategy: ``<topic>-<full name>``.

    Several record types share a topic, so the subject must name both. A record type that
    does not belong on ``topic`` is refused: registering it there would let a producer
    publish it where no consumer expects it.
    """
    short = _known_record_name(record_name)
    spec = TOPICS.get(topic)
    if spec is None:
        raise ContractError(ErrorType.UNKNOWN_SCHEMA, f"topic: unknown topic {topic!r}")
    if short not in spec.record_names:
        raise ContractError(
            ErrorType.UNKNOWN_SCHEMA, f"type: {short} does not belong on topic {topic!r}"
        )
    return f"{topic}-{NAMESPACE}.{short}"


def _key_value(record_name: str, record: Mapping[str, Any]) -> str | bytes | None:
    """The raw key field value of ``record``; ``None`` for keyless topics."""
    key_field = TOPICS[topic_for(record_name)].key_field
    if key_field is None:
        return None
    if key_field not in record:
        raise ContractError(
            ErrorType.VALIDATION_ERROR,
            f"{key_field}: missing (it is the message key)",
            field=key_field,
        )
    value = record[key_field]
    if value is not None and not isinstance(value, str | bytes):
        raise ContractError(
            ErrorType.VALIDATION_ERROR,
            f"{key_field}: key must be a string, got {type(value).__name__}",
            field=key_field,
        )
    return value


def key_for(record_name: str, record: Mapping[str, Any]) -> str | None:
    """The message key of ``record`` as a string, or ``None`` for a keyless message.

    For ``DeadLetter`` the key is the original key bytes decoded as UTF-8 (keys of this
    contract are UTF-8 strings); a dead letter whose original key is not UTF-8 raises
    ``VALIDATION_ERROR``: use :func:`key_bytes_for` to forward such keys unchanged.
    """
    value = _key_value(record_name, record)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ContractError(
                ErrorType.VALIDATION_ERROR, "key: original key is not UTF-8", field="key"
            ) from None
    return value


def key_bytes_for(record_name: str, record: Mapping[str, Any]) -> bytes | None:
    """The message key of ``record`` as the bytes to put on the wire (UTF-8)."""
    value = _key_value(record_name, record)
    if isinstance(value, str):
        return value.encode("utf-8")
    return value
