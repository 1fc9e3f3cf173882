"""The pipeline on a secured stack (issue: secure connections and least privilege).

Every process connects over TLS with its own identity: the worker, the sink and the
publisher each as its own SCRAM principal, whose ACLs allow only what it reads and writes;
the sink writes ClickHouse as `jamsos_writer` and refreshes the KPIs as
`jamsos_refresher`; the registry wants basic auth. A wrong password, an untrusted
certificate and a principal without the ACL each stop a process at start in one line that
names the setting to fix; no secret reaches a log or `stack status --json`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from clickhouse_driver.errors import ServerException

from jamsos.connect import local_kafka_password_file
from jamsos.settings import Settings
from jamsos.stack.tls import make_local_tls
from jamsos.warehouse.client import make_client
from jamsos.warehouse.migrations import migrate
from tests.integration.demo.helpers import demo_argv, failure_report, finish
from tests.integration.security.conftest import secrets_of


def _jamsos(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jamsos", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_run(secured_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small demo workload on the secured stack; its stdout."""
    err = tmp_path_factory.mktemp("secured-demo") / "demo.err"
    with err.open("w") as stderr:
        demo = subprocess.Popen(
            demo_argv(600, 3, 8, "--seed", "7", "--workers", "1", "--stall-timeout", "300"),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=secured_env,
        )
        out = finish(demo, err.read_text, timeout=900)
    assert demo.returncode == 0, failure_report(err.read_text())
    return out


def test_the_demo_workload_runs_over_tls_and_scram_and_clickhouse_agrees(demo_run: str) -> None:
    assert "600 members, 8 agents" in demo_run
    assert "all equal" in demo_run
    assert "landed; the simulator sent" in demo_run


@pytest.mark.parametrize(
    ("command", "change", "names"),
    [
        (
            ("sink", "--until-idle", "1"),
            {"JAMSOS_KAFKA_PASSWORD": "not-the-password"},
            "JAMSOS_KAFKA_PASSWORD",
        ),
        (
            ("worker", "--name", "w-untrusted"),
            {"JAMSOS_KAFKA_SSL_CA_FILE": "{other_ca}"},
            "JAMSOS_KAFKA_SSL_CA_FILE",
        ),
        (
            ("sink", "--until-idle", "1"),
            {
                "JAMSOS_KAFKA_USERNAME": "jamsos-publisher",
                "JAMSOS_KAFKA_PASSWORD": "{publisher_password}",
            },
            "JAMSOS_KAFKA_USERNAME",
        ),
        (
            ("sink", "--until-idle", "1"),
            {"JAMSOS_CLICKHOUSE_WRITER_PASSWORD": "nope"},
            "JAMSOS_CLICKHOUSE_WRITER_PASSWORD",
        ),
        (
            ("sink", "--until-idle", "1"),
            {"JAMSOS_CLICKHOUSE_CA_FILE": "{other_ca}"},
            "JAMSOS_CLICKHOUSE_CA_FILE",
        ),
        (
            ("worker", "--name", "w-registry"),
            {"JAMSOS_REGISTRY_PASSWORD": "nope"},
            "JAMSOS_REGISTRY_PASSWORD",
        ),
        (
            ("simulate", "--members", "5", "--months", "1"),
            {"JAMSOS_REGISTRY_CA_FILE": "{other_ca}"},
            "JAMSOS_REGISTRY_CA_FILE",
        ),
    ],
    ids=[
        "kafka-password",
        "kafka-untrusted-ca",
        "kafka-no-acl",
        "clickhouse-password",
        "clickhouse-untrusted-ca",
        "registry-password",
        "registry-untrusted-ca",
    ],
)
def test_a_refused_connection_stops_the_process_in_one_line_naming_the_setting(
    secured_env: dict[str, str],
    secured: Settings,
    tmp_path: Path,
    command: tuple[str, ...],
    change: dict[str, str],
    names: str,
) -> None:
    other = make_local_tls(secured.model_copy(update={"state_dir": tmp_path}))  # another CA
    values = {
        "other_ca": str(other.ca_cert),
        "publisher_password": local_kafka_password_file(secured, "publisher").read_text(),
    }
    env = {**secured_env, **{k: v.format(**values) for k, v in change.items()}}
    result = _jamsos(env, *command)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("jamsos: "), lines[0]
    assert names in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def test_the_writer_cannot_drop_or_create_and_the_reader_cannot_write(
    secured: Settings, demo_run: str
) -> None:
    """ClickHouse 18.16 has no per-table grant: there the writer can read the register
    (current ClickHouse: `grants.sql` gives it INSERT only, checked by the unit tests)."""
    database = demo_run.split("ClickHouse database ")[1].split()[0]
    run = secured.model_copy(update={"clickhouse_database": database})
    admin = make_client(secured)
    try:
        migrate(admin, secured.clickhouse_database)  # the one database the reader may use
    finally:
        admin.disconnect()
    writer = make_client(run, database=database, account="writer")
    reader = make_client(secured, database=secured.clickhouse_database, account="reader")
    try:
        for sql in (
            f"DROP TABLE {database}.members",
            f"CREATE TABLE {database}.stolen (x UInt8) ENGINE = Memory",
            f"ALTER TABLE {database}.members DELETE WHERE 1",
        ):
            with pytest.raises(ServerException):
                writer.execute(sql)
        with pytest.raises(ServerException, match=r"(?i)readonly"):
            reader.execute("INSERT INTO kpi_targets (name, value, version) VALUES ('x', 1, 1)")
        assert writer.execute(f"SELECT uniqExact(member_id) FROM {database}.members")[0][0] == 600
    finally:
        writer.disconnect()
        reader.disconnect()


def test_no_secret_reaches_a_log_or_stack_status(
    secured_env: dict[str, str], secured: Settings, demo_run: str
) -> None:
    status = _jamsos(secured_env, "stack", "status", "--json")
    assert status.returncode == 0, status.stderr
    described = json.loads(status.stdout)
    assert described["running"] is True
    logs = sorted(Path(secured.state_dir).rglob("*.log"))
    logs = [log for log in logs if "cache" not in log.parts]
    assert any("demo" in log.parts for log in logs)
    assert any("kafka" in log.parts for log in logs)
    texts = {str(log): log.read_text(errors="replace") for log in logs}
    texts["stack status --json"] = status.stdout + status.stderr
    texts["demo output"] = demo_run
    secrets = secrets_of(secured)
    assert {"kafka-worker-password", "kafka-sink-password", "registry-password"} <= set(secrets)
    for name, secret in secrets.items():
        assert len(secret) >= 32
        leaks = [where for where, text in texts.items() if secret in text]
        assert not leaks, f"the secret of {name} is in {leaks}"
