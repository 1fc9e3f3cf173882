"""The demo workload on a three-node Kafka cluster (replication factor 3, writes
acknowledged by two copies): one broker is killed (`kill -9`) while events are published
and processed, and started again later; ClickHouse still equals `jamsos replay`.

The cluster is a local stack of its own (`JAMSOS_KAFKA_BROKERS=3`), on ports and a state
folder apart from the stack the other tests share; it is stopped (by pid) at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from jamsos.stack.kafka import KafkaServer
from tests.integration.demo.helpers import demo_argv, failure_report, finish, wait_for_landing
from tests.integration.isolated_stack import isolated_stack, settings_of

CLUSTER = {
    "JAMSOS_KAFKA_BROKERS": "3",
    "JAMSOS_KAFKA_HEAP": "512m",
    "JAMSOS_KAFKA_BOOTSTRAP": "127.0.0.1:19392,127.0.0.1:19402,127.0.0.1:19412",
    "JAMSOS_KAFKA_CONTROLLER_PORT": "19393",
    "JAMSOS_KAFKA_INTERNAL_PORT": "19394",
    "JAMSOS_KAFKA_REPLICATION_FACTOR": "3",
    "JAMSOS_KAFKA_MIN_INSYNC_REPLICAS": "2",
    "JAMSOS_CLICKHOUSE_PORT": "19400",
    "JAMSOS_CLICKHOUSE_HTTP_PORT": "18423",
    "JAMSOS_REGISTRY_URL": "http://127.0.0.1:18481/apis/ccompat/v7",
}


@pytest.fixture(scope="module")
def cluster_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with isolated_stack(tmp_path_factory.mktemp("kafka-cluster"), CLUSTER) as env:
        yield env


def test_the_demo_survives_a_broker_killed_and_restarted(
    cluster_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = settings_of(cluster_env)
    broker = KafkaServer(settings, node=2)
    err = tmp_path_factory.mktemp("cluster-demo") / "demo.err"
    with err.open("w") as stderr:
        demo = subprocess.Popen(
            demo_argv(1500, 3, 10, "--seed", "3", "--workers", "1", "--rate", "100"),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=cluster_env,
        )
        wait_for_landing(settings, err.read_text)  # rows land; ~30 s of feed still to come
        assert demo.poll() is None, failure_report(err.read_text())
        pid = broker.process.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        time.sleep(25)  # partitions led by it move; writes go on with two copies
        assert broker.process.pid() is None
        assert demo.poll() is None, failure_report(err.read_text())  # still running
        broker.prepare()
        broker.process.start(broker.argv())
        out = finish(demo, err.read_text, timeout=900)
    assert demo.returncode == 0, failure_report(err.read_text())
    assert "1,500 members, 10 agents" in out
    assert "all equal" in out
    deadline = time.monotonic() + 120
    while not broker.ready():  # the restarted broker rejoined the cluster
        assert time.monotonic() < deadline, "the restarted broker did not come back"
        time.sleep(1)
