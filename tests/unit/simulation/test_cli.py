"""`jamsos simulate` writes the JSON form without Kafka and reports what it made."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from jamsos.cli.simulate import simulate


def test_no_publish_writes_the_file_and_prints_the_summary(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    args = ["--members", "200", "--agents", "3", "--months", "1", "--start", "2019-06-01"]
    result = CliRunner().invoke(simulate, [*args, "--no-publish", "--jsonl", str(path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["members"] == 200
    assert summary["by_type"]["BusinessDayClosed"] == 30
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == summary["total"] - sum(summary["garbage"].values())
    assert "messages" in result.stderr


def test_bad_start_date_is_a_usage_error() -> None:
    result = CliRunner().invoke(simulate, ["--no-publish", "--start", "2019-13-01"])
    assert result.exit_code == 2
