"""`jamsos bench rules`: what its summary says about the rounds."""

from __future__ import annotations

from jamsos.bench.rules import StepRound, summary


def test_the_summary_compares_the_best_round_of_each_mode() -> None:
    rounds = [
        StepRound("python", False, 100, 130.0),
        StepRound("compiled", True, 100, 95.0),
        StepRound("compiled", True, 100, 90.0),
        StepRound("python", False, 100, 120.0),
    ]
    figures = summary(rounds)
    assert figures["python_us_per_event"] == 120.0
    assert figures["compiled_us_per_event"] == 90.0
    assert figures["speedup"] == 1.33
    assert figures["compiled_ran"] is True


def test_a_compiled_round_that_ran_python_is_reported() -> None:
    rounds = [StepRound("python", False, 10, 1.0), StepRound("compiled", False, 10, 1.0)]
    assert summary(rounds)["compiled_ran"] is False
