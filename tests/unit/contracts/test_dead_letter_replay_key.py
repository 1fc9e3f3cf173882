"""Which key a dead letter goes back with (`jamsos dead-letters replay`)."""

from __future__ import annotations

from jamsos.contracts.dead_letter_replay import replay_key
from jamsos.contracts.memory_registry import MemorySchemaRegistry
from jamsos.contracts.serde import AvroSerde
from tests.unit.contracts.samples import sample


def test_a_misrouted_member_event_goes_back_keyed_by_its_member_and_others_keep_their_key() -> None:
    serde = AvroSerde(MemorySchemaRegistry())
    value = serde.encode(
        "enrolments", "MemberEnrolled", sample("MemberEnrolled", member_id="M-0042")
    )
    letter = {"key": b"SOMEONE-ELSE", "value": value, "error_type": "MISROUTED"}
    assert replay_key(serde, letter) == b"M-0042"
    assert replay_key(serde, {**letter, "error_type": "UNHELD_EVENT"}) == b"SOMEONE-ELSE"
    unreadable = {**letter, "value": b"not avro"}
    assert replay_key(serde, unreadable) == b"SOMEONE-ELSE"
