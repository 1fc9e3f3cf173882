"""Every simulated message honours the event contract, except the ones broken on purpose."""

from __future__ import annotations

import io

import fastavro
import pytest

from jamsos.contracts.catalog import TOPICS, input_topics, key_for, record_type
from jamsos.contracts.errors import ContractError
from jamsos.contracts.json_form import from_json_line, to_json_line
from jamsos.contracts.validation import validate
from jamsos.simulation import InvalidEvent, Item, RawMessage, SimulatedEvent, SimulationSummary


def test_valid_events_validate_and_round_trip_through_json(
    mid_run: tuple[list[Item], SimulationSummary],
) -> None:
    items, _ = mid_run
    for item in items:
        if isinstance(item, SimulatedEvent):
            validate(item.record_name, item.record)
            assert from_json_line(to_json_line(*item)) == (item.record_name, item.record)


def test_invalid_events_fail_validation_but_have_a_json_form(
    mid_run: tuple[list[Item], SimulationSummary],
) -> None:
    items, _ = mid_run
    invalid = [item for item in items if isinstance(item, InvalidEvent)]
    assert {item.defect for item in invalid} >= {
        "months_zero",
        "amount_not_positive",
        "nik_not_16_digits",
    }
    for item in invalid:
        with pytest.raises(ContractError):
            validate(item.record_name, item.record)
        from_json_line(to_json_line(item.record_name, item.record))


def test_raw_messages_are_not_confluent_avro_of_a_known_schema(
    mid_run: tuple[list[Item], SimulationSummary],
) -> None:
    items, _ = mid_run
    raw = [item for item in items if isinstance(item, RawMessage)]
    assert raw
    for item in raw:
        assert item.topic in input_topics()
        framed = len(item.value) >= 5 and item.value[0] == 0
        if framed:
            assert int.from_bytes(item.value[1:5], "big") >= 0x7FFF_FF00


def test_records_carry_their_message_keys(
    mid_run: tuple[list[Item], SimulationSummary],
) -> None:
    items, _ = mid_run
    for item in items:
        if isinstance(item, SimulatedEvent):
            key = key_for(item.record_name, item.record)
            keyless = item.record_name in TOPICS["clock"].record_names
            assert (key is None) == keyless


def test_every_record_encodes_as_avro_invalid_ones_included(
    mid_run: tuple[list[Item], SimulationSummary],
) -> None:
    items, _ = mid_run
    for item in items:
        if isinstance(item, SimulatedEvent | InvalidEvent):
            schema = record_type(item.record_name).schema
            body = io.BytesIO()
            fastavro.schemaless_writer(body, schema, item.record)
            body.seek(0)
            assert fastavro.schemaless_reader(body, schema) == item.record
