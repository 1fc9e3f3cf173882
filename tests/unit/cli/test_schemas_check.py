"""`jamsos schemas check` against a release tag catches a breaking change."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner

from jamsos.cli import cli
from jamsos.settings import PROJECT_ROOT


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _released_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(PROJECT_ROOT / "schemas", repo / "schemas")
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", "schemas")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "release")
    _git(repo, "tag", "schemas/v1")
    return repo


def _edit(repo: Path, name: str, change: object) -> None:
    path = repo / "schemas" / f"{name}.avsc"
    schema = json.loads(path.read_text())
    change(schema)  # type: ignore[operator]
    path.write_text(json.dumps(schema, indent=2))


def test_unchanged_schemas_pass(tmp_path: Path) -> None:
    repo = _released_repo(tmp_path)
    result = CliRunner().invoke(cli, ["schemas", "check", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    assert "compatible with schemas/v1" in result.output


def test_new_optional_field_with_default_passes(tmp_path: Path) -> None:
    repo = _released_repo(tmp_path)
    _edit(
        repo,
        "ContributionPaid",
        lambda s: s["fields"].append(
            {"name": "receipt_no", "type": ["null", "string"], "default": None, "doc": "x"}
        ),
    )
    result = CliRunner().invoke(cli, ["schemas", "check", "--repo", str(repo)])
    assert result.exit_code == 0, result.output


def test_new_required_field_fails(tmp_path: Path) -> None:
    repo = _released_repo(tmp_path)
    _edit(
        repo,
        "ContributionPaid",
        lambda s: s["fields"].append({"name": "receipt_no", "type": "string", "doc": "x"}),
    )
    result = CliRunner().invoke(cli, ["schemas", "check", "--repo", str(repo)])
    assert result.exit_code != 0
    assert "ContributionPaid" in result.output
    assert "receipt_no" in result.output
