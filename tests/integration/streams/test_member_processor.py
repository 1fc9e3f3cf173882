"""The member processor over dict tables, with the real registry's serde.

These pin down what the Faust agent relies on: outputs per the rules, re-delivered offsets
skipped, a batch re-run after a crash publishing the same bytes again, and ticks touching
only the members that change.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from jamsos.contracts.errors import ContractError
from jamsos.contracts.serde import AvroSerde
from jamsos.rules.events import event_from_record
from jamsos.rules.replay import replay_state
from streams.agent_processor import AgentProcessor, StoredAgent, is_agent_record
from streams.emission import Emission
from streams.member_processor import MemberProcessor, StoredMember
from streams.member_state import MemberStore, MemoryState
from streams.origin import Origin
from streams.staging import StagedTable
from tests.integration.streams.records import closed, enrolled, paid, reversed_

SECRET = b"test-secret"


class Partition:
    """One member partition: its tables and the offsets of its inbox."""

    def __init__(self, serde: AvroSerde) -> None:
        self.serde = serde
        self.store = MemoryState()
        self.processor = MemberProcessor(serde, self.store, nik_secret=SECRET)
        self.inbox: list[bytes] = []

    @property
    def members(self) -> dict[str, bytes]:
        return self.store.partition(0).members

    def snapshot(self) -> tuple[dict[str, bytes], bytes | None, dict[date, set[str]]]:
        state = self.store.partition(0)
        return dict(state.members), state.clock_value, {d: set(m) for d, m in state.due.items()}

    def feed(self, *items: tuple[str, dict[str, Any]]) -> list[Emission]:
        emissions: list[Emission] = []
        for name, record in items:
            topic = (
                "clock"
                if name == "BusinessDayClosed"
                else ("enrolments" if name == "MemberEnrolled" else "contributions")
            )
            self.inbox.append(self.serde.encode(topic, name, record))
            emissions.extend(self.processor.handle(0, len(self.inbox) - 1, self.inbox[-1]))
        return emissions

    def redeliver(self, offset: int) -> list[Emission]:
        return self.processor.handle(0, offset, self.inbox[offset])


def decoded(serde: AvroSerde, emissions: list[Emission], topic: str) -> list[dict[str, Any]]:
    return [serde.decode(e.value).record for e in emissions if e.topic == topic]


def test_example_1_emits_changes_and_alerts_over_time(serde: AvroSerde) -> None:
    partition = Partition(serde)
    out = partition.feed(
        enrolled("M1", "2019-01-10"),
        paid("M1", "2019-01-12"),
        closed("2019-01-31"),
        closed("2019-02-16"),
        closed("2019-03-16"),
        closed("2019-04-16"),
        closed("2019-05-16"),
    )

    changes = decoded(serde, out, "member-status")
    assert [(c["to_status"], c["arrears_months"], c["as_of"]) for c in changes] == [
        ("NEW", 0, date(2019, 1, 10)),
        ("ACTIVE", 0, date(2019, 1, 12)),
        ("GRACE", 1, date(2019, 2, 16)),
        ("GRACE", 2, date(2019, 3, 16)),
        ("GRACE", 3, date(2019, 4, 16)),
        ("LAPSED", 4, date(2019, 5, 16)),
    ]
    alerts = decoded(serde, out, "lapse-alerts")
    assert [a["alert_type"] for a in alerts] == ["ARREARS_STARTED", "FINAL_WARNING", "LAPSED"]
    assert all(
        c["nik_token"] and "5171012345678901" not in json.dumps(c, default=str) for c in changes
    )


def test_redelivered_offsets_are_skipped_and_change_nothing(serde: AvroSerde) -> None:
    """State is stored only after its outputs are acknowledged: a message at or below what
    the state has applied has had its outputs published already."""
    partition = Partition(serde)
    first = [
        partition.feed(item)
        for item in (enrolled("M1", "2019-01-10"), paid("M1", "2019-01-12"), closed("2019-02-16"))
    ]
    assert all(first)
    state_after = partition.snapshot()

    again = [partition.redeliver(offset) for offset in range(3)]

    assert again == [[], [], []]
    assert partition.snapshot() == state_after


def test_tick_touches_only_the_members_whose_status_changes(serde: AvroSerde) -> None:
    partition = Partition(serde)
    items = []
    for i in range(300):
        items.append(enrolled(f"M{i}", "2019-01-05"))
        # 297 members prepay a year; 3 pay one month and fall behind on 16 Feb.
        items.append(paid(f"M{i}", "2019-01-06", months=1 if i % 100 == 0 else 12))
    partition.feed(*items, closed("2019-01-31"))
    before = dict(partition.members)

    out = partition.feed(closed("2019-02-16"))

    touched = sorted(m for m, value in partition.members.items() if before[m] != value)
    assert touched == ["M0", "M100", "M200"]
    assert {c["member_id"] for c in decoded(serde, out, "member-status")} == set(touched)


def test_payment_before_enrolment_is_held_then_applied(serde: AvroSerde) -> None:
    partition = Partition(serde)
    held = partition.feed(paid("M1", "2019-01-12"))
    out = partition.feed(enrolled("M1", "2019-01-10"), closed("2019-01-31"))
    assert held == []
    [change] = decoded(serde, out, "member-status")
    assert (change["to_status"], change["paid_through"]) == ("ACTIVE", date(2019, 1, 1))


def test_share_updates_feed_agent_tallies_and_reversal_takes_commission_back(
    serde: AvroSerde,
) -> None:
    partition = Partition(serde)
    out = partition.feed(
        enrolled("M1", "2019-01-10", agent="AG-7"),
        paid("M1", "2019-01-12", payment="P1", collector="AG-7"),
        reversed_("M1", "2019-02-03", "P1"),
    )
    agents = AgentProcessor(serde, {})
    tallies = []
    for emission in out:
        if emission.topic == "agent-inbox":
            tallies += decoded(
                serde, agents.handle(emission.key or b"", emission.value), "agent-tallies"
            )

    by_period = {t["period"]: t for t in tallies if t["period"] is not None}
    january, february = by_period[date(2019, 1, 1)], by_period[date(2019, 2, 1)]
    assert january["new_recruits"] == 1
    assert january["contributions_amount"] == 0  # the reversal corrects the payment's period
    assert january["commission_amount"] == 36_800 * 15 // 100
    assert february["commission_amount"] == -(36_800 * 15 // 100)
    assert tallies[-1]["recruits_total"] == 1
    assert [t["version"] for t in tallies] == sorted(t["version"] for t in tallies)


def test_partitions_keep_their_own_clock_and_due_index_in_one_table(serde: AvroSerde) -> None:
    """Faust keeps every partition of a table in one store: names must not collide."""
    processor = MemberProcessor(serde, MemoryState(), nik_secret=SECRET)
    inboxes: dict[int, int] = {0: 0, 1: 0}

    def feed(partition: int, item: tuple[str, dict[str, Any]]) -> list[Emission]:
        name, record = item
        topic = {"BusinessDayClosed": "clock", "MemberEnrolled": "enrolments"}.get(
            name, "contributions"
        )
        offset = inboxes[partition]
        inboxes[partition] += 1
        return processor.handle(partition, offset, serde.encode(topic, name, record))

    for partition, member in ((0, "A"), (1, "B")):
        feed(partition, enrolled(member, "2019-01-10"))
        feed(partition, paid(member, "2019-01-12"))
    out = []
    for day in ("2019-02-16", "2019-03-16"):
        for partition in (0, 1):  # the same tick reaches both partitions, one after the other
            out += feed(partition, closed(day))

    changes = decoded(serde, out, "member-status")
    assert sorted((c["member_id"], c["arrears_months"]) for c in changes) == [
        ("A", 1),
        ("A", 2),
        ("B", 1),
        ("B", 2),
    ]


def test_a_batch_of_many_ticks_rerun_after_a_crash_publishes_every_ticks_outputs_again(
    serde: AvroSerde, tmp_path: Path
) -> None:
    """A crash before a batch's state is stored re-delivers all of it: each of its ticks
    must publish what it published the first time, however many ticks the batch holds."""
    with MemberStore(tmp_path / "state") as store:
        partition = Partition(serde)
        partition.processor.store = store.begin()
        for i in range(12):
            partition.feed(enrolled(f"M{i}", "2019-01-05"), paid(f"M{i}", "2019-01-06", 1 + i % 3))
        asyncio.run(store.commit(partition.processor.store, _acknowledged()))
        ticks = [closed(day) for day in ("2019-02-06", "2019-03-06", "2019-04-06", "2019-05-06")]
        ticks += [closed("2019-06-06"), closed("2019-07-06")]
        first = len(partition.inbox)
        partition.processor.store = store.begin()  # this batch never commits: the crash
        per_tick = [partition.feed(tick) for tick in ticks]
        assert len([out for out in per_tick if out]) > 3

        partition.processor.store = store.begin()
        again = [partition.redeliver(offset) for offset in range(first, len(partition.inbox))]

        assert again == per_tick


def _acknowledged() -> Any:
    offsets = iter(range(1_000_000))

    async def send(record: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(SimpleNamespace(offset=next(offsets)))
        return future

    return send


def test_a_tick_too_far_ahead_is_refused_and_changes_nothing(serde: AvroSerde) -> None:
    """events.md, Bounds: a tick may move the business date at most 31 days; one dated
    years ahead would age every member through every status at once, for good."""
    partition = Partition(serde)
    partition.feed(enrolled("M1", "2019-01-10"), paid("M1", "2019-01-12"), closed("2019-01-31"))
    state_before = partition.snapshot()
    with pytest.raises(ContractError, match="at most 31") as refused:
        partition.feed(closed("2039-01-31"))
    assert refused.value.error_type == "VALIDATION_ERROR"
    assert partition.snapshot() == state_before
    # The clock goes on from where it was: the next day's tick applies as usual.
    out = partition.feed(closed("2019-02-16"))
    assert [c["to_status"] for c in decoded(serde, out, "member-status")] == ["GRACE"]


class Changelog(dict[str, bytes]):
    """A table that also records every write in order, as the changelog topic receives it."""

    def __init__(self, data: dict[str, bytes]) -> None:
        super().__init__(data)
        self.writes: list[tuple[str, bytes]] = []

    def __setitem__(self, key: str, value: bytes) -> None:
        self.writes.append((key, value))
        super().__setitem__(key, value)


def _tally(processor: AgentProcessor, staged: StagedTable, batch: list[Emission]) -> None:
    """One agent-inbox batch as the worker takes it: begin, handle each message, flush."""
    processor.begin_batch()
    for update in batch:
        processor.handle(update.key or b"", update.value)
    staged.flush(0)


def test_a_crash_anywhere_in_an_agent_batch_then_its_redelivery_counts_each_share_once(
    serde: AvroSerde,
) -> None:
    """A kill -9 keeps any prefix of a batch's table writes; the batch is then delivered
    again, to a worker of another run. Whatever the prefix, the agent's figures and its
    members' shares end where they would without a crash."""
    partition = Partition(serde)

    def updates(*items: tuple[str, dict[str, Any]]) -> list[Emission]:
        return [e for e in partition.feed(*items) if e.topic == "agent-inbox"]

    batches = [
        updates(
            enrolled("M1", "2019-01-10", agent="AG-7"),
            enrolled("M2", "2019-01-10", agent="AG-7"),
            paid("M1", "2019-01-12", payment="P1", collector="AG-7"),
        ),
        updates(
            paid("M2", "2019-01-13", payment="P2", collector="AG-7"),
            paid("M1", "2019-02-12", payment="P3", collector="AG-7"),
            enrolled("M3", "2019-02-12", agent="AG-7"),
        ),
        updates(
            paid("M1", "2019-03-12", payment="P4", collector="AG-7"),
            paid("M2", "2019-03-13", months=2, payment="P5", collector="AG-7"),
            paid("M3", "2019-03-14", payment="P6", collector="AG-7"),
        ),
    ]

    def figures(table: dict[str, bytes]) -> tuple[Any, Any, dict[str, bytes]]:
        stored = StoredAgent.loads(table["AG-7"])
        shares = {key: value for key, value in table.items() if not is_agent_record(key)}
        return stored.book.to_dict(), stored.book.totals_to_list(), shares

    reference: dict[str, bytes] = {}
    staged = StagedTable(reference, first=is_agent_record)
    processor = AgentProcessor(serde, staged)
    for batch in batches:
        _tally(processor, staged, batch)
    expected = figures(reference)
    assert expected[1], "the batches moved the agent's totals"

    before: dict[str, bytes] = {}
    staged = StagedTable(before, first=is_agent_record)
    _tally(AgentProcessor(serde, staged), staged, batches[0])
    recorded = Changelog(dict(before))
    staged = StagedTable(recorded, first=is_agent_record)
    _tally(AgentProcessor(serde, staged), staged, batches[1])
    assert recorded.writes[0][0] == "AG-7"  # the agent record before its shares
    assert len(recorded.writes) > 2

    for cut in range(len(recorded.writes) + 1):
        table = dict(before) | dict(recorded.writes[:cut])
        staged = StagedTable(table, first=is_agent_record)
        restarted = AgentProcessor(serde, staged)
        for batch in batches[1:]:  # the cut batch again, then the next
            _tally(restarted, staged, batch)
        assert figures(table) == expected, f"after a crash at write {cut}"

    # The killed worker's disk may hold more of the batch than the changelog; it starts
    # again from its disk, and whoever later reads the changelog must see the same books.
    for on_disk in range(len(recorded.writes) + 1):
        for in_changelog in range(on_disk + 1):
            disk = Changelog(dict(before) | dict(recorded.writes[:on_disk]))
            staged = StagedTable(disk, first=is_agent_record)
            restarted = AgentProcessor(serde, staged)
            for batch in batches[1:]:
                _tally(restarted, staged, batch)
            changelog = dict(before) | dict(recorded.writes[:in_changelog]) | dict(disk.writes)
            assert figures(changelog) == expected, f"disk {on_disk}, changelog {in_changelog}"


