"""Apicurio Registry: the Confluent-compatible schema registry of the local stack.

Apicurio publishes a runnable build (`apicurio-registry-app:<v>:zip:all`, a Quarkus runner
jar plus its `lib/`) on Maven Central; Confluent's own registry is not on Maven Central.
Its H2 database is kept in a file under the stack's state folder (Apicurio's default is an
in-memory one): schema ids must survive a registry restart, or every message already in
Kafka would carry an id the registry no longer knows and become undecodable.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
import zipfile

from jamsos.settings import Settings
from jamsos.stack.artifacts import require_tool, run_maven
from jamsos.stack.process import ManagedProcess, StackError

log = logging.getLogger(__name__)

APICURIO_VERSION = "3.0.9"
COMPAT_PATH = "/apis/ccompat/v7"


class SchemaRegistryServer:
    """The local registry: artifact, command line, readiness probe and compatibility level."""

    name = "schema-registry"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.home = settings.state_dir / "registry"
        self.dist = settings.state_dir / "cache" / f"apicurio-registry-{APICURIO_VERSION}"
        self.runner = self.dist / f"apicurio-registry-app-{APICURIO_VERSION}-runner.jar"
        self.process = ManagedProcess(
            name="schema-registry",
            pid_file=self.home / "registry.pid",
            log_file=self.home / "logs" / "stdout.log",
            marker=f"-Djamsos.state={self.home}",
        )

    def ports(self) -> list[int]:
        return [self.settings.registry_port]

    def prepare(self) -> None:
        require_tool("java", "to run the schema registry", "install a Java 17+ runtime")
        if self.runner.exists():
            return
        download = self.settings.state_dir / "cache" / "downloads"
        run_maven(
            [
                "dependency:copy",
                f"-Dartifact=io.apicurio:apicurio-registry-app:{APICURIO_VERSION}:zip:all",
                f"-DoutputDirectory={download}",
            ],
            self.settings.state_dir / "cache" / "mvn-registry.log",
            f"Apicurio Registry {APICURIO_VERSION}",
        )
        archive = download / f"apicurio-registry-app-{APICURIO_VERSION}-all.zip"
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(self.dist)
        archive.unlink()
        if not self.runner.exists():
            raise StackError(f"unpacked Apicurio Registry but {self.runner} is missing")

    def argv(self) -> list[str]:
        java = require_tool("java", "to run the schema registry", "install a Java 17+ runtime")
        return [
            java,
            "-Xmx384m",
            "-XX:+UseSerialGC",
            f"-Djamsos.state={self.home}",
            f"-Dapicurio.datasource.url=jdbc:h2:file:{self.home / 'data' / 'registry'}",
            f"-Dquarkus.http.port={self.settings.registry_port}",
            "-Dquarkus.http.host=127.0.0.1",
            "-Dquarkus.log.level=WARN",
            "-jar",
            str(self.runner),
        ]

    def ready(self) -> bool:
        """Ready when the Confluent API answers `/subjects`."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/subjects", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def configure(self) -> None:
        """Once ready: require FULL compatibility of every subject."""
        self._set_global_compatibility("FULL")

    @property
    def base_url(self) -> str:
        return self.settings.registry_url.rstrip("/")

    def _set_global_compatibility(self, level: str) -> None:
        """Apicurio defaults to NONE; the contract wants backward *and* forward compatibility."""
        request = urllib.request.Request(
            f"{self.base_url}/config",
            data=json.dumps({"compatibility": level}).encode(),
            headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
            method="PUT",
        )
        with urllib.request.urlopen(request, timeout=5):
            pass
