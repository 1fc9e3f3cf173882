"""A secured local stack of its own (`JAMSOS_STACK_SECURE`): SASL_SSL with SCRAM and ACLs,
TLS ClickHouse, an HTTPS registry with basic auth — on ports and a state folder apart from
the plain stack the other tests share, so both run side by side. Its jars and packages come
from the plain stack's cache; it is stopped (by pid, only what it started) at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from jamsos.settings import Settings
from jamsos.stack.local import LocalStack

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
    plain = Settings.load()
    state = tmp_path_factory.mktemp("secured-stack")
    cache = plain.state_dir / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (state / "cache").symlink_to(cache)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JAMSOS_")},
        **SECURED_PORTS,
        "JAMSOS_STACK_SECURE": "true",
        "JAMSOS_STATE_DIR": str(state),
    }
    stack = LocalStack(_settings(env))
    try:
        stack.up()
        yield env
    finally:
        stack.down()


def _settings(env: dict[str, str]) -> Settings:
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return Settings.load()
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def secured(secured_env: dict[str, str]) -> Settings:
    """Settings of the secured stack, as its processes read them."""
    return _settings(secured_env)


def secrets_of(settings: Settings) -> dict[str, str]:
    """Every secret the secured stack made, by file name."""
    folder = Path(settings.state_dir) / "secrets"
    return {path.name: path.read_text().strip() for path in folder.iterdir() if path.is_file()}
