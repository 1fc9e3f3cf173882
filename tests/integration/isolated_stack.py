"""A local stack of its own for a test module: its own state folder and ports, the jars
and packages of the shared stack's cache, stopped (by pid, only what it started) at the
end. The secured stack and the Kafka cluster tests run beside the shared plain stack."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jamsos.settings import Settings
from jamsos.stack.local import LocalStack


def settings_of(env: dict[str, str]) -> Settings:
    """The settings a process started with environment `env` reads."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        return Settings.load()
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def isolated_stack(state: Path, overrides: dict[str, str]) -> Iterator[dict[str, str]]:
    """Bring up a stack in `state` with the `JAMSOS_*` `overrides`; yields the environment
    of a process that uses it (the caller's, without its own `JAMSOS_*` variables)."""
    cache = Settings.load().state_dir / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (state / "cache").symlink_to(cache)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("JAMSOS_")},
        **overrides,
        "JAMSOS_STATE_DIR": str(state),
    }
    stack = LocalStack(settings_of(env))
    try:
        stack.up()
        yield env
    finally:
        stack.down()
