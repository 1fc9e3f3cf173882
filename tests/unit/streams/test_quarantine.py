"""Telling a poison message from an outage, and the dead letter a poison message gets."""

from __future__ import annotations

import logging

import pytest
from aiokafka.errors import KafkaConnectionError

from jamsos.contracts.memory_registry import MemorySchemaRegistry
from jamsos.contracts.registry import RegistryError, SchemaNotFoundError
from jamsos.contracts.serde import AvroSerde
from streams.quarantine import is_infrastructure, quarantined, reason


@pytest.mark.parametrize(
    ("error", "infrastructure"),
    [
        (AttributeError("no member_id"), False),
        (KeyError("x"), False),
        (OverflowError("too big"), False),
        (SchemaNotFoundError("no schema 7", status=404), False),
        (RegistryError("registry down", status=503), True),
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (KafkaConnectionError(), True),
    ],
)
def test_only_failures_outside_the_message_stop_the_batch(
    error: Exception, infrastructure: bool
) -> None:
    assert is_infrastructure(error) is infrastructure


def _raise_with_personal_data() -> None:
    raise ValueError("NIK 3174012345678901 of SITI AMINAH is odd")


def test_the_reason_names_type_and_place_but_never_the_message_text() -> None:
    with pytest.raises(ValueError, match="is odd") as caught:
        _raise_with_personal_data()
    text = reason(caught.value)
    assert text.startswith("ValueError at streams/test_quarantine.py:")
    assert text.endswith("in _raise_with_personal_data")
    assert "3174012345678901" not in text
    assert "SITI" not in text


def test_a_quarantined_message_becomes_a_processing_error_dead_letter(
    caplog: pytest.LogCaptureFixture,
) -> None:
    serde = AvroSerde(MemorySchemaRegistry())
    try:
        _raise_with_personal_data()
    except ValueError as error:
        with caplog.at_level(logging.ERROR):
            emission = quarantined(
                serde, error, topic="p.inbox", partition=2, offset=41, key=b"k", value=b"v"
            )
    letter = serde.decode(emission.value).record
    assert emission.topic == "dead-letters"
    assert (letter["topic"], letter["partition"], letter["offset"]) == ("p.inbox", 2, 41)
    assert letter["dead_letter_id"] == "p.inbox:2:41"
    assert (letter["key"], letter["value"]) == (b"k", b"v")
    assert letter["error_type"] == "PROCESSING_ERROR"
    assert "ValueError at" in letter["error"]
    assert "quarantined p.inbox:2:41" in caplog.text


def test_a_contract_error_found_by_the_worker_keeps_its_type_and_message() -> None:
    from jamsos.contracts.errors import ContractError, ErrorType

    serde = AvroSerde(MemorySchemaRegistry())
    error = ContractError(ErrorType.VALIDATION_ERROR, "business_date: too far", field="x")
    emission = quarantined(serde, error, topic="t", partition=0, offset=1, key=None, value=b"v")
    letter = serde.decode(emission.value).record
    assert (letter["error_type"], letter["error"]) == ("VALIDATION_ERROR", "business_date: too far")
