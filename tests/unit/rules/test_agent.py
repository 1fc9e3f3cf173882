"""Agent tallies and commission, with the expected figures worked out by hand."""

from __future__ import annotations

import json

import pytest

from jamsos.rules.agent import (
    AgentBook,
    AgentShare,
    BookChange,
    PeriodFigures,
    PeriodShare,
    Recruit,
    commission,
    member_agent_shares,
    month_rate,
    share_updates,
)
from jamsos.rules.events import AgentEvent, Event
from jamsos.rules.member import Status
from jamsos.rules.replay import ReplayState, replay_state

from .builders import (
    agent_status,
    day,
    enrolled,
    ledger_of,
    month,
    paid,
    registered,
    reversed_,
    terminated,
)


def books(events: list[Event], as_of: str = "2021-06-30") -> ReplayState:
    return replay_state(events, as_of=day(as_of))


def period(state: ReplayState, agent: str, label: str) -> PeriodFigures:
    return state.books[agent].period_figures(month(label))  # type: ignore[arg-type]


def test_month_rates() -> None:
    assert [month_rate(n) for n in (1, 24, 25, 60, 61)] == [1500, 1500, 500, 500, 0]


def test_commission_is_floored_over_mixed_rates() -> None:
    # months 23, 24, 25: 1500 + 1500 + 500 = 3500 bp;
    # 10,001 * 3,500 / (3 * 10,000) = 35,003,500 / 30,000 = 1,166.78 -> 1,166
    assert commission(10_001, 23, 3) == 1166


def test_months_24_and_25_inside_one_payment() -> None:
    state = books(
        [
            enrolled("2019-01-10"),
            # months 1-12 at 15 %: 201,600 * 18,000 / 120,000 = 30,240
            paid("2019-01-12", months=12, amount=201_600),
            # months 13-23 at 15 %: 184,800 * 16,500 / 110,000 = 27,720
            paid("2020-01-10", months=11, amount=184_800),
            # months 24 (15 %) and 25 (5 %): 33,600 * 2,000 / 20,000 = 3,360
            paid("2020-12-10", months=2, amount=33_600),
        ]
    )
    assert period(state, "A1", "2019-01").commission_amount == 30_240
    assert period(state, "A1", "2020-01").commission_amount == 27_720
    assert period(state, "A1", "2020-12").commission_amount == 3_360
    assert period(state, "A1", "2020-12").payout_amount == 3_360


def test_months_60_and_61_inside_one_payment() -> None:
    events: list[Event] = [enrolled("2019-01-10")]
    # 12 + 12 + 12 + 12 + 11 = 59 months before the payment under test
    for year, months in ((2019, 12), (2020, 12), (2021, 12), (2022, 12), (2023, 11)):
        events.append(paid(f"{year}-01-12", months=months))
    # months 60 (5 %) and 61 (0 %): 33,600 * 500 / 20,000 = 840
    events.append(paid("2023-12-12", months=2, amount=33_600))
    # month 62 earns nothing
    events.append(paid("2024-01-12", months=1, amount=16_800))
    state = books(events, as_of="2024-01-31")
    assert period(state, "A1", "2023-12").commission_amount == 840
    assert period(state, "A1", "2024-01").commission_amount == 0


def test_bonus_needs_25_new_recruits_in_the_period() -> None:
    def recruits(count: int, with_jht: int) -> ReplayState:
        return books(
            [enrolled("2019-01-10", member=f"M{i:02d}", jht=i < with_jht) for i in range(count)],
            as_of="2019-01-31",
        )

    # 24 recruits: no bonus
    just_short = period(recruits(24, 24), "A1", "2019-01")
    assert (just_short.new_recruits, just_short.bonus_amount) == (24, 0)
    # 25 recruits, 10 with JHT: 10 * 15,000 + 15 * 10,000 = 300,000
    enough = period(recruits(25, 10), "A1", "2019-01")
    assert (enough.new_recruits, enough.bonus_amount, enough.payout_amount) == (
        25,
        300_000,
        300_000,
    )


def test_reversal_across_a_period_boundary() -> None:
    payment = paid("2019-01-12", amount=16_800, collector="A2")
    state = books(
        [enrolled("2019-01-10"), payment, reversed_(payment, "2019-02-03")], as_of="2019-02-10"
    )
    # earned 16,800 * 1,500 / 10,000 = 2,520 in January, taken back in February
    assert period(state, "A1", "2019-01").commission_amount == 2_520
    assert period(state, "A1", "2019-02").commission_amount == -2_520
    # the collector's figures are corrected in the payment's own period
    assert state.books["A2"].periods() == []
    assert state.books["A2"].current_figures().last_activity_on is None


def test_payment_after_exit_earns_no_commission_but_counts_as_collected() -> None:
    state = books(
        [
            enrolled("2019-01-10"),
            paid("2019-01-12", amount=16_800),  # 2,520
            terminated("2019-03-31", on="2019-03-20"),
            paid("2019-04-02", amount=16_800, collector="A2"),
        ],
        as_of="2019-04-30",
    )
    assert period(state, "A1", "2019-01").commission_amount == 2_520
    assert period(state, "A1", "2019-04").commission_amount == 0
    collected = period(state, "A2", "2019-04")
    assert (collected.contributions_amount, collected.contribution_months) == (16_800, 1)
    figures = state.books["A1"].current_figures()
    assert (figures.recruits_total, figures.recruits_exited) == (1, 1)
    assert state.books["A2"].current_figures().last_activity_on == day("2019-04-02")


