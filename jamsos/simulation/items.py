"""What the simulator yields: the three kinds of message an upstream feed delivers.

* :class:`SimulatedEvent` — a valid record, unpackable as ``(record_name, record)``;
* :class:`InvalidEvent` — a well-formed Avro record that breaks a contract rule (it must
  end in ``dead-letters``); ``defect`` says which rule;
* :class:`RawMessage` — bytes that are not Confluent Avro at all, sent as they are.

Publishers dispatch on the class; nothing else distinguishes valid from invalid.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class SimulatedEvent(NamedTuple):
    """A valid input record, in the dict form fastavro writes."""

    record_name: str
    record: dict[str, Any]


class InvalidEvent(NamedTuple):
    """A record that encodes as Avro but fails validation on purpose."""

    record_name: str
    record: dict[str, Any]
    defect: str


class RawMessage(NamedTuple):
    """A message value that is not Confluent Avro, for contract topic ``topic``."""

    topic: str
    key: bytes | None
    value: bytes
    defect: str


Item = SimulatedEvent | InvalidEvent | RawMessage
