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

INSTALL_HINT = (
    "run `bash deploy/local/install-system-packages.sh` (Debian: apt-get install clickhouse-server)"
)


class ClickHouseServer:
    """The local ClickHouse: configuration, command line and readiness probe."""

    name = "clickhouse"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.state_dir / "clickhouse"
        self.config = self.home / "config.xml"
        self.process = ManagedProcess(
            name="clickhouse",
            pid_file=self.home / "clickhouse.pid",
            log_file=self.home / "logs" / "stdout.log",
            marker=str(self.config),
            server_log=self.home / "logs" / "server.err.log",
        )

    def ports(self) -> list[int]:
        return [self.settings.clickhouse_port, self.settings.clickhouse_http_port]

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
                "http_port": self.settings.clickhouse_http_port,
                "tcp_port": self.settings.clickhouse_port,
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
            },
        )

    def argv(self) -> list[str]:
        binary = require_tool("clickhouse-server", "to run ClickHouse", INSTALL_HINT)
        return [binary, f"--config-file={self.config}"]

    def configure(self) -> None:
        """Nothing to set once ready: the rendered config says it all."""

    def ready(self) -> bool:
        """Ready when the HTTP interface answers `/ping` with `Ok.` (over TLS if secured)."""
        host, port = self.settings.clickhouse_host, self.settings.clickhouse_http_port
        url = f"{clickhouse_http_scheme(self.settings)}://{host}:{port}/ping"
        context = None
        if self.settings.stack_secure:
            context = ssl.create_default_context(cafile=str(local_ca_file(self.settings)))
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                return bool(response.read().strip() == b"Ok.")
        except (urllib.error.URLError, OSError):
            return False


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _sha256_or_locked(password: SecretStr | None) -> str:
    """Hash of a configured password; without one, of a random one nobody knows (locked)."""
    if password is None or not password.get_secret_value():
        return _sha256(secrets.token_hex(32))
    return _sha256(password.get_secret_value())
