"""The pre-aggregated KPI tables on ClickHouse 18.16: what the sink's refresh writes always
equals what the register says, whatever was re-delivered; an idle refresh does nothing; a
group that empties shows as gone, not as its old count."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

from clickhouse_driver import Client

from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from jamsos.warehouse.kpi import kpi_disagreements, refresh_kpis
from tests.integration.warehouse import dataset
from tests.integration.warehouse.helpers import publish, run_sink_until_idle


def _groups(client: Client, db: str) -> dict[tuple[str, str, str], tuple[int, int]]:
    rows = client.execute(
        f"SELECT segment, region_code, branch_code, active, registered FROM {db}.kpi_active_members"
    )
    return {(s, r, b): (a, n) for s, r, b, a, n in rows}


def test_the_sink_keeps_the_kpi_tables_equal_to_the_register(
    warehouse: tuple[Settings, Client], serde: AvroSerde, tmp_path: Path
) -> None:
    settings, client = warehouse
    db = settings.clickhouse_database
    publish(settings, serde, dataset.build())
    run_sink_until_idle(settings, tmp_path / "sink.log")  # refreshes after its last flush
    assert kpi_disagreements(client, db) == []
    assert client.execute(f"SELECT count() FROM {db}.kpi_status_daily")[0][0] > 0
    groups = _groups(client, db)
    assert groups, "no KPI rows: the comparison would prove nothing"

    # Nothing landed since the refresh before: nothing is recomputed (no margin here, so
    # the last landing and the two refreshes need only fall in different seconds).
    time.sleep(1.1)
    refresh_kpis(client, db, margin=0)
    time.sleep(1.1)
    assert not refresh_kpis(client, db, margin=0).recomputed

    # One whole group leaves: its members move to a segment of their own.
    (segment, region, branch), _ = next(iter(sorted(groups.items())))
    client.execute(
        f"INSERT INTO {db}.members SELECT member_id, 'MOVED', branch_code, region_code, "
        f"agent_id, enrolled_on, status, paid_through, arrears_months, as_of, nik_token, "
        f"updated_at, change_id, version + 1000 FROM {db}.members FINAL "
        f"WHERE segment = '{segment}' AND region_code = '{region}' AND branch_code = '{branch}'"
    )
    client.execute(f"INSERT INTO {db}.kpi_changed_days (as_of) VALUES", [(date.today(),)])
    assert refresh_kpis(client, db).recomputed
    assert kpi_disagreements(client, db) == []
    generations = client.execute(f"SELECT uniqExact(generation) FROM {db}.kpi_lapsing_members")
    assert generations[0][0] <= 2, "old generations of the GRACE list were not dropped"
    after = _groups(client, db)
    assert (segment, region, branch) not in after
    assert after[("MOVED", region, branch)] == groups[(segment, region, branch)]