@pytest.mark.parametrize("late_last", [True, False])
def test_late_earlier_payment_renumbers_later_ones(late_last: bool) -> None:
    regular: list[Event] = [
        enrolled("2019-01-10"),
        paid("2019-01-12", months=12, amount=201_600),  # months 1-12: 30,240
        paid("2020-01-10", months=11, amount=184_800),  # 13-23, then 14-24: 27,720 both
        paid("2020-12-10", months=2, amount=33_600),  # 24-25: 3,360, then 25-26: 1,680
    ]
    late = paid("2019-06-01", months=1, amount=16_800)  # month 13: 2,520
    before = books(list(regular))
    assert period(before, "A1", "2020-12").commission_amount == 3_360
    after = books([*regular, late] if late_last else [late, *regular])
    assert period(after, "A1", "2019-06").commission_amount == 2_520
    assert period(after, "A1", "2020-01").commission_amount == 27_720
    # 33,600 * (500 + 500) / 20,000 = 1,680
    assert period(after, "A1", "2020-12").commission_amount == 1_680


def test_recruit_status_and_activity() -> None:
    state = books(
        [
            registered("A1"),
            enrolled("2019-01-10", member="M1"),
            paid("2019-01-12", member="M1"),
            enrolled("2019-02-10", member="M2"),
            enrolled("2019-03-10", member="M3", agent="A2"),
            paid("2019-03-12", member="M3", collector="A1"),
        ],
        as_of="2019-03-20",
    )
    figures = state.books["A1"].current_figures()
    # M1 paid January only: on 03-20 February and March are overdue (GRACE, 2);
    # M2 never paid: NEW
    assert (figures.recruits_total, figures.recruits_grace, figures.recruits_new) == (2, 1, 1)
    assert figures.last_activity_on == day("2019-03-12")
    assert period(state, "A1", "2019-03").contributions_amount == 16_800
    assert period(state, "A1", "2019-03").new_recruits == 0


def test_unenrolled_member_contributes_nothing() -> None:
    ledger = ledger_of([paid("2019-01-12", collector="A2")])
    assert member_agent_shares(ledger, day("2019-01-31")) == {}


# --------------------------------------------------------------------------- the book


def _share(status: Status = Status.ACTIVE, amount: int = 100) -> AgentShare:
    return AgentShare(
        recruit=Recruit(status, month("2019-01"), True),  # type: ignore[arg-type]
        periods=((month("2019-01"), PeriodShare(amount, 1, 15)),),  # type: ignore[arg-type]
        last_activity_on=day("2019-01-10"),
    )


def test_replacing_a_share_by_an_equal_one_changes_nothing() -> None:
    book = AgentBook("A1")
    first = book.set_share("M1", _share())
    assert first.changed
    assert first.current
    assert first.periods == {month("2019-01")}
    assert book.set_share("M1", _share()) == BookChange()
    changed = book.set_share("M1", _share(Status.GRACE))
    assert changed.current
    assert book.current_figures().recruits_grace == 1
    assert book.current_figures().recruits_active == 0


def test_removing_the_last_share_empties_the_book() -> None:
    book = AgentBook("A1")
    book.set_share("M1", _share())
    book.set_share("M2", _share(amount=50))
    assert book.period_figures(month("2019-01")).contributions_amount == 150  # type: ignore[arg-type]
    book.set_share("M1", None)
    book.set_share("M2", AgentShare())
    assert book.periods() == []
    assert book.current_figures().recruits_total == 0
    assert book.current_figures().last_activity_on is None
    assert book.shares == {}


def test_share_updates_lists_only_changed_agents() -> None:
    same = _share()
    assert share_updates({"A1": same, "A2": same}, {"A1": same, "A3": same}) == {
        "A2": None,
        "A3": same,
    }


@pytest.mark.parametrize("reverse", [False, True])
def test_registration_and_status_take_the_latest_fact(reverse: bool) -> None:
    events: list[AgentEvent] = [
        registered("A1", "2018-06-01"),
        agent_status("A1", "DEACTIVATED", "2019-01-01"),
    ]
    book = AgentBook("A1")
    for event in reversed(events) if reverse else events:
        assert book.apply_event(event)
    assert (book.status, book.branch_code, book.region_code) == ("DEACTIVATED", "DPS01", "51")
    assert not book.apply_event(events[0])


def test_book_round_trips_through_json() -> None:
    state = books(
        [
            registered("A1"),
            enrolled("2019-01-10"),
            paid("2019-01-12", collector="A1"),
            agent_status("A1", "TERMINATED", "2019-02-01"),
        ]
    )
    book = state.books["A1"]
    restored = AgentBook.from_dict(json.loads(json.dumps(book.to_dict())))
    assert restored == book
    assert restored.current_figures() == book.current_figures()
    assert [restored.period_figures(p) for p in restored.periods()] == [
        book.period_figures(p) for p in book.periods()
    ]
