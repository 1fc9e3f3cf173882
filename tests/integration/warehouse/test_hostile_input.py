"""Hostile input through the whole pipeline: every message ends as rows or as a dead letter.

Each hostile message is followed by a valid enrolment of a canary member. With one worker
and one sink running, every canary must land in ClickHouse (nothing after a bad message is
held up or dropped), every hostile message must be a dead letter with a readable reason or
be processed as the contract says, the personal data the hostile messages carry must not
appear in any ClickHouse table, and neither process may exit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from clickhouse_driver import Client

from jamsos.contracts.catalog import TOPICS, topic_for
from jamsos.contracts.publisher import EventPublisher
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from jamsos.topics import ensure_topics
from streams.member_loop import member_partition
from tests.integration.processes import start, stop
from tests.integration.streams.records import closed, enrolled, paid
from tests.integration.warehouse.helpers import wait_until
from tests.unit.contracts.samples import sample

NIK = "3299887766554433"
NAME = "Canary Hostile Fullname"
PHONE = "+6289988776655"
"""Personal data the hostile enrolments carry; none of it may reach ClickHouse in clear."""


@dataclass
class Item:
    """One hostile message: where it went, and whether the contract processes it."""

    what: str
    topic: str
    position: tuple[int, int] | None = None
    lands: tuple[str, str, str] | None = None
    """For a message the contract accepts: (table, column, value) of the row it lands as."""


def personal(record: dict[str, Any]) -> dict[str, Any]:
    return {**record, "nik": NIK, "full_name": NAME, "phone": PHONE}


def _key_on(partition: int, partitions: int, stem: str) -> bytes:
    """A key the producers' partitioner puts on `partition`."""
    return next(
        f"{stem}-{i}".encode()
        for i in range(10_000)
        if member_partition(f"{stem}-{i}", partitions) == partition
    )


