"""The NIK key: configured, or the local stack's own random one; never a constant."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from jamsos.settings import Settings
from jamsos.stack.local import make_local_nik_secret


def local(tmp_path: Path, **changes: object) -> Settings:
    return Settings(state_dir=tmp_path, kafka_bootstrap="127.0.0.1:19092", **changes)


def test_the_local_stack_makes_a_random_key_readable_by_its_user_only(tmp_path: Path) -> None:
    first, second = local(tmp_path / "a"), local(tmp_path / "b")
    for settings in (first, second):
        make_local_nik_secret(settings)
    assert first.nik_key() != second.nik_key()
    assert len(first.nik_key()) == 64
    mode = stat.S_IMODE(first.local_nik_secret_file.stat().st_mode)
    assert mode == 0o600
    key = first.nik_key()
    make_local_nik_secret(first)  # a second `stack up` keeps the key
    assert first.nik_key() == key


def test_without_a_local_key_or_a_configured_one_there_is_no_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="run `jamsos stack up` or set it"):
        local(tmp_path).nik_key()
    remote = Settings(state_dir=tmp_path, kafka_bootstrap="kafka.example:9093")
    make_local_nik_secret(remote)
    with pytest.raises(ValueError, match="JAMSOS_NIK_SECRET is required outside the local"):
        remote.nik_key()


def test_a_configured_key_wins(tmp_path: Path) -> None:
    make_local_nik_secret(local(tmp_path))
    assert local(tmp_path, nik_secret=SecretStr("from-vault")).nik_key() == b"from-vault"
