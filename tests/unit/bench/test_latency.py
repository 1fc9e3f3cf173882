"""The latency benchmark's arithmetic: percentiles, medians over runs, probe records."""

from __future__ import annotations

from datetime import date

import pytest

from jamsos.bench.latency import (
    LatencyFigures,
    LatencyRun,
    percentile,
    probe_record,
    simulation_for,
)
from jamsos.contracts.validation import validate


def test_percentile_interpolates_linearly_between_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0, 5.0]

    assert percentile(values, 0) == 1.0
    assert percentile(values, 50) == 3.0
    assert percentile(values, 100) == 5.0
    assert percentile(values, 95) == pytest.approx(4.8)
    assert percentile([1.0, 2.0], 50) == pytest.approx(1.5)


def test_percentile_matches_numpy_linear_on_a_hundred_values() -> None:
    values = [float(v * v % 97) for v in range(100)]
    ordered = sorted(values)

    # numpy's "linear": position 0.99 * 99 = 98.01 between the two largest values.
    assert percentile(values, 99) == pytest.approx(ordered[98] + 0.01 * (ordered[99] - ordered[98]))


def test_percentile_of_one_value_is_that_value() -> None:
    assert percentile([7.5], 99) == 7.5


@pytest.mark.parametrize(("values", "q"), [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_refuses_what_has_no_answer(values: list[float], q: float) -> None:
    with pytest.raises(ValueError, match=r"percentile|q must"):
        percentile(values, q)


def _run(latencies: list[float], messages: int = 3000) -> LatencyRun:
    return LatencyRun(
        rate=1500,
        seconds=2,
        messages=messages,
        publish_seconds=2.0,
        latencies=latencies,
        startup_seconds=10,
        drain_seconds=0.5,
    )


def test_figures_report_the_median_over_runs_of_each_percentile() -> None:
    runs = [_run([1.0] * 10), _run([3.0] * 10, messages=2000), _run([2.0] * 10)]

    figures = LatencyFigures(1500, runs).as_dict()

    assert figures["p50_ms"] == 2000.0
    assert figures["p99_ms"] == 2000.0
    assert figures["achieved_rate"] == 1500.0
    assert [run["p50_ms"] for run in figures["runs"]] == [1000.0, 3000.0, 2000.0]
    assert figures["runs"][1]["achieved_rate"] == 1000.0


def test_a_run_shows_whether_latency_rose_during_it() -> None:
    run = _run([0.1, 0.1, 0.2, 0.9, 1.0, 1.1]).as_dict()

    assert run["p50_first_half_ms"] == 100.0
    assert run["p50_second_half_ms"] == 1000.0


def test_probes_are_valid_enrolments_under_ids_the_simulator_never_uses() -> None:
    record = probe_record("P000000001", date(2019, 3, 4))

    validate("MemberEnrolled", record)
    assert record["occurred_at"].date() == date(2019, 3, 4)
    assert not record["member_id"].startswith("M")


def test_the_simulation_is_sized_for_the_messages_asked() -> None:
    simulation, messages = simulation_for(rate=100, seconds=20)

    assert messages == 2000
    assert sum(1 for _ in zip(range(messages), simulation.events(), strict=False)) == messages


def test_a_steady_run_has_not_fallen_behind() -> None:
    assert not _run([0.6, 0.4, 0.7, 0.5, 0.6, 0.5]).fell_behind
    assert _run([0.6, 0.4, 0.7, 5.0, 6.0, 7.0]).fell_behind