def hostile_items(serde: AvroSerde, partitions: int) -> list[tuple[Item, bytes | None, bytes]]:
    """(item, key, value) for every message of the hostile list (issue acceptance), for
    input topics of `partitions` partitions."""
    items: list[tuple[Item, bytes | None, bytes]] = []

    def encoded(name: str, record: dict[str, Any], topic: str | None = None) -> bytes:
        return serde.encode(topic or topic_for(name), name, record)

    def add(what: str, topic: str, value: bytes, key: bytes | None = b"H", **kw: Any) -> None:
        items.append((Item(what, topic, **kw), key, value))

    enrolment = personal(enrolled("H-ENR", "2019-01-10")[1])
    body = encoded("MemberEnrolled", enrolment)
    add("non-Avro bytes", "enrolments", b"\xde\xad\xbe\xef this is not avro")
    add("JSON bytes", "contributions", b'{"type": "ContributionPaid", "member_id": "X"}')
    add("an empty value", "enrolments", b"")
    add("an unregistered schema id", "contributions", b"\x00" + (987_654).to_bytes(4, "big") + b"x")
    add("a valid id with half a body", "enrolments", body[: len(body) // 2])
    add("an enrolment sent to contributions", "contributions", body)
    add("an enrolment sent to clock", "clock", body, key=None)

    def payment(what: str, **changes: Any) -> None:
        """A payment of a member never enrolled: only its own fault may reject it."""
        record = paid("H-PAY", "2019-01-12")[1]
        add(what, "contributions", encoded("ContributionPaid", {**record, **changes}))

    payment("amount -1", amount=-1)
    payment("months 0", months=0)
    payment("months 13", months=13)
    agent = sample("AgentRegistered", agent_id="bad agent!", full_name=NAME)
    add("an invalid agent registration with a name", "agents", encoded("AgentRegistered", agent))
    keyed = personal(enrolled("H-KEYED", "2019-01-10")[1])
    add(
        "a key that differs from member_id, on the member's partition",
        "enrolments",
        encoded("MemberEnrolled", keyed),
        key=_key_on(member_partition("H-KEYED", partitions), partitions, "SAME-PARTITION"),
        lands=("members", "member_id", "H-KEYED"),
    )
    elsewhere = personal(enrolled("H-ELSEWHERE", "2019-01-10")[1])
    other = (member_partition("H-ELSEWHERE", partitions) + 1) % partitions
    add(  # a MISROUTED dead letter: applied there, it would split the member's state
        "a key that puts a member event on another partition",
        "enrolments",
        encoded("MemberEnrolled", elsewhere),
        key=_key_on(other, partitions, "OTHER-PARTITION"),
    )
    # Valid by the contract (a payment is not checked against the tariff): it lands.
    cheap = paid("H-PAY", "2019-01-12", months=12, payment="P-CHEAP")[1] | {"amount": 1}
    add(
        "months 12 with amount 1",
        "contributions",
        encoded("ContributionPaid", cheap),
        lands=("contributions", "payment_id", "P-CHEAP"),
    )
    long_id = personal(enrolled("M" * 10_000, "2019-01-10")[1])
    add("a 10 kB member_id", "enrolments", encoded("MemberEnrolled", long_id))
    for label, bad in (("NUL", "A\x00B"), ("newline", "A\nB"), ("emoji", "A\U0001f600B")):
        record = personal(enrolled(bad, "2019-01-10")[1])
        add(f"a member_id with {label}", "enrolments", encoded("MemberEnrolled", record))
    big = personal(enrolled("H-BIG", "2019-01-10")[1]) | {"full_name": NAME + "x" * 900_000}
    add("a 900 kB full_name", "enrolments", encoded("MemberEnrolled", big))
    huge = personal(enrolled("H-HUGE", "2019-01-10")[1])
    huge["full_name"] = NAME + "y" * (1_010_000 - len(encoded("MemberEnrolled", huge)))
    add("a 1,010,000-byte message", "enrolments", encoded("MemberEnrolled", huge))
    payment("a payment dated 1969-12-31", occurred_at=datetime(1969, 12, 31, 10, tzinfo=UTC))
    payment("a payment dated 2200-01-10", occurred_at=datetime(2200, 1, 10, 10, tzinfo=UTC))
    far = personal(enrolled("H-9999", "2019-01-10")[1])
    far["occurred_at"] = datetime(9999, 6, 1, tzinfo=UTC)
    add("an event in 9999", "enrolments", encoded("MemberEnrolled", far))
    for day in (date(2100, 12, 31), date(9999, 12, 31)):
        tick = closed("2019-01-31")[1] | {"business_date": day, "event_id": f"tick-{day}"}
        add(f"a tick for {day}", "clock", encoded("BusinessDayClosed", tick), key=None)
    for n in range(2):
        record = paid("H-MAX", "2019-01-12", collector="AG-MAX")[1]
        record |= {"amount": 2**63 - 1, "payment_id": f"P-MAX-{n}"}
        add(f"amount 2^63-1 (#{n + 1})", "contributions", encoded("ContributionPaid", record))
    share = sample("AgentRegistered", agent_id="share:X:Y")
    add("agent id share:X:Y", "agents", encoded("AgentRegistered", share))
    return items


def test_hostile_input_ends_as_dead_letters_canaries_land_and_nothing_personal_leaks(
    warehouse: tuple[Settings, Client], serde: AvroSerde, tmp_path: Path
) -> None:
    settings, client = warehouse
    db = settings.clickhouse_database
    ensure_topics(settings, list(TOPICS))
    publisher = EventPublisher(settings, serde)
    items = hostile_items(serde, settings.kafka_partitions)
    canaries = []
    sent = []
    for n, (item, key, value) in enumerate(items):
        sent.append((item, publisher.send_raw(item.topic, key, value)))
        canary = f"CANARY-{n:02d}"
        canaries.append(canary)
        publisher.send_valid(*enrolled(canary, "2019-01-10"))
    publisher.flush()
    for item, future in sent:
        metadata = future.get(timeout=30)
        item.position = (metadata.partition, metadata.offset)
    publisher.close()

    worker = start(settings, "worker", "--name", "w1", log=tmp_path / "worker.log")
    sink = start(settings, "sink", log=tmp_path / "sink.log")
    try:
        expected = {("members", "member_id", canary) for canary in canaries}
        expected |= {item.lands for item, _, _ in items if item.lands is not None}

        def missing_rows() -> set[tuple[str, str, str]]:
            return {
                row
                for row in expected
                if client.execute(
                    f"SELECT count() FROM {db}.{row[0]} WHERE {row[1]} = %(v)s", {"v": row[2]}
                )
                == [(0,)]
            }

        wait_until(lambda: not missing_rows(), 300, "the canaries", worker, sink)
        assert missing_rows() == set(), "canaries or valid messages that never landed"
        rejected = [item for item, _, _ in items if item.lands is None]

        def letters() -> dict[tuple[str, int, int], tuple[str, str]]:
            rows = client.execute(
                f"SELECT topic, `partition`, `offset`, error_type, error FROM {db}.dead_letters"
            )
            return {(t, p, o): (kind, why) for t, p, o, kind, why in rows}

        def positions(item: Item) -> tuple[str, int, int]:
            assert item.position is not None
            return (settings.topic(item.topic), *item.position)

        wait_until(
            lambda: all(positions(item) in letters() for item in rejected),
            120,
            "a dead letter of every rejected item",
            worker,
            sink,
        )
        found = letters()
        missing = [item.what for item in rejected if positions(item) not in found]
        assert missing == [], f"neither processed nor a dead letter in ClickHouse: {missing}"
        assert worker.poll() is None, "the worker exited"
        assert sink.poll() is None, "the sink exited"
    finally:
        stop(worker)
        stop(sink)

    landed = letters()
    for item in rejected:
        kind, why = landed[positions(item)]
        assert kind, f"{item.what}: no error type"
        assert len(why) > 10, f"{item.what}: no readable reason ({why!r})"
    columns = client.execute(
        "SELECT table, name, type FROM system.columns WHERE database = %(db)s",
        {"db": db},
    )
    searched = 0
    for table, name, kind in columns:
        if "String" not in kind:
            continue
        for secret in (NIK, NAME, PHONE):
            hits = client.execute(
                f"SELECT count() FROM {db}.{table} "
                f"WHERE position(ifNull(toString(`{name}`), ''), %(s)s) > 0",
                {"s": secret},
            )
            assert hits == [(0,)], f"{table}.{name} holds {secret!r} in clear"
        searched += 1
    assert searched > 20
