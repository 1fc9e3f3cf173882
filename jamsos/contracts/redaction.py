"""What of a dead letter's original bytes may land in ClickHouse: never personal data.

The `dead-letters` topic keeps the original message unchanged (it is what
`jamsos dead-letters replay` re-publishes). ClickHouse gets a redacted copy, whatever topic
or record type the message came from (events.md, *Dead letters and personal data*):

* a value that decodes as any contract record is stored re-encoded (Confluent Avro, the
  record's own schema) with `nik`, `full_name` and `phone` blanked;
* a value that does not decode is stored only as its length and a SHA-256 of it, since
  nothing can tell which of its bytes are a NIK or a name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from jamsos.contracts.catalog import topic_for
from jamsos.contracts.errors import ContractError
from jamsos.contracts.serde import AvroSerde

PERSONAL_FIELDS = ("nik", "full_name", "phone")
"""Fields of any record that hold personal data in clear."""

Redactor = Callable[[bytes | None], bytes]
"""Original dead-letter value in, what may be stored out."""


def summary_only(value: bytes | None) -> bytes:
    """Length and hash, nothing of the content: the safe answer for bytes not understood."""
    data = value or b""
    digest = hashlib.sha256(data).hexdigest()
    return f"undecodable value: {len(data)} bytes, sha256 {digest}".encode()


def blank_personal_fields(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of `record` with every personal field that has a value set to ''."""
    return {
        name: ("" if name in PERSONAL_FIELDS and value is not None else value)
        for name, value in record.items()
    }


def redactor(serde: AvroSerde) -> Redactor:
    """A redactor that decodes with `serde` (any contract type, on any topic)."""

    def redact(value: bytes | None) -> bytes:
        if not value:
            return b""
        try:
            decoded = serde.decode(value)
        except ContractError:
            return summary_only(value)
        record = blank_personal_fields(decoded.record)
        return serde.encode(topic_for(decoded.record_name), decoded.record_name, record)

    return redact
