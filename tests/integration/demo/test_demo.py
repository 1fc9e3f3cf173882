"""`jamsos demo` (the README's run command) completes and its cross-check passes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from jamsos.dashboards import queries as q
from jamsos.dashboards.macros import expand
from jamsos.dashboards.provisioning import queries_in_files
from jamsos.demo.html_report import ALL_TIME, CHART_IDS
from jamsos.settings import Settings
from jamsos.warehouse.client import make_client
from tests.integration.demo.helpers import (
    ARTEFACTS,
    demo_argv,
    failure_report,
    finish,
    render_in_browser,
)
from tests.integration.warehouse.engines import Http, copied_to_current


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
    _check_pipeline_metrics(out, restarted="restarted" in err.read_text())
    _check_charts(out)
    _check_dashboard_queries(settings, re.search(r"ClickHouse database (\w+)", out)[1])


def _check_pipeline_metrics(out: str, *, restarted: bool) -> None:
    """The workers' and sink's /metrics answered during the run: the workers counted every
    published message at least once (more when read again after a rebalance; unless a
    worker was restarted: it counts from zero again), and the sink landed rows."""
    handled = re.search(r"workers handled: ([\d,]+) \(published: ([\d,]+);", out)
    assert handled, out
    inputs, published = (int(group.replace(",", "")) for group in handled.groups())
    assert inputs > 0
    if not restarted:
        assert inputs >= published
    landed = re.search(r"rows the sink landed: ([\d,]+)", out)
    assert landed
    assert int(landed[1].replace(",", "")) > 0
    assert "did not answer" not in out


def _check_dashboard_queries(settings: Settings, database: str) -> None:
    """Every query of the generated Grafana files runs on the demo's database (18.16, a
    demo-sized register) and on a copy of it on current ClickHouse (chdb), answers with
    the columns it declares and finds rows; both engines give the same rows (but where a
    query reads the clock)."""
    client = make_client(settings, database=database)
    old = Http(settings)
    try:
        variables = q.every_place(client.execute, *ALL_TIME)
        with copied_to_current(client, database) as current:
            for sql in queries_in_files():
                expanded = expand(sql, *ALL_TIME, variables)
                on_old = old.query(expanded + " FORMAT TSVWithNames", database).splitlines()
                on_new = str(current.query(f"USE {database}; {expanded}", "TSVWithNames"))
                header, *rows = on_old
                assert header.split("\t") == list(q.BY_SQL[sql].columns), sql
                assert rows, f"found nothing in the demo's database: {sql}"
                if "now()" not in sql and "today()" not in sql:
                    assert sorted(rows) == sorted(on_new.splitlines()[1:]), sql
    finally:
        client.disconnect()


def _check_charts(out: str) -> None:
    """The HTML report opens in a real browser without errors and draws every chart, the
    gauge showing the run's active members; its screenshot is kept in test-artifacts/."""
    page = Path(re.search(r"Charts \(open in a browser, no network needed\): (\S+)", out)[1])
    active = re.search(r"active ([\d,]+) of [\d,]+ registered", out)[1]
    dom, log = render_in_browser(page, ARTEFACTS / "demo-report.png")
    assert "Uncaught" not in log, log[-2000:]
    for chart in CHART_IDS:
        drawn = re.search(rf'id="{chart}".*?class="main-svg"', dom, re.DOTALL)
        assert drawn, f"chart {chart} was not drawn"
    gauge = dom.split('id="active-vs-target"')[1].split("</section>")[0]
    assert f">{active}<" in gauge, f"the gauge does not show {active} active members"
    assert (ARTEFACTS / "demo-report.png").stat().st_size > 10_000


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
