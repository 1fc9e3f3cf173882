"""The front door of the pipeline: raw Kafka message in, valid record or dead letter out.

Every consumer of input topics goes through `admit`, so decoding and validation fail the
same way everywhere: the message becomes a `DeadLetter` with its bytes and position, and
the caller carries on with the next message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jamsos.contracts.dead_letters import dead_letter
from jamsos.contracts.errors import ContractError, ErrorType
from jamsos.contracts.serde import AvroSerde
from jamsos.contracts.validation import validate

MAX_INPUT_BYTES = 64 * 1024
"""Largest input message admitted. Every field of a valid event is bounded (ids 64
characters, names and addresses far shorter than this), so anything larger is not an
event of the contract; refusing it here keeps every message the worker derives from an
input (inbox copy, outputs) far below Kafka's 1 MiB message limit."""


@dataclass(frozen=True, slots=True)
class Admitted:
    """A decoded, valid input record."""

    record_name: str
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that goes to `dead-letters`, with the record to publish there."""

    dead_letter: dict[str, Any]
    error: ContractError


def admit(
    serde: AvroSerde,
    *,
    contract_topic: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
) -> Admitted | Rejected:
    """Decode and validate one message of `contract_topic` read from physical `topic`."""
    try:
        if value is not None and len(value) > MAX_INPUT_BYTES:
            raise ContractError(
                ErrorType.VALIDATION_ERROR,
                f"message of {len(value):,} bytes; at most {MAX_INPUT_BYTES:,} are admitted",
            )
        decoded = serde.decode(value, contract_topic)
        validate(decoded.record_name, decoded.record)
    except ContractError as error:
        return Rejected(
            dead_letter(
                topic=topic, partition=partition, offset=offset, key=key, value=value, error=error
            ),
            error,
        )
    return Admitted(decoded.record_name, decoded.record)
