"""Dead letters: an input message that cannot be applied, kept byte for byte with its reason.

Whoever rejects a message (the worker's decoder, its validation, a reversal of a payment
that never came) builds the record here, so every dead letter has the same shape and a
deterministic id: re-delivering the same bad message yields the same dead letter.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jamsos.contracts.errors import ContractError


def dead_letter_id(topic: str, partition: int, offset: int) -> str:
    """`topic:partition:offset`, the position that identifies a Kafka message."""
    return f"{topic}:{partition}:{offset}"


def dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    error: ContractError,
    failed_at: datetime | None = None,
) -> dict[str, Any]:
    """The `DeadLetter` record of a rejected message (`topic` is the physical topic)."""
    return {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "key": key,
        "value": value or b"",
        "error_type": error.error_type,
        "error": str(error),
        "failed_at": _to_millis(failed_at or datetime.now(UTC)),
        "dead_letter_id": dead_letter_id(topic, partition, offset),
    }


def _to_millis(moment: datetime) -> datetime:
    """Avro `timestamp-millis` keeps milliseconds: cut there so the record round-trips."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