def test_held_events_become_dead_letters_of_their_input_message_after_hold_days(
    serde: AvroSerde,
) -> None:
    """A payment of a member nobody enrols and a reversal of a payment that never comes
    wait `hold_days` business days, then leave as dead letters that name the input
    message (topic, partition, offset, key, bytes) so they can be re-published there."""
    partition = Partition(serde)
    partition.feed(closed("2019-01-10"), enrolled("M2", "2019-01-10"))
    orphan = serde.encode("contributions", *paid("M1", "2019-01-12", payment="P-ORPHAN"))
    reversal = serde.encode("contributions", *reversed_("M2", "2019-01-20", "P-NEVER"))
    handle = partition.processor.handle
    assert handle(0, 10, orphan, Origin("in.contributions", 3, 41, b"k1")) == []
    handle(0, 11, reversal, Origin("in.contributions", 1, 7, None))

    quiet = partition.feed(closed("2019-02-01"), closed("2019-02-11"))  # 30 days: still held
    assert decoded(serde, quiet, "dead-letters") == []
    out = partition.feed(closed("2019-02-12"), closed("2019-02-20"), closed("2019-02-21"))

    letters = decoded(serde, out, "dead-letters")
    assert [(d["topic"], d["partition"], d["offset"], d["key"]) for d in letters] == [
        ("in.contributions", 3, 41, b"k1"),
        ("in.contributions", 1, 7, None),
    ]
    assert [d["value"] for d in letters] == [orphan, reversal]
    assert [d["error_type"] for d in letters] == ["UNHELD_EVENT", "UNKNOWN_PAYMENT"]
    assert letters[1]["error"] == (
        "held 30 business days after 2019-01-20 for payment P-NEVER, which has not arrived"
    )
    stored = {m: StoredMember.loads(partition.members[m]) for m in ("M1", "M2")}
    assert all(s.held == {} and not s.ledger.payments for s in stored.values())
    assert not stored["M2"].ledger.reversals


