"""`jamsos stack up | down | status`: the local stack as one idempotent unit.

`up` starts what is not running and waits for real readiness (a metadata answer from Kafka,
`/ping` from ClickHouse, `/subjects` from the registry) with a deadline; it leaves running
servers alone, so it is safe to call twice and is what the test fixtures call too. `down`
stops, by pid, only the processes `up` started.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from jamsos.connect import (
    LOCAL_CLICKHOUSE_ADMIN_PASSWORD_FILE,
    LOCAL_REGISTRY_PASSWORD_FILE,
    SERVICES,
    local_kafka_password_file,
)
from jamsos.settings import ACCOUNTS, Settings
from jamsos.stack.clickhouse import ClickHouseServer
from jamsos.stack.kafka import KafkaServer
from jamsos.stack.process import ManagedProcess, StackError, require_free_port, wait_until_ready
from jamsos.stack.registry import SchemaRegistryServer
from jamsos.stack.tls import make_local_tls
from jamsos.stack.zookeeper import ZooKeeperServer

log = logging.getLogger(__name__)


class Server(Protocol):
    """What the stack needs of each server it runs."""

    name: str
    process: ManagedProcess

    def ports(self) -> list[int]: ...
    def prepare(self) -> None: ...
    def argv(self) -> list[str]: ...
    def ready(self) -> bool: ...
    def configure(self) -> None: ...


@dataclass(frozen=True)
class ServerState:
    """One line of `stack status`."""

    name: str
    pid: int | None
    ready: bool
    log_file: str


class LocalStack:
    """Kafka, ClickHouse and the schema registry of one state folder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.servers: list[Server] = [
            *(KafkaServer(settings, node) for node in range(1, settings.kafka_brokers + 1)),
            *([ZooKeeperServer(settings)] if settings.clickhouse_replicas > 1 else []),
            *(
                ClickHouseServer(settings, node)
                for node in range(1, settings.clickhouse_replicas + 1)
            ),
            SchemaRegistryServer(settings),
        ]

    def up(self) -> list[ServerState]:
        """Start every server that is not running; wait until all are ready."""
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        _require_disk_space(self.settings)
        make_local_secrets(self.settings)
        started: list[Server] = []
        for server in self.servers:
            if server.process.pid() is not None:
                log.info("%s already running (pid %s)", server.name, server.process.pid())
                continue
            for port in server.ports():
                require_free_port(server.name, "127.0.0.1", port)
            server.prepare()
            server.process.start(server.argv())
            started.append(server)
        for server in self.servers:
            wait_until_ready(server.process, server.ready, self.settings.stack_timeout)
            server.configure()
        return self.status()

    def down(self) -> list[str]:
        """Stop the servers this stack started, all at once; returns their names. At once,
        not one by one: the last node of a Kafka cluster stopped alone waits in vain for a
        controller quorum to hand over to, until it is killed."""
        with ThreadPoolExecutor(max_workers=len(self.servers)) as pool:
            stopped = list(pool.map(lambda server: server.process.stop(), self.servers))
        return [s.name for s, done in zip(self.servers, stopped, strict=True) if done]

    def status(self) -> list[ServerState]:
        states = []
        for server in self.servers:
            pid = server.process.pid()
            ready = pid is not None and server.ready()
            states.append(ServerState(server.name, pid, ready, str(server.process.log_to_read)))
        return states

    def describe(self) -> dict[str, Any]:
        """`status --json`: endpoints every command uses by default, plus process states."""
        states = self.status()
        return {
            "running": all(state.ready for state in states),
            "state_dir": str(self.settings.state_dir),
            "secured": self.settings.stack_secure,
            "endpoints": self.settings.endpoints(),
            "servers": {
                state.name: {"pid": state.pid, "ready": state.ready, "log": state.log_file}
                for state in states
            },
        }


def make_local_secrets(settings: Settings) -> None:
    """Give the local stack secrets of its own the first time it comes up: a NIK key and
    the passwords of the ClickHouse accounts, random, readable by this user only, kept with
    the stack's data (and removed with it); secured, also a CA and server certificate, a
    SCRAM password per Kafka service, the registry's and ClickHouse's admin passwords. A
    configured secret is used instead wherever one is set (`Settings.nik_key`,
    `Settings.account_password`, `jamsos.connect`)."""
    _make_secret_file(settings.local_nik_secret_file)
    for role in ACCOUNTS:
        _make_secret_file(settings.local_account_password_file(role))
    if settings.stack_secure:
        make_local_tls(settings)
        for service in SERVICES:
            _make_secret_file(local_kafka_password_file(settings, service))
        _make_secret_file(settings.state_dir / LOCAL_REGISTRY_PASSWORD_FILE)
        _make_secret_file(settings.state_dir / LOCAL_CLICKHOUSE_ADMIN_PASSWORD_FILE)


def make_local_nik_secret(settings: Settings) -> None:
    """The local stack's NIK key alone (see `make_local_secrets`)."""
    _make_secret_file(settings.local_nik_secret_file)


def _make_secret_file(path: Path) -> None:
    """32 random bytes as hex in `path` (mode 0600), unless it exists already."""
    if path.exists():
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another `stack up` made it a moment ago
        return
    with os.fdopen(descriptor, "w") as key:
        key.write(secrets.token_hex(32))


def _require_disk_space(settings: Settings) -> None:
    """Refuse to start servers that would fail later, half-written, on a full disk."""
    free = shutil.disk_usage(settings.state_dir).free
    needed = settings.stack_min_free_disk
    if free < needed:
        raise StackError(
            f"disk full: only {free // 1024**2} MiB free under {settings.state_dir} "
            f"(the stack needs at least {needed // 1024**2} MiB)"
        )
