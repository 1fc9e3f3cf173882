"""`jamsos demo` (the README's run command) completes and its cross-check passes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jamsos.settings import Settings
from tests.integration.demo.helpers import demo_argv, failure_report, finish


def test_demo_runs_end_to_end_and_clickhouse_agrees_with_replay(
    settings: Settings, tmp_path: Path
) -> None:
    err = tmp_path / "demo.err"
    with err.open("w") as stderr:
        demo = subprocess.Popen(
            demo_argv(400, 3, 7, "--seed", "5", "--stall-timeout", "300"),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        out = finish(demo, err.read_text, timeout=600)
    assert demo.returncode == 0, failure_report(err.read_text())
    assert "400 members, 7 agents" in out
    assert "all equal" in out
    assert "== Dead letters by reason ==" in out


@pytest.mark.timeout(3000)
def test_demo_at_the_readme_default_size_agrees_with_replay(settings: Settings) -> None:
    """The README's run command exactly as a newcomer types it (100 k members, a year).

    No fixed limit on the run itself beyond the suite's guard: the demo waits as long as the
    pipeline makes progress, and fails by itself, in one line, when it stalls."""
    result = subprocess.run(
        [sys.executable, "-m", "jamsos", "demo"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, failure_report(result.stderr)
    assert "100,000 members" in result.stdout
    assert "all equal" in result.stdout
