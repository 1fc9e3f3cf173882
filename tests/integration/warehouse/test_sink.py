"""The sink end to end on the real Kafka and ClickHouse: landing, re-delivery, crashes."""

from __future__ import annotations

import os
import signal
from datetime import date
from pathlib import Path

from clickhouse_driver import Client
from kafka import KafkaAdminClient

from jamsos.contracts.redaction import summary_only
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from tests.integration.warehouse import dataset
from tests.integration.warehouse.helpers import (
    publish,
    raw_rows,
    run_sink_until_idle,
    snapshot,
    start_sink,
    wait_for,
)

PERSONAL_COLUMNS = {"nik", "full_name", "phone"}


def _assert_landed(client: Client, db: str, data: dataset.Dataset) -> None:
    members = dict(client.execute(f"SELECT member_id, status FROM {db}.members FINAL"))
    assert members == data.final_status
    changes = client.execute(f"SELECT change_id FROM {db}.member_status_changes FINAL")
    assert sorted(c for (c,) in changes) == sorted(data.change_ids)
    alerts = client.execute(f"SELECT alert_id FROM {db}.lapse_alerts FINAL")
    assert sorted(a for (a,) in alerts) == sorted(data.alert_ids)
    agents = dict(client.execute(f"SELECT agent_id, version FROM {db}.agents FINAL"))
    assert agents == data.agent_versions
    periods = client.execute(f"SELECT agent_id, period, version FROM {db}.agent_periods FINAL")
    assert {(a, p): v for a, p, v in periods} == data.period_versions
    letters = client.execute(
        f"SELECT topic, `partition`, `offset`, value FROM {db}.dead_letters FINAL"
    )
    assert {(t, p, o) for t, p, o, _ in letters} == data.dead_letter_positions
    # Undecodable bytes land only as their length and hash (no personal data can hide there).
    stored = {v.encode() if isinstance(v, str) else v for *_, v in letters}
    assert summary_only(b"\x00\x00\x00\x00\x63\xff\xfe\x01") in stored
    contributions = dict(client.execute(f"SELECT payment_id, reversed FROM {db}.contributions"))
    assert set(contributions) == data.payments
    assert {p for p, r in contributions.items() if r} == data.reversed_payments
    lapsing = client.execute(f"SELECT member_id FROM {db}.lapsing_members")
    assert sorted(m for (m,) in lapsing) == sorted(
        m for m, s in data.final_status.items() if s == "GRACE"
    )
    total = client.execute(f"SELECT active, inactive, exited FROM {db}.kpi_active_total")[0]
    statuses = list(data.final_status.values())
    assert total == (
        sum(s in ("ACTIVE", "GRACE") for s in statuses),
        sum(s in ("NEW", "LAPSED") for s in statuses),
        statuses.count("EXITED"),
    )


def test_sink_lands_every_table_and_redelivery_changes_no_answer(
    warehouse: tuple[Settings, Client], serde: AvroSerde, tmp_path: Path
) -> None:
    settings, client = warehouse
    db = settings.clickhouse_database
    data = dataset.build()
    publish(settings, serde, data)

    output = run_sink_until_idle(settings, tmp_path / "first.log")
    _assert_landed(client, db, data)
    assert f"{data.skipped_contributions} skipped" in output
    first, stored = snapshot(client, db), raw_rows(client, db)

    # A new group re-delivers every message from the beginning.
    again = settings.model_copy(update={"sink_group": settings.sink_group + "-replay"})
    run_sink_until_idle(again, tmp_path / "second.log")
    assert raw_rows(client, db) == 2 * stored  # everything really arrived twice
    assert snapshot(client, db) == first
    client.execute(f"OPTIMIZE TABLE {db}.members FINAL")
    assert snapshot(client, db) == first


def test_killed_between_insert_and_commit_the_restart_does_not_double_count(
    warehouse: tuple[Settings, Client], serde: AvroSerde, tmp_path: Path
) -> None:
    settings, client = warehouse
    db = settings.clickhouse_database
    data = dataset.build()
    publish(settings, serde, data)
    expected_changes = len(data.change_ids)

    # Offsets are committed at most hourly: rows land, the commit has not happened yet.
    process = start_sink(settings, tmp_path / "killed.log", "--commit-seconds", "3600")
    try:
        wait_for(
            lambda: (
                client.execute(f"SELECT uniqExact(change_id) FROM {db}.member_status_changes")[0][0]
                == expected_changes
                and client.execute(f"SELECT count() FROM {db}.contribution_payments")[0][0] > 0
            ),
            60,
            "the first batch in ClickHouse",
        )
        assert _committed(settings) == {}
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    before_restart = raw_rows(client, db)

    run_sink_until_idle(settings, tmp_path / "restarted.log")
    assert raw_rows(client, db) > before_restart  # the uncommitted batch was re-delivered
    assert _committed(settings)  # and this time committed
    _assert_landed(client, db, data)


def _committed(settings: Settings) -> dict[object, object]:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        offsets = admin.list_group_offsets(settings.sink_group).get(settings.sink_group, {})
    finally:
        admin.close()
    return {tp: meta for tp, meta in offsets.items() if meta.offset >= 0}


def test_no_personal_data_lands(
    warehouse: tuple[Settings, Client], serde: AvroSerde, tmp_path: Path
) -> None:
    settings, client = warehouse
    db = settings.clickhouse_database
    data = dataset.build(members=12)
    publish(settings, serde, data)
    run_sink_until_idle(settings, tmp_path / "sink.log")

    columns = client.execute(
        "SELECT table, name, type FROM system.columns WHERE database = %(db)s", {"db": db}
    )
    assert columns
    assert not {name for _, name, _ in columns} & PERSONAL_COLUMNS
    token = dataset.nik_token(dataset.NIK)
    tokens = client.execute(
        f"SELECT count() FROM {db}.members FINAL WHERE nik_token = %(t)s", {"t": token}
    )
    assert tokens == [(1,)]  # the member whose NIK it is did land, by token only
    searched = 0
    for table, name, kind in columns:
        if "String" not in kind:
            continue
        hits = client.execute(
            f"SELECT count() FROM {db}.{table} WHERE position(ifNull(`{name}`, ''), %(nik)s) > 0",
            {"nik": dataset.NIK},
        )
        assert hits == [(0,)], f"{table}.{name} holds the NIK"
        searched += 1
    assert searched > 20


def test_members_keep_the_enrolment_date(
    warehouse: tuple[Settings, Client], serde: AvroSerde, tmp_path: Path
) -> None:
    settings, client = warehouse
    db = settings.clickhouse_database
    data = dataset.build(members=10)
    publish(settings, serde, data)
    run_sink_until_idle(settings, tmp_path / "sink.log")
    enrolled = dict(client.execute(f"SELECT member_id, enrolled_on FROM {db}.members FINAL"))
    # Members 5 and 10 come from a writer without `enrolled_on`: their latest change is
    # not the enrolment, so the table shows the documented "unknown" date.
    assert enrolled == {
        f"M{m:05d}": (date(1970, 1, 1) if m % 5 == 0 else dataset.D0) for m in range(1, 11)
    }
