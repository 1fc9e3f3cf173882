"""A secured local stack of its own (`JAMSOS_STACK_SECURE`): SASL_SSL with SCRAM and ACLs,
TLS ClickHouse, an HTTPS registry with basic auth — on ports and a state folder apart from
the plain stack the other tests share, so both run side by side. Its jars and packages come
from the plain stack's cache; it is stopped (by pid, only what it started) at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jamsos.settings import Settings
from tests.integration.isolated_stack import isolated_stack, settings_of

SECURED_PORTS = {
    "JAMSOS_KAFKA_BOOTSTRAP": "127.0.0.1:19192",
    "JAMSOS_KAFKA_CONTROLLER_PORT": "19193",
    "JAMSOS_KAFKA_INTERNAL_PORT": "19194",
    "JAMSOS_CLICKHOUSE_PORT": "19100",
    "JAMSOS_CLICKHOUSE_HTTP_PORT": "18223",
    "JAMSOS_REGISTRY_URL": "http://127.0.0.1:18181/apis/ccompat/v7",
}


@pytest.fixture(scope="session")
def secured_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of a process using the secured stack (no secret in it: each process
    finds its own service's password in the stack's folder)."""
    overrides = {**SECURED_PORTS, "JAMSOS_STACK_SECURE": "true"}
    with isolated_stack(tmp_path_factory.mktemp("secured-stack"), overrides) as env:
        yield env


@pytest.fixture(scope="session")
def secured(secured_env: dict[str, str]) -> Settings:
    """Settings of the secured stack, as its processes read them."""
    return settings_of(secured_env)


def secrets_of(settings: Settings) -> dict[str, str]:
    """Every secret the secured stack made, by file name."""
    folder = Path(settings.state_dir) / "secrets"
    return {path.name: path.read_text().strip() for path in folder.iterdir() if path.is_file()}
