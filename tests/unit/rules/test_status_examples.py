"""The worked examples of ``status.md`` (test vectors), through the worker path and replay."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from jamsos.rules.events import Event, MemberEvent
from jamsos.rules.replay import replay

from .builders import day, enrolled, ledger_of, month, paid, reversed_, state_on, terminated


def example_1() -> list[MemberEvent]:
    return [enrolled("2019-01-10"), paid("2019-01-12")]


def example_6() -> list[MemberEvent]:
    return [*example_1(), paid("2019-03-01", months=2)]


def example_7() -> list[MemberEvent]:
    return [*example_1(), paid("2019-07-03")]


def example_8() -> list[MemberEvent]:
    return [enrolled("2019-01-10", segment="PU"), paid("2019-02-10")]


def example_10() -> list[MemberEvent]:
    return [enrolled("2019-01-10")]


def example_12() -> list[MemberEvent]:
    return [enrolled("2019-01-10"), paid("2019-01-12", months=12)]


def example_14() -> list[MemberEvent]:
    second = paid("2019-02-10")
    return [*example_1(), second, reversed_(second, "2019-02-20")]


def example_15() -> list[MemberEvent]:
    return [*example_1(), terminated("2019-06-30", on="2019-06-20")]


def example_16() -> list[MemberEvent]:
    enrol, payment = example_1()
    return [enrol, payment, payment]


def example_17() -> list[MemberEvent]:
    enrol, payment = example_1()
    return [payment, enrol]


EXAMPLES: list[tuple[int, Callable[[], list[MemberEvent]], str, str, str | None, int]] = [
    (1, example_1, "2019-01-31", "ACTIVE", "2019-01", 0),
    (2, example_1, "2019-02-15", "ACTIVE", "2019-01", 0),
    (3, example_1, "2019-02-16", "GRACE", "2019-01", 1),
    (4, example_1, "2019-05-15", "GRACE", "2019-01", 3),
    (5, example_1, "2019-05-16", "LAPSED", "2019-01", 4),
    (6, example_6, "2019-03-20", "ACTIVE", "2019-03", 0),
    (7, example_7, "2019-07-20", "ACTIVE", "2019-07", 0),
    (8, example_8, "2019-02-16", "ACTIVE", "2019-01", 0),
    (9, example_8, "2019-03-16", "GRACE", "2019-01", 1),
    (10, example_10, "2019-04-15", "NEW", None, 3),
    (11, example_10, "2019-04-16", "LAPSED", None, 4),
    (12, example_12, "2019-12-31", "ACTIVE", "2019-12", 0),
    (13, example_12, "2020-01-16", "GRACE", "2019-12", 1),
    (14, example_14, "2019-02-20", "GRACE", "2019-01", 1),
    (15, example_15, "2019-07-01", "EXITED", "2019-01", 0),
    (16, example_16, "2019-01-31", "ACTIVE", "2019-01", 0),
    (17, example_17, "2019-01-31", "ACTIVE", "2019-01", 0),
]


@pytest.mark.parametrize(
    ("number", "events", "on", "status", "paid_through", "arrears"),
    EXAMPLES,
    ids=[f"example-{row[0]}" for row in EXAMPLES],
)
def test_worked_example(
    number: int,
    events: Callable[[], list[MemberEvent]],
    on: str,
    status: str,
    paid_through: str | None,
    arrears: int,
) -> None:
    state = state_on(ledger_of(events()), on)
    assert (state.status, state.paid_through, state.arrears_months) == (
        status,
        month(paid_through),
        arrears,
    ), f"example {number}"


@pytest.mark.parametrize(
    ("number", "events", "on", "status", "paid_through", "arrears"),
    EXAMPLES,
    ids=[f"example-{row[0]}" for row in EXAMPLES],
)
def test_worked_example_through_replay(
    number: int,
    events: Callable[[], list[MemberEvent]],
    on: str,
    status: str,
    paid_through: str | None,
    arrears: int,
) -> None:
    inputs: list[Event] = list(events())
    lines = [line for line in replay(inputs, as_of=day(on)) if line["kind"] == "member"]
    assert lines == [
        {
            "kind": "member",
            "member_id": "M1",
            "status": status,
            "paid_through": paid_through,
            "arrears_months": arrears,
        }
    ], f"example {number}"