def test_an_event_released_by_its_enrolment_is_forgotten_and_never_dead_lettered(
    serde: AvroSerde,
) -> None:
    partition = Partition(serde)
    partition.feed(closed("2019-01-10"), paid("M1", "2019-01-12"))
    assert StoredMember.loads(partition.members["M1"]).held  # its input message is kept
    partition.feed(enrolled("M1", "2019-01-10"))
    assert StoredMember.loads(partition.members["M1"]).held == {}
    out = partition.feed(closed("2019-02-10"), closed("2019-03-10"))
    assert decoded(serde, out, "dead-letters") == []


def test_the_worker_and_replay_raise_the_same_alerts_and_dead_letters(serde: AvroSerde) -> None:
    """In one arrival order the member processor and `jamsos replay` take the same steps
    (`jamsos.rules.days`): the same alerts on the same days, the same held events expired."""
    items = [closed("2019-01-05")]
    for n in range(40):
        member = f"M{n}"
        items.append(enrolled(member, "2019-01-10"))
        for month in range(n % 5):  # 0 to 4 months paid, one at a time
            items.append(paid(member, f"2019-0{month + 1}-12"))
    items.append(paid("ORPHAN", "2019-01-20"))
    items.append(reversed_("M3", "2019-01-25", "P-NEVER"))
    day = date(2019, 1, 5)
    while day < date(2019, 9, 1):  # weekly ticks, some members paying between them
        day += timedelta(days=7)
        items.append(closed(day.isoformat()))
    partition = Partition(serde)
    out = partition.feed(*items)

    state = replay_state([event_from_record(name, record) for name, record in items])
    live = {
        (a["alert_id"], a["alert_type"], a["as_of"]) for a in decoded(serde, out, "lapse-alerts")
    }
    offline = {(a.alert_id, a.alert_type.value, a.as_of) for a in state.alerts.values()}
    assert live == offline
    assert len(live) > 40
    letters = decoded(serde, out, "dead-letters")
    assert sorted(d["error_type"] for d in letters) == sorted(
        h.error_type for _, h in state.expired
    )
    assert len(letters) == 2
