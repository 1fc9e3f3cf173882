"""ClickHouse server from Debian's `clickhouse-server` package, run with the stack's config.

The Debian package ships ClickHouse 18.16; the config only uses settings that current
releases accept too. Data, logs and users live under the stack's state folder.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import ssl
import urllib.error
import urllib.request

from pydantic import SecretStr

from jamsos.connect import clickhouse_admin_password, clickhouse_http_scheme, local_ca_file
from jamsos.settings import ACCOUNTS, Settings
from jamsos.stack.artifacts import DEPLOY_LOCAL, render, render_text, require_tool
from jamsos.stack.process import ManagedProcess
from jamsos.stack.tls import local_tls

log = logging.getLogger(__name__)

LOCAL_CLUSTER = "jamsos"
"""The local ClickHouse cluster's name in `remote_servers` (set `JAMSOS_CLICKHOUSE_CLUSTER`
to it for cluster DDL)."""

INSTALL_HINT = (
    "run `bash deploy/local/install-system-packages.sh` (Debian: apt-get install clickhouse-server)"
)


NODE_PORT_STEP = 10
"""Server n of a local cluster listens on the configured ports plus this * (n - 1)."""
INTERSERVER_PORT_OFFSET = 9
"""A server's replication port (`interserver_http_port`): its native port plus this."""


class ClickHouseServer:
    """One local ClickHouse server: configuration, command line and readiness probe. With
    `JAMSOS_CLICKHOUSE_REPLICAS` > 1, server n is replica n of one shard (ZooKeeper-
    coordinated), on the ports of server 1 plus 10 * (n - 1)."""

    def __init__(self, settings: Settings, node: int = 1) -> None:
        self.settings = settings
        self.node = node
        self.name = "clickhouse" if node == 1 else f"clickhouse-{node}"
        self.home = settings.state_dir / self.name
        self.config = self.home / "config.xml"
        self.tcp_port = settings.clickhouse_port + NODE_PORT_STEP * (node - 1)
        self.http_port = settings.clickhouse_http_port + NODE_PORT_STEP * (node - 1)
        self.process = ManagedProcess(
            name=self.name,
            pid_file=self.home / "clickhouse.pid",
            log_file=self.home / "logs" / "stdout.log",
            marker=str(self.config),
            server_log=self.home / "logs" / "server.err.log",
        )

    def ports(self) -> list[int]:
        ports = [self.tcp_port, self.http_port]
        if self.settings.clickhouse_replicas > 1:
            ports.append(self.tcp_port + INTERSERVER_PORT_OFFSET)
        return ports

    def prepare(self) -> None:
        """Write config.xml and users.xml; create the data folders."""
        require_tool("clickhouse-server", "to run ClickHouse", INSTALL_HINT)
        data_dir = self.home / "data"
        for sub in ("tmp", "user_files", "format_schemas"):
            (data_dir / sub).mkdir(parents=True, exist_ok=True)
        users = render(
            DEPLOY_LOCAL / "clickhouse" / "users.xml.tmpl",
            self.home / "users.xml",
            {
                "admin_password_sha256": _sha256(
                    clickhouse_admin_password(self.settings).get_secret_value()
                ),
                **{
                    f"{role}_password_sha256": _sha256_or_locked(
                        self.settings.account_password(role)
                    )
                    for role in ACCOUNTS
                },
                "database": self.settings.clickhouse_database,
            },
        )
        listeners = render_text(
            DEPLOY_LOCAL
            / "clickhouse"
            / f"listeners-{'secure' if self.settings.stack_secure else 'plain'}.xml.tmpl",
            {
                "http_port": self.http_port,
                "tcp_port": self.tcp_port,
                "tls_dir": local_tls(self.settings).folder,
            },
        )
        render(
            DEPLOY_LOCAL / "clickhouse" / "config.xml.tmpl",
            self.config,
            {
                "state_dir": self.settings.state_dir,
                "log_dir": self.home / "logs",
                "data_dir": data_dir,
                "users_config": users,
                "listeners": listeners,
                "cluster": self._cluster_config(),
            },
        )

    def argv(self) -> list[str]:
        binary = require_tool("clickhouse-server", "to run ClickHouse", INSTALL_HINT)
        return [binary, f"--config-file={self.config}"]

    def configure(self) -> None:
        """Nothing to set once ready: the rendered config says it all."""

    def ready(self) -> bool:
        """Ready when the HTTP interface answers `/ping` with `Ok.` (over TLS if secured)."""
        host, port = self.settings.clickhouse_host, self.http_port
        url = f"{clickhouse_http_scheme(self.settings)}://{host}:{port}/ping"
        context = None
        if self.settings.stack_secure:
            context = ssl.create_default_context(cafile=str(local_ca_file(self.settings)))
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                return bool(response.read().strip() == b"Ok.")
        except (urllib.error.URLError, OSError):
            return False

    def _cluster_config(self) -> str:
        """The replication part of config.xml (empty for a single server)."""
        replicas = self.settings.clickhouse_replicas
        if replicas == 1:
            return ""
        replica_list = "\n".join(
            "                <replica><host>127.0.0.1</host>"
            f"<port>{self.settings.clickhouse_port + NODE_PORT_STEP * (n - 1)}</port></replica>"
            for n in range(1, replicas + 1)
        )
        return render_text(
            DEPLOY_LOCAL / "clickhouse" / "cluster.xml.tmpl",
            {
                "replicas": replicas,
                "node": self.node,
                "interserver_port": self.tcp_port + INTERSERVER_PORT_OFFSET,
                "zookeeper_port": self.settings.zookeeper_port,
                "cluster_name": self.settings.clickhouse_cluster or LOCAL_CLUSTER,
                "replica_list": replica_list,
            },
        )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _sha256_or_locked(password: SecretStr | None) -> str:
    """Hash of a configured password; without one, of a random one nobody knows (locked)."""
    if password is None or not password.get_secret_value():
        return _sha256(secrets.token_hex(32))
    return _sha256(password.get_secret_value())
