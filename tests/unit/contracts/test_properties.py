"""Property tests: any record the schema allows survives Avro and the JSON form exactly."""

from __future__ import annotations

import io
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jamsos.contracts.catalog import record_names, record_type
from jamsos.contracts.json_form import from_json_form, to_json_form
from tests.unit.contracts.strategies import from_schema

pytestmark = pytest.mark.unit

PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _avro_round_trip(schema: Any, record: dict[str, Any]) -> Any:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, schema, record)
    buffer.seek(0)
    return fastavro.schemaless_reader(buffer, schema, schema)


@pytest.mark.parametrize("name", record_names())
@PROPERTY_SETTINGS
@given(data=st.data())
def test_generated_records_round_trip_through_avro(name: str, data: st.DataObject) -> None:
    schema = record_type(name).schema
    record = data.draw(from_schema(schema), label=name)
    assert _avro_round_trip(schema, record) == record


@pytest.mark.parametrize("name", record_names())
@PROPERTY_SETTINGS
@given(data=st.data())
def test_generated_records_round_trip_through_json_form(name: str, data: st.DataObject) -> None:
    record = data.draw(from_schema(record_type(name).schema), label=name)
    assert from_json_form(to_json_form(name, record)) == (name, record)
