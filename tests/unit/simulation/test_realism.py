"""The stream looks like the agency's feeds: its mix, its flaws and its clock."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from jamsos.simulation import InvalidEvent, Item, RawMessage, SimulatedEvent, SimulationSummary

from .conftest import MID_SIZE


def _valid(items: list[Item]) -> list[SimulatedEvent]:
    return [item for item in items if isinstance(item, SimulatedEvent)]


def _enrolments(items: list[Item]) -> dict[str, dict]:
    first: dict[str, dict] = {}
    for item in _valid(items):
        if item.record_name == "MemberEnrolled":
            first.setdefault(item.record["member_id"], item.record)
    return first


def test_one_close_per_day_in_order_and_the_last_message_closes_the_period(
    mid_run: tuple[list[Item], SimulationSummary],
) -> None:
    items, _ = mid_run
    closes = [
        e.record["business_date"] for e in _valid(items) if e.record_name == "BusinessDayClosed"
    ]
    start = MID_SIZE.start
    days = (date(2019, 7, 1) - start).days
    assert closes == [start + timedelta(days=n) for n in range(days)]
    last = items[-1]
    assert isinstance(last, SimulatedEvent)
    assert last.record_name == "BusinessDayClosed"


def test_events_mostly_arrive_before_their_day_is_closed(
    mid_run: tuple[list[Item], SimulationSummary],
) -> None:
    items, _ = mid_run
    closed: date | None = None
    late = total = 0
    for item in _valid(items):
        if item.record_name == "BusinessDayClosed":
            closed = item.record["business_date"]
            continue
        total += 1
        if closed is not None and item.record["occurred_at"].date() <= closed:
            late += 1
    assert 0 < late / total < 0.06  # only delayed events and re-published duplicates


def test_every_flaw_of_a_real_feed_occurs_at_roughly_its_share(
    mid_run: tuple[list[Item], SimulationSummary],
) -> None:
    items, summary = mid_run
    valid = _valid(items)
    ids = Counter(e.record["event_id"] for e in valid)
    duplicates = sum(count - 1 for count in ids.values())
    assert duplicates == summary.duplicates
    assert 0.005 < duplicates / len(valid) < 0.02

    broken = sum(isinstance(item, InvalidEvent | RawMessage) for item in items)
    assert broken == summary.invalid_total
    assert 0.002 < broken / len(items) < 0.01

    latest_seen: dict[str, object] = {}
    out_of_order = 0
    for event in valid:
        member = event.record.get("member_id")
        if member is None:
            continue
        at = event.record["occurred_at"]
        if member in latest_seen and at < latest_seen[member]:  # type: ignore[operator]
            out_of_order += 1
        latest_seen[member] = max(at, latest_seen.get(member, at))  # type: ignore[type-var]
    assert 0.005 < out_of_order / len(valid) < 0.05

    enrolled: set[str] = set()
    paid_before_enrolment: set[str] = set()
    for event in valid:
        member = event.record.get("member_id")
        if event.record_name == "MemberEnrolled":
            enrolled.add(member)
        elif event.record_name == "ContributionPaid" and member not in enrolled:
            paid_before_enrolment.add(member)
    assert 0.005 < len(paid_before_enrolment) / MID_SIZE.members < 0.05


def test_reversals_name_earlier_payments_and_terminations_occur(
    mid_run: tuple[list[Item], SimulationSummary],
) -> None:
    items, summary = mid_run
    valid = _valid(items)
    payments = {
        e.record["payment_id"]: e.record for e in valid if e.record_name == "ContributionPaid"
    }
    reversals = [e.record for e in valid if e.record_name == "ContributionReversed"]
    assert {r["reason"] for r in reversals} == {"DUPLICATE", "BANK_REVERSAL", "CORRECTION"}
    for reversal in reversals:
        paid = payments[reversal["payment_id"]]
        assert paid["member_id"] == reversal["member_id"]
        assert paid["occurred_at"] < reversal["occurred_at"]
    terminations = [e.record for e in valid if e.record_name == "MembershipTerminated"]
    assert 0.01 < len(terminations) / MID_SIZE.members < 0.06
    assert len({t["reason"] for t in terminations}) >= 4
    assert summary.by_type["AgentRegistered"] >= MID_SIZE.agents


def test_members_have_the_agencys_mix(mid_run: tuple[list[Item], SimulationSummary]) -> None:
    items, _ = mid_run
    enrolments = _enrolments(items)
    assert len(enrolments) == MID_SIZE.members
    segments = Counter(e["segment"] for e in enrolments.values())
    assert 0.75 < segments["BPU"] / MID_SIZE.members < 0.85
    assert 0.10 < segments["PU"] / MID_SIZE.members < 0.20
    assert segments["JAKON"]
    assert segments["PMI"]
    for enrolment in enrolments.values():
        assert {"JKK", "JKM"} <= set(enrolment["programmes"])
        assert (enrolment["channel"] == "agent") == (enrolment["agent_id"] is not None)
        if enrolment["segment"] == "PU":
            assert enrolment["employer_id"]
    programmes = Counter(p for e in enrolments.values() for p in e["programmes"])
    assert programmes["JHT"]
    assert programmes["JP"]
    assert len({e["region_code"] for e in enrolments.values()}) >= 10


def test_payments_are_whole_months_at_the_members_rate(
    mid_run: tuple[list[Item], SimulationSummary],
) -> None:
    items, _ = mid_run
    enrolments = _enrolments(items)
    rates: dict[str, int] = {}
    channels: Counter[str] = Counter()
    for event in _valid(items):
        if event.record_name != "ContributionPaid":
            continue
        paid = event.record
        channels[paid["channel"]] += 1
        assert 1 <= paid["months"] <= 12
        assert paid["amount"] % paid["months"] == 0
        rate = rates.setdefault(paid["member_id"], paid["amount"] // paid["months"])
        assert paid["amount"] == rate * paid["months"]
        assert (paid["channel"] == "agent") == (paid["collecting_agent_id"] is not None)
        if enrolments[paid["member_id"]]["segment"] == "PU":
            assert paid["channel"] == "employer"
    assert set(channels) == {"bank", "ewallet", "agent", "minimarket", "employer", "autodebit"}
    flat = Counter(rates.values())
    assert flat[16_800]
    assert flat[36_800]


def test_busy_agents_reach_the_bonus_threshold(
    mid_run: tuple[list[Item], SimulationSummary],
) -> None:
    items, _ = mid_run
    recruits: Counter[tuple[str, int, int]] = Counter()
    for enrolment in _enrolments(items).values():
        if enrolment["agent_id"]:
            at = enrolment["occurred_at"]
            recruits[(enrolment["agent_id"], at.year, at.month)] += 1
    assert max(recruits.values()) >= 25
