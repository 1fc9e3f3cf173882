"""Apache ZooKeeper: the coordinator of the local ClickHouse cluster.

Only run when the stack has more than one ClickHouse server (`JAMSOS_CLICKHOUSE_REPLICAS`):
ClickHouse 18.16 keeps its replication log and its `ON CLUSTER` DDL queue there. The jars
come from Maven Central (`deploy/local/zookeeper/pom.xml`); one standalone server on
loopback, its data under the stack's state folder.
"""

from __future__ import annotations

import socket

from jamsos.settings import Settings
from jamsos.stack.artifacts import DEPLOY_LOCAL, require_tool, run_maven
from jamsos.stack.process import ManagedProcess, StackError

ZOOKEEPER_VERSION = "3.8.4"
"""The release Kafka 3.9 ships, which ClickHouse 18.16's client is known to work with (the
server logs it as an "old client")."""


class ZooKeeperServer:
    """The local ZooKeeper: artifacts, configuration, command line and readiness probe."""

    name = "zookeeper"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.state_dir / "zookeeper"
        self.libs = settings.state_dir / "cache" / f"zookeeper-{ZOOKEEPER_VERSION}" / "libs"
        self.config = self.home / "zoo.cfg"
        self.process = ManagedProcess(
            name="zookeeper",
            pid_file=self.home / "zookeeper.pid",
            log_file=self.home / "logs" / "stdout.log",
            marker=str(self.config),
        )

    def ports(self) -> list[int]:
        return [self.settings.zookeeper_port]

    def prepare(self) -> None:
        require_tool("java", "to run ZooKeeper", "install a Java 17+ runtime (openjdk-17-jre)")
        marker = self.libs / f"zookeeper-{ZOOKEEPER_VERSION}.jar"
        if not marker.exists():
            run_maven(
                [
                    "-f",
                    str(DEPLOY_LOCAL / "zookeeper" / "pom.xml"),
                    f"-Dzookeeper.version={ZOOKEEPER_VERSION}",
                    "dependency:copy-dependencies",
                    f"-DoutputDirectory={self.libs}",
                ],
                self.settings.state_dir / "cache" / "mvn-zookeeper.log",
                f"Apache ZooKeeper {ZOOKEEPER_VERSION}",
            )
            if not marker.exists():
                raise StackError(f"Maven finished but {marker} is missing; read the mvn log")
        (self.home / "data").mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            "# Rendered by `jamsos stack up`: one standalone server on loopback.\n"
            f"dataDir={self.home / 'data'}\n"
            f"clientPort={self.settings.zookeeper_port}\n"
            "clientPortAddress=127.0.0.1\n"
            "tickTime=2000\n"
            "maxClientCnxns=200\n"
            "admin.enableServer=false\n"
            "4lw.commands.whitelist=ruok\n"
            "autopurge.purgeInterval=1\n"
        )

    def argv(self) -> list[str]:
        java = require_tool("java", "to run ZooKeeper", "install a Java 17+ runtime")
        return [
            java,
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-cp",
            f"{self.libs}/*",
            "org.apache.zookeeper.server.ZooKeeperServerMain",
            str(self.config),
        ]

    def ready(self) -> bool:
        """Ready when the server answers `ruok` with `imok`."""
        try:
            with socket.create_connection(("127.0.0.1", self.settings.zookeeper_port), 1) as s:
                s.sendall(b"ruok")
                return s.recv(4) == b"imok"
        except OSError:
            return False

    def configure(self) -> None:
        """Nothing to set once ready."""
