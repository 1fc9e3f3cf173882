"""Apache Kafka in KRaft mode: one broker-and-controller process on loopback.

The broker's jars come from Maven Central (`deploy/local/kafka/pom.xml`) into the stack's
cache; the storage folder is formatted once with the broker's own `StorageTool`. Secured
(`JAMSOS_STACK_SECURE`), clients connect on SASL_SSL with SCRAM-SHA-512: the format step
stores one SCRAM credential per service (`jamsos.connect.SERVICES`), whose random
passwords the stack keeps under `secrets/`, and once the broker is ready the ACLs of
each service are created (`jamsos.stack.acls`).
"""

from __future__ import annotations

import logging
import subprocess
import uuid
from pathlib import Path

from jamsos.connect import SERVICES, kafka_options, local_kafka_password_file, local_principal
from jamsos.settings import Settings
from jamsos.stack.artifacts import DEPLOY_LOCAL, render, render_text, require_tool, run_maven
from jamsos.stack.process import ManagedProcess, StackError, port_open
from jamsos.stack.tls import BROKER_SUBJECT, local_tls

log = logging.getLogger(__name__)

SECURED_MARKER = "jamsos-secured"
"""A file in the data folder of a broker formatted secured (with SCRAM users)."""


NODE_PORT_STEP = 10
"""Node n of a local cluster listens on the configured ports plus this * (n - 1)."""


class KafkaServer:
    """One local Kafka node (broker and controller): artifacts, configuration, command
    line and readiness probe. `JAMSOS_KAFKA_BROKERS` > 1 makes a cluster of such nodes on
    loopback, node n on the ports of node 1 plus 10 * (n - 1), all controller voters."""

    def __init__(self, settings: Settings, node: int = 1) -> None:
        self.settings = settings
        self.node = node
        self.name = "kafka" if node == 1 else f"kafka-{node}"
        self.home = settings.state_dir / self.name
        self.libs = settings.state_dir / "cache" / f"kafka-{settings.kafka_version}" / "libs"
        self.config = self.home / "server.properties"
        self.process = ManagedProcess(
            name=self.name,
            pid_file=self.home / "kafka.pid",
            log_file=self.home / "logs" / "stdout.log",
            marker=str(self.config),
            server_log=self.home / "logs" / "server.log",
        )

    def _port(self, base: int, node: int | None = None) -> int:
        return base + ((node or self.node) - 1) * NODE_PORT_STEP

    @property
    def address(self) -> str:
        """This node's client listener."""
        return f"127.0.0.1:{self._port(self.settings.kafka_port)}"

    def ports(self) -> list[int]:
        ports = [
            self._port(self.settings.kafka_port),
            self._port(self.settings.kafka_controller_port),
        ]
        if self.settings.stack_secure:
            ports.append(self._port(self.settings.kafka_internal_port))
        return ports

    def prepare(self) -> None:
        """Fetch the jars (once), write the config, format the storage (once)."""
        java = require_tool("java", "to run Kafka", "install a Java 17+ runtime (openjdk-17-jre)")
        self._fetch_jars()
        log_dir = self.home / "logs"
        data_dir = self.home / "data"
        for name in ("log4j.properties", "log4j2.properties"):
            render(DEPLOY_LOCAL / "kafka" / f"{name}.tmpl", self.home / name, {"log_dir": log_dir})
        secure = self.settings.stack_secure
        ports = {
            "broker_port": self._port(self.settings.kafka_port),
            "controller_port": self._port(self.settings.kafka_controller_port),
            "internal_port": self._port(self.settings.kafka_internal_port),
            "tls_dir": local_tls(self.settings).folder,
            "admin_principal": local_principal("admin"),
            "broker_subject": BROKER_SUBJECT,
        }
        listeners = render_text(
            DEPLOY_LOCAL / "kafka" / f"listeners-{'secure' if secure else 'plain'}.properties.tmpl",
            ports,
        )
        nodes = self.settings.kafka_brokers
        voters = ",".join(
            f"{n}@127.0.0.1:{self._port(self.settings.kafka_controller_port, n)}"
            for n in range(1, nodes + 1)
        )
        render(
            DEPLOY_LOCAL / "kafka" / "server.properties.tmpl",
            self.config,
            {
                "home": self.home,
                "node_id": self.node,
                "nodes": nodes,
                "voters": voters,
                "listeners": listeners,
                "data_dir": data_dir,
                "partitions": self.settings.kafka_partitions,
                "copies": min(3, nodes),
                "min_isr": min(2, nodes),
            },
        )
        marker = data_dir / SECURED_MARKER
        if not (data_dir / "meta.properties").exists():
            self._format(java, data_dir, self._cluster_id())
            if secure:
                marker.touch()
        elif secure != marker.exists():
            raise StackError(
                f"Kafka's data under {data_dir} was made "
                f"{'without' if secure else 'with'} JAMSOS_STACK_SECURE; run "
                f"`jamsos stack up` the way it was made, or use another JAMSOS_STATE_DIR"
            )

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
        """Secured: the ACLs of every service for the stack's own topic prefix."""
        if self.settings.stack_secure:
            from jamsos.stack.acls import grant_local_services

            grant_local_services(self.settings)

    def ready(self) -> bool:
        """Ready when the broker answers a metadata request, not merely when the port opens."""
        if not port_open("127.0.0.1", self._port(self.settings.kafka_port)):
            return False
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        try:
            admin = KafkaAdminClient(
                **{**kafka_options(self.settings, "admin"), "bootstrap_servers": self.address},
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
                *self._scram_credentials(),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            reason = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["?"]
            raise StackError(f"Kafka storage format failed: {reason[0]}")

    def _cluster_id(self) -> str:
        """The configured cluster id, else one made once per state folder and shared by
        every node (a node formatted with another id would not join)."""
        if self.settings.kafka_cluster_id:
            return self.settings.kafka_cluster_id
        path = self.settings.state_dir / "kafka-cluster-id"
        if not path.exists():
            path.write_text(_cluster_id())
        return path.read_text().strip()

    def _scram_credentials(self) -> list[str]:
        """`--add-scram` arguments: each service's SCRAM user, secured stack only."""
        if not self.settings.stack_secure:
            return []
        arguments = []
        for service in SERVICES:
            password = local_kafka_password_file(self.settings, service).read_text().strip()
            user = local_principal(service)
            arguments += ["--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]"]
        return arguments


def _cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
