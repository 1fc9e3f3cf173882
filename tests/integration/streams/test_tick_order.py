"""A business-day tick applies after the member events that reached Kafka before it, however
far behind the worker is on member events (`status.md`, arrival order of ticks)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from jamsos.contracts.catalog import TOPICS
from jamsos.contracts.publisher import EventPublisher
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from jamsos.topics import ensure_topics
from tests.integration.kafka_helpers import read_topic, topic_size
from tests.integration.processes import running
from tests.integration.streams.records import closed, enrolled, paid
from tests.integration.streams.test_worker import last_status, own_settings
from tests.integration.warehouse.helpers import wait_until

MEMBERS = 1500


def test_a_tick_never_overtakes_the_payments_published_before_it(
    settings: Settings, serde: AvroSerde, tmp_path: Path
) -> None:
    """Everything is published before the worker starts, so it starts with a backlog of
    3,000 member events while the clock holds three ticks. Each member enrols on
    2019-01-10 and pays January on 2019-01-12; then 2019-02-09 and 2019-02-16 close
    (worked example 3).
    In publishing order every member goes NEW → ACTIVE → GRACE(1), or ACTIVE → GRACE(1)
    when its payment was appended before its enrolment (two topics, each appended in its
    own batches); a tick that overtook the member's events would show NEW with 2 months of
    arrears, or no GRACE at all."""
    settings = own_settings(settings)
    ensure_topics(settings, list(TOPICS))
    publisher = EventPublisher(settings, serde)
    publisher.send_valid(*closed("2019-01-09"))
    for n in range(MEMBERS):
        member = f"M-{n:05d}"
        publisher.send_valid(*enrolled(member, "2019-01-10"))
        publisher.send_valid(*paid(member, "2019-01-12"))
    publisher.flush()  # a scheduler closes a day after the day's events are in
    publisher.send_valid(*closed("2019-02-09"))  # changes nobody
    publisher.send_valid(*closed("2019-02-16"))
    publisher.close()

    with running(settings, "worker", "--name", "w1", log=tmp_path / "worker.log") as worker:
        wait_until(lambda: all_in_grace(serde, settings), 240, "every member in GRACE", worker)

    paths: dict[str, list[tuple[str, int]]] = defaultdict(list)
    size = topic_size(settings, "member-status")
    for message in read_topic(settings, "member-status", expected=size):
        record = serde.decode(message.value).record
        paths[record["member_id"]].append((record["to_status"], record["arrears_months"]))
    in_order = ([("NEW", 0), ("ACTIVE", 0), ("GRACE", 1)], [("ACTIVE", 0), ("GRACE", 1)])
    overtaken = {m: path for m, path in paths.items() if path not in in_order}
    assert len(paths) == MEMBERS
    assert not overtaken, f"{len(overtaken)} members saw a tick too early: {overtaken}"


def all_in_grace(serde: AvroSerde, settings: Settings) -> bool:
    latest = last_status(serde, settings)
    return len(latest) == MEMBERS and all(
        (s["to_status"], s["arrears_months"]) == ("GRACE", 1) for s in latest.values()
    )
