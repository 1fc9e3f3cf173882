"""Confluent-framed Avro against the real schema registry: round trips and every bad input."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from jamsos.contracts.catalog import TOPICS, topic_for
from jamsos.contracts.errors import ContractError, ErrorType
from jamsos.contracts.intake import Admitted, Rejected, admit
from jamsos.contracts.serde import AvroSerde
from tests.unit.contracts.samples import SAMPLE_NAMES, sample


@pytest.mark.parametrize("record_name", SAMPLE_NAMES)
def test_every_record_type_round_trips_through_the_registry(
    serde: AvroSerde, record_name: str
) -> None:
    record = sample(record_name)
    topic = topic_for(record_name)

    data = serde.encode(topic, record_name, record)
    # A second serde has no cache: it learns the schema from the registry alone.
    fresh = AvroSerde(serde.registry.__class__(serde.registry.url))
    decoded = fresh.decode(data, topic)

    assert data[0] == 0
    assert decoded.record_name == record_name
    assert decoded.record == record


def _error(serde: AvroSerde, data: bytes | None, topic: str = "contributions") -> ContractError:
    with pytest.raises(ContractError) as caught:
        serde.decode(data, topic)
    return caught.value


def test_wrong_magic_byte_is_a_decode_error(serde: AvroSerde) -> None:
    good = serde.encode("contributions", "ContributionPaid", sample("ContributionPaid"))
    error = _error(serde, b"\x01" + good[1:])
    assert error.error_type == ErrorType.DECODE_ERROR
    assert "magic byte 0x01" in str(error)


def test_message_shorter_than_the_header_is_a_decode_error(serde: AvroSerde) -> None:
    assert "shorter than the 5-byte" in str(_error(serde, b"\x00\x00"))
    assert _error(serde, None).error_type == ErrorType.DECODE_ERROR


def test_truncated_body_is_a_decode_error(serde: AvroSerde) -> None:
    good = serde.encode("contributions", "ContributionPaid", sample("ContributionPaid"))
    error = _error(serde, good[:-6])
    assert error.error_type == ErrorType.DECODE_ERROR
    assert "corrupt Avro body for ContributionPaid" in str(error)


def test_trailing_bytes_are_a_decode_error(serde: AvroSerde) -> None:
    good = serde.encode("contributions", "ContributionPaid", sample("ContributionPaid"))
    assert "unexpected bytes" in str(_error(serde, good + b"\x00\x01"))


def test_corrupt_body_is_a_decode_error(serde: AvroSerde) -> None:
    good = serde.encode("contributions", "ContributionPaid", sample("ContributionPaid"))
    corrupt = good[:5] + b"\xff" * (len(good) - 5)
    assert _error(serde, corrupt).error_type == ErrorType.DECODE_ERROR


def test_unknown_schema_id_is_an_unknown_schema_error(serde: AvroSerde) -> None:
    error = _error(serde, struct.pack(">bI", 0, 987_654_321) + b"\x02")
    assert error.error_type == ErrorType.UNKNOWN_SCHEMA
    assert "987654321" in str(error)


def test_record_type_of_another_topic_is_refused(serde: AvroSerde) -> None:
    enrolment = serde.encode("enrolments", "MemberEnrolled", sample("MemberEnrolled"))
    error = _error(serde, enrolment, topic="contributions")
    assert error.error_type == ErrorType.UNKNOWN_SCHEMA
    assert "does not belong on contributions" in str(error)


def test_admit_turns_an_invalid_record_into_a_dead_letter(serde: AvroSerde) -> None:
    bad = serde.encode("contributions", "ContributionPaid", sample("ContributionPaid", months=0))
    outcome = admit(
        serde,
        contract_topic="contributions",
        topic="x.contributions",
        partition=3,
        offset=42,
        key=b"M-0001",
        value=bad,
    )
    assert isinstance(outcome, Rejected)
    letter = outcome.dead_letter
    assert (letter["topic"], letter["partition"], letter["offset"]) == ("x.contributions", 3, 42)
    assert letter["value"] == bad
    assert letter["key"] == b"M-0001"
    assert letter["error_type"] == "VALIDATION_ERROR"
    assert letter["error"].startswith("months:")
    # The dead letter itself is a valid DeadLetter record.
    assert serde.decode(serde.encode("dead-letters", "DeadLetter", letter)).record == letter


def test_admit_passes_a_valid_record(serde: AvroSerde) -> None:
    good = serde.encode("contributions", "ContributionPaid", sample("ContributionPaid"))
    outcome = admit(
        serde,
        contract_topic="contributions",
        topic="contributions",
        partition=0,
        offset=0,
        key=None,
        value=good,
    )
    assert outcome == Admitted("ContributionPaid", sample("ContributionPaid"))


@hypothesis_settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(
        st.binary(max_size=64),
        st.binary(max_size=64).map(lambda body: b"\x00\x00\x00\x00\x01" + body),
    )
)
def test_any_bytes_decode_or_become_a_dead_letter(serde: AvroSerde, data: bytes) -> None:
    # Make sure schema id 1 exists, so random bodies also reach the Avro reader.
    serde.encode("contributions", "ContributionPaid", sample("ContributionPaid"))
    for topic in TOPICS:
        outcome = admit(
            serde, contract_topic=topic, topic=topic, partition=0, offset=0, key=None, value=data
        )
        assert isinstance(outcome, Admitted | Rejected)
        if isinstance(outcome, Rejected):
            assert outcome.dead_letter["value"] == data
            assert outcome.error.error_type in set(ErrorType)
