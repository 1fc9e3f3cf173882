"""The demo workload into a ClickHouse cluster: one shard of two replicas (ClickHouse 18.16,
coordinated by Apache ZooKeeper), its tables made by the cluster form of the migrations
(`ON CLUSTER`, `Replicated*MergeTree`). The server the sink writes to is killed
(`kill -9`) mid-run and started again; ClickHouse still equals `jamsos replay`, and the
other replica holds the same rows."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest
from clickhouse_driver import Client

from jamsos.stack.clickhouse import ClickHouseServer
from jamsos.warehouse.client import make_client
from tests.integration.demo.helpers import demo_argv, failure_report, finish, wait_for_landing
from tests.integration.isolated_stack import isolated_stack, settings_of

CLUSTER = {
    "JAMSOS_CLICKHOUSE_REPLICAS": "2",
    "JAMSOS_CLICKHOUSE_CLUSTER": "jamsos",
    "JAMSOS_ZOOKEEPER_PORT": "12281",
    "JAMSOS_KAFKA_BOOTSTRAP": "127.0.0.1:19492",
    "JAMSOS_KAFKA_CONTROLLER_PORT": "19493",
    "JAMSOS_CLICKHOUSE_PORT": "19500",
    "JAMSOS_CLICKHOUSE_HTTP_PORT": "18523",
    "JAMSOS_REGISTRY_URL": "http://127.0.0.1:18581/apis/ccompat/v7",
}
TABLES = (
    "members",
    "member_status_changes",
    "contribution_payments",
    "agent_periods",
    "lapse_alerts",
    "dead_letters",
    "kpi_member_counts",
)


@pytest.fixture(scope="module")
def cluster_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with isolated_stack(tmp_path_factory.mktemp("clickhouse-cluster"), CLUSTER) as env:
        yield env


def _counts(client: Client, database: str) -> dict[str, int]:
    return {
        table: client.execute(f"SELECT count() FROM {database}.{table} FINAL")[0][0]
        for table in TABLES
    }


def test_the_demo_lands_in_a_replicated_cluster_through_a_replica_restart(
    cluster_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = settings_of(cluster_env)
    written = ClickHouseServer(settings, node=1)
    err = tmp_path_factory.mktemp("clickhouse-cluster-demo") / "demo.err"
    with err.open("w") as stderr:
        demo = subprocess.Popen(
            demo_argv(1500, 3, 10, "--seed", "4", "--workers", "1", "--rate", "100"),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=cluster_env,
        )
        wait_for_landing(settings, err.read_text)  # rows land; ~30 s of feed still to come
        assert demo.poll() is None, failure_report(err.read_text())
        pid = written.process.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        time.sleep(10)  # the sink's inserts fail and are retried meanwhile
        assert demo.poll() is None, failure_report(err.read_text())  # still running
        written.prepare()
        written.process.start(written.argv())
        out = finish(demo, err.read_text, timeout=900)
    assert demo.returncode == 0, failure_report(err.read_text())
    assert "1,500 members, 10 agents" in out
    assert "all equal" in out
    failed = re.search(r"([\d,]+) failed insert attempts", out)
    assert failed, out
    assert int(failed[1].replace(",", "")) > 0, "the sink never met the stopped server"
    database = re.search(r"ClickHouse database (\w+)", out)[1]  # type: ignore[index]
    one = make_client(settings)
    two = make_client(settings.model_copy(update={"clickhouse_port": written.tcp_port + 10}))
    try:
        engines = dict(
            two.execute(
                "SELECT name, engine FROM system.tables WHERE database = %(d)s", {"d": database}
            )
        )
        assert engines["members"] == "ReplicatedReplacingMergeTree"
        for table in TABLES:
            two.execute(f"SYSTEM SYNC REPLICA {database}.{table}")
        counts = _counts(one, database)
        assert counts["members"] == 1500
        assert _counts(two, database) == counts
    finally:
        one.disconnect()
        two.disconnect()
