"""The Faust worker on the real broker: inputs in, statuses, alerts, tallies, dead letters out."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from jamsos.contracts.catalog import TOPICS
from jamsos.contracts.publisher import EventPublisher
from jamsos.contracts.serde import AvroSerde
from jamsos.rules.events import event_from_record
from jamsos.rules.replay import replay
from jamsos.settings import Settings
from jamsos.topics import APP_NAME, ensure_topics
from tests.integration.kafka_helpers import read_topic, topic_size
from tests.integration.processes import running
from tests.integration.streams.records import closed, enrolled, paid, reversed_


def own_settings(settings: Settings) -> Settings:
    """A prefix of this test's own, so its worker starts from empty topics and state."""
    return settings.model_copy(
        update={"topic_prefix": f"{settings.topic_prefix}{uuid.uuid4().hex[:6]}."}
    )


def wait_for(settings: Settings, topic: str, count: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while topic_size(settings, topic) < count and time.monotonic() < deadline:
        time.sleep(0.5)
    assert topic_size(settings, topic) >= count, f"{topic}: fewer than {count} messages"


def last_status(serde: AvroSerde, settings: Settings) -> dict[str, Any]:
    """The latest MemberStatusChanged per member on the topic so far."""
    latest: dict[str, Any] = {}
    size = topic_size(settings, "member-status")
    for message in read_topic(settings, "member-status", expected=size):
        record = serde.decode(message.value).record
        latest[record["member_id"]] = record
    return latest


def wait_for_statuses(
    serde: AvroSerde, settings: Settings, expected: dict[str, Any], timeout: float = 90
) -> dict[str, Any]:
    """Poll the member-status topic until every member's latest status is the expected one."""
    wanted = {m: (line["status"], line["arrears_months"]) for m, line in expected.items()}
    deadline = time.monotonic() + timeout
    while True:
        statuses = last_status(serde, settings)
        seen = {m: (s["to_status"], s["arrears_months"]) for m, s in statuses.items()}
        if seen == wanted or time.monotonic() > deadline:
            assert seen == wanted
            return statuses
        time.sleep(0.5)


def expected_members(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    lines = replay([event_from_record(name, record) for name, record in events])
    return {line["member_id"]: line for line in lines if line["kind"] == "member"}


def test_worker_turns_input_events_into_statuses_alerts_tallies_and_dead_letters(
    settings: Settings,
    serde: AvroSerde,
    tmp_path: Path,
) -> None:
    settings = own_settings(settings)
    ensure_topics(settings, list(TOPICS))
    member_events = [
        enrolled("A", "2019-01-10", agent="AG-1"),
        paid("A", "2019-01-12", collector="AG-1"),
        paid("B", "2019-01-12", months=3),  # before B's enrolment
        enrolled("B", "2019-01-11", agent="AG-1"),
        enrolled("C", "2019-01-11", agent=None),
        paid("C", "2019-01-13", payment="PC"),
        reversed_("C", "2019-01-20", "PC"),
    ]
    ticks = [closed("2019-01-31"), closed("2019-02-16"), closed("2019-03-16")]
    ticks += [closed("2019-04-16"), closed("2019-05-16")]
    publisher = EventPublisher(settings, serde)
    for name, record in member_events:
        publisher.send_valid(name, record)
    publisher.send_valid("ContributionPaid", paid("A", "2019-01-14", months=0)[1])  # invalid
    header = b"\x00" + serde.schema_id("contributions", "ContributionPaid").to_bytes(4, "big")
    publisher.send_raw("contributions", b"A", header + b"garbage")  # corrupt body
    publisher.send_raw("enrolments", b"A", b"not avro at all")  # wrong magic byte
    publisher.flush()

    with running(settings, "worker", "--name", "w1", log=tmp_path / "worker.log"):
        wait_for_statuses(serde, settings, expected_members(member_events))
        for name, record in ticks:  # the business days close after the events arrived
            publisher.send_valid(name, record)
        publisher.close()
        wait_for_statuses(serde, settings, expected_members(member_events + ticks))
        wait_for(settings, "dead-letters", 3)
        wait_for(settings, "lapse-alerts", 6)

    letters = [serde.decode(m.value).record for m in read_topic(settings, "dead-letters", 3)]
    assert sorted(letter["error_type"] for letter in letters) == [
        "DECODE_ERROR",
        "DECODE_ERROR",
        "VALIDATION_ERROR",
    ]
    assert all(letter["value"] for letter in letters)
    assert topic_size(settings, "dead-letters") == 3  # no tick refused: the clock keeps order
    alerts = [serde.decode(m.value).record for m in read_topic(settings, "lapse-alerts", 6)]
    assert sorted((a["member_id"], a["alert_type"]) for a in alerts) == [
        ("A", "ARREARS_STARTED"),
        ("A", "FINAL_WARNING"),
        ("A", "LAPSED"),
        ("B", "ARREARS_STARTED"),
        ("C", "FINAL_WARNING"),
        ("C", "LAPSED"),
    ]
    assert topic_size(settings, "lapse-alerts") == 6
    tallies = [
        serde.decode(m.value).record
        for m in read_topic(settings, "agent-tallies", topic_size(settings, "agent-tallies"))
    ]
    latest = max((t for t in tallies if t["agent_id"] == "AG-1"), key=lambda t: t["version"])
    assert (latest["recruits_total"], latest["recruits_lapsed"], latest["recruits_grace"]) == (
        2,
        1,
        1,
    )


def test_two_workers_share_the_partitions_and_agree_with_replay(
    settings: Settings,
    serde: AvroSerde,
    tmp_path: Path,
) -> None:
    from kafka import KafkaAdminClient

    settings = own_settings(settings)
    ensure_topics(settings, list(TOPICS))
    events = []
    for i in range(200):
        events += [
            enrolled(f"M{i}", "2019-01-05", agent=f"AG-{i % 7}"),
            paid(f"M{i}", "2019-01-06", months=1 + i % 4, collector=f"AG-{i % 7}"),
        ]
    events += [closed("2019-03-16"), closed("2019-04-16")]
    with (
        running(settings, "worker", "--name", "a", log=tmp_path / "a.log"),
        running(settings, "worker", "--name", "b", log=tmp_path / "b.log"),
    ):
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        group = settings.topic(APP_NAME)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            described = admin.describe_groups([group])[group]
            if described["group_state"] == "Stable" and len(described["members"]) == 2:
                break
            time.sleep(0.5)
        admin.close()
        assert len(described["members"]) == 2
        publisher = EventPublisher(settings, serde)
        for name, record in events[:-2]:
            publisher.send_valid(name, record)
        publisher.flush()
        # A rebalance right after the group looked stable, with Faust restoring tables on a
        # loaded machine, has taken over 90 s; the wait still ends in an exact comparison.
        wait_for_statuses(serde, settings, expected_members(events[:-2]), timeout=300)
        for name, record in events[-2:]:
            publisher.send_valid(name, record)
        publisher.close()
        wait_for_statuses(serde, settings, expected_members(events), timeout=300)
