"""A message the worker wants published, and the merging of share updates per agent.

Outputs carry deterministic ids, so a second copy (a batch re-run after a crash) is
harmless downstream; the order that makes re-runs safe is in `streams.member_state`.
"""

from __future__ import annotations

from dataclasses import dataclass

MERGED_BYTES = 256 * 1024
"""Largest merged agent-inbox message: well under Kafka's 1 MiB default message size,
so that a busy agent's updates for one batch never make a message the broker refuses."""


@dataclass(frozen=True, slots=True)
class Emission:
    """One message to publish: a contract or internal topic name, key, value, partition."""

    topic: str
    key: bytes | None
    value: bytes
    partition: int | None = None


def merge_by_key(emissions: list[Emission], topic: str) -> list[Emission]:
    """`emissions` with every message to `topic` under one key merged into a JSON list.

    Used for the agent inbox: the share updates a batch makes for one agent travel as one
    message, so the agent's book is read, written and published once per batch instead
    of once per member event. Order within a key is kept (later updates of a member
    supersede earlier ones by sequence number on the agent side). A key's list is split
    into several messages, in order, where it would pass `MERGED_BYTES`.
    """
    merged: dict[bytes | None, list[bytes]] = {}
    others: list[Emission] = []
    for emission in emissions:
        if emission.topic == topic and emission.partition is None:
            merged.setdefault(emission.key, []).append(emission.value)
        else:
            others.append(emission)
    for key, values in merged.items():
        others.extend(Emission(topic, key, chunk) for chunk in _json_lists(values))
    return others


def _json_lists(values: list[bytes]) -> list[bytes]:
    """`values` (JSON texts) as JSON lists of at most `MERGED_BYTES` each (a single value
    larger than that travels alone)."""
    chunks: list[bytes] = []
    current: list[bytes] = []
    size = 2
    for value in values:
        if current and size + len(value) + 1 > MERGED_BYTES:
            chunks.append(b"[" + b",".join(current) + b"]")
            current, size = [], 2
        current.append(value)
        size += len(value) + 1
    if current:
        chunks.append(b"[" + b",".join(current) + b"]")
    return chunks
