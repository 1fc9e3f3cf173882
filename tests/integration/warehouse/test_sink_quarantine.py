"""A row ClickHouse refuses is quarantined as a dead letter; the rows around it land."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from clickhouse_driver import Client

from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from tests.integration.warehouse import dataset
from tests.integration.warehouse.helpers import publish, run_sink_until_idle


def test_a_refused_row_becomes_a_dead_letter_and_its_batch_lands(
    warehouse: tuple[Settings, Client], serde: AvroSerde, tmp_path: Path
) -> None:
    """A status change dated 1950 (valid Avro; no `Date` column can hold it) among good
    ones: before, the sink retried that batch forever and every table stood still."""
    settings, client = warehouse
    db = settings.clickhouse_database
    data = dataset.build(members=12)
    changes = data.messages["member-status"]
    bad_name, bad_key, bad_record = changes[3]
    bad = {**bad_record, "as_of": date(1950, 1, 1), "change_id": "chg-refused"}
    changes.insert(4, (bad_name, bad_key, bad))
    data.change_ids.discard("chg-refused")
    publish(settings, serde, data)

    output = run_sink_until_idle(settings, tmp_path / "sink.log")

    landed = {c for (c,) in client.execute(f"SELECT change_id FROM {db}.member_status_changes")}
    assert landed - {"chg-refused"} == data.change_ids
    members = dict(client.execute(f"SELECT member_id, status FROM {db}.members FINAL"))
    assert members == data.final_status
    refused = client.execute(
        f"SELECT topic, error_type, error, value FROM {db}.dead_letters FINAL"
        " WHERE error_type = 'WAREHOUSE_REFUSED'"
    )
    assert len(refused) == 1
    topic, _, error, value = refused[0]
    assert topic == settings.topic("member-status")
    # The change's `members` row is the one refused (its version is derived from the date).
    assert error.startswith("members: TypeMismatchError: ")
    assert value.startswith("undecodable") or "bytes, sha256" in value
    assert "quarantined" in output
