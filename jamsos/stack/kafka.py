"""Apache Kafka in KRaft mode: one broker-and-controller process on loopback.

The broker's jars come from Maven Central (`deploy/local/kafka/pom.xml`) into the stack's
cache; the storage folder is formatted once with the broker's own `StorageTool`.
"""

from __future__ import annotations

import logging
import subprocess
import uuid
from pathlib import Path

from jamsos.settings import Settings
from jamsos.stack.artifacts import DEPLOY_LOCAL, render, require_tool, run_maven
from jamsos.stack.process import ManagedProcess, StackError, port_open

log = logging.getLogger(__name__)


class KafkaServer:
    """The local broker: artifacts, configuration, command line and readiness probe."""

    name = "kafka"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.state_dir / "kafka"
        self.libs = settings.state_dir / "cache" / f"kafka-{settings.kafka_version}" / "libs"
        self.config = self.home / "server.properties"
        self.process = ManagedProcess(
            name="kafka",
            pid_file=self.home / "kafka.pid",
            log_file=self.home / "logs" / "stdout.log",
            marker=str(self.config),
            server_log=self.home / "logs" / "server.log",
        )

    def ports(self) -> list[int]:
        return [self.settings.kafka_port, self.settings.kafka_controller_port]

    def prepare(self) -> None:
        """Fetch the jars (once), write the config, format the storage (once)."""
        java = require_tool("java", "to run Kafka", "install a Java 17+ runtime (openjdk-17-jre)")
        self._fetch_jars()
        log_dir = self.home / "logs"
        data_dir = self.home / "data"
        for name in ("log4j.properties", "log4j2.properties"):
            render(DEPLOY_LOCAL / "kafka" / f"{name}.tmpl", self.home / name, {"log_dir": log_dir})
        render(
            DEPLOY_LOCAL / "kafka" / "server.properties.tmpl",
            self.config,
            {
                "state_dir": self.settings.state_dir,
                "broker_port": self.settings.kafka_port,
                "controller_port": self.settings.kafka_controller_port,
                "data_dir": data_dir,
                "partitions": self.settings.kafka_partitions,
            },
        )
        if not (data_dir / "meta.properties").exists():
            self._format(java, data_dir, self.settings.kafka_cluster_id or _cluster_id())

    def argv(self) -> list[str]:
        java = require_tool("java", "to run Kafka", "install a Java 17+ runtime (openjdk-17-jre)")
        return [
            java,
            "-server",
            f"-Xmx{self.settings.kafka_heap}",
            "-Xms256m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            *self._logging_flags(),
            f"-Dkafka.logs.dir={self.home / 'logs'}",
            "-cp",
            f"{self.libs}/*",
            "kafka.Kafka",
            str(self.config),
        ]

    def configure(self) -> None:
        """Nothing to set once ready: the rendered config says it all."""

    def ready(self) -> bool:
        """Ready when the broker answers a metadata request, not merely when the port opens."""
        if not port_open("127.0.0.1", self.settings.kafka_port):
            return False
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.settings.kafka_bootstrap,
                request_timeout_ms=3000,
            )
        except (KafkaError, OSError, ValueError):
            return False
        try:
            admin.list_topics()
            return True
        except (KafkaError, OSError):
            return False
        finally:
            admin.close()

    def _fetch_jars(self) -> None:
        marker = self.libs / f"kafka_2.13-{self.settings.kafka_version}.jar"
        if marker.exists():
            return
        run_maven(
            [
                "-f",
                str(DEPLOY_LOCAL / "kafka" / "pom.xml"),
                f"-Dkafka.version={self.settings.kafka_version}",
                "dependency:copy-dependencies",
                f"-DoutputDirectory={self.libs}",
            ],
            self.settings.state_dir / "cache" / "mvn-kafka.log",
            f"Apache Kafka {self.settings.kafka_version}",
        )
        if not marker.exists():
            raise StackError(f"Maven finished but {marker} is missing; read the mvn log")

    def _logging_flags(self) -> list[str]:
        """Logging configuration for either broker line: Kafka 3.x reads log4j 1 properties,
        Kafka 4.x log4j2 (and ignores the other flag)."""
        return [
            f"-Dlog4j.configuration=file:{self.home / 'log4j.properties'}",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
        ]

    def _format(self, java: str, data_dir: Path, cluster_id: str) -> None:
        log.info("formatting Kafka storage %s (cluster %s)", data_dir, cluster_id)
        result = subprocess.run(
            [
                java,
                "-cp",
                f"{self.libs}/*",
                *self._logging_flags(),
                "kafka.tools.StorageTool",
                "format",
                # `--cluster-id=ID` in one word: an id may start with `-` (URL-safe base64
                # does one time in 64), which as a separate word the tool reads as an option.
                f"--cluster-id={cluster_id}",
                "-c",
                str(self.config),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            reason = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["?"]
            raise StackError(f"Kafka storage format failed: {reason[0]}")


def _cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
