"""Apicurio Registry: the Confluent-compatible schema registry of the local stack.

Apicurio publishes a runnable build (`apicurio-registry-app:<v>:zip:all`, a Quarkus runner
jar plus its `lib/`) on Maven Central; Confluent's own registry is not on Maven Central.
Its H2 database is kept in a file under the stack's state folder (Apicurio's default is an
in-memory one): schema ids must survive a registry restart, or every message already in
Kafka would carry an id the registry no longer knows and become undecodable.
Secured (`JAMSOS_STACK_SECURE`), it serves HTTPS only, with the stack's certificate, and
asks every request for HTTP basic auth (Quarkus's embedded user store, shipped in the
runner: one user, `jamsos`, with the stack's random password).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import ssl
import urllib.error
import urllib.request
import zipfile
from typing import Any

from jamsos.connect import local_ca_file, registry_auth, registry_url
from jamsos.settings import Settings
from jamsos.stack.artifacts import require_tool, run_maven
from jamsos.stack.process import ManagedProcess, StackError
from jamsos.stack.tls import local_tls

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
            *self._secure_flags(),
            "-jar",
            str(self.runner),
        ]

    def _secure_flags(self) -> list[str]:
        """TLS on the registry's port and basic auth on every path, secured stack only."""
        if not self.settings.stack_secure:
            return []
        tls = local_tls(self.settings)
        auth = registry_auth(self.settings)
        assert auth is not None, "the secured stack's registry password was not made"
        # The user and password go in a properties file readable by this user only
        # (Quarkus reads it through `quarkus.config.locations`), not on the command line.
        secrets = self.home / "auth.properties"
        secrets.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(
                "quarkus.security.users.embedded.enabled=true\n"
                "quarkus.security.users.embedded.plain-text=true\n"
                f"quarkus.security.users.embedded.users.{auth[0]}={auth[1]}\n"
                f"quarkus.security.users.embedded.roles.{auth[0]}=sr-admin\n"
            )
        return [
            f"-Dquarkus.http.ssl-port={self.settings.registry_port}",
            "-Dquarkus.http.port=0",
            "-Dquarkus.http.insecure-requests=disabled",
            f"-Dquarkus.http.ssl.certificate.files={tls.server_cert}",
            f"-Dquarkus.http.ssl.certificate.key-files={tls.server_key}",
            "-Dquarkus.http.auth.basic=true",
            f"-Dquarkus.config.locations={secrets}",
            "-Dquarkus.http.auth.permission.everything.paths=/*",
            "-Dquarkus.http.auth.permission.everything.policy=authenticated",
        ]

    def ready(self) -> bool:
        """Ready when the Confluent API answers `/subjects`."""
        try:
            with self._open(urllib.request.Request(f"{self.base_url}/subjects")) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _open(self, request: urllib.request.Request) -> Any:
        """`urlopen` with the stack's CA and basic auth when secured."""
        context = None
        if self.settings.stack_secure:
            context = ssl.create_default_context(cafile=str(local_ca_file(self.settings)))
            auth = registry_auth(self.settings)
            if auth is not None:
                token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
                request.add_header("Authorization", f"Basic {token}")
        return urllib.request.urlopen(request, timeout=5, context=context)

    def configure(self) -> None:
        """Once ready: require FULL compatibility of every subject."""
        self._set_global_compatibility("FULL")

    @property
    def base_url(self) -> str:
        return registry_url(self.settings).rstrip("/")

    def _set_global_compatibility(self, level: str) -> None:
        """Apicurio defaults to NONE; the contract wants backward *and* forward compatibility."""
        request = urllib.request.Request(
            f"{self.base_url}/config",
            data=json.dumps({"compatibility": level}).encode(),
            headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
            method="PUT",
        )
        with self._open(request):
            pass
