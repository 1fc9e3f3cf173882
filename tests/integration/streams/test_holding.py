"""Held events on the real broker: after `hold_days` business days they are dead letters of
their input message, and once the missing enrolment is in, re-publishing them applies them."""

from __future__ import annotations

from pathlib import Path

from jamsos.contracts.catalog import TOPICS
from jamsos.contracts.dead_letter_replay import replay_dead_letters
from jamsos.contracts.publisher import EventPublisher
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from jamsos.topics import ensure_topics
from tests.integration.kafka_helpers import read_topic
from tests.integration.processes import running
from tests.integration.streams.records import closed, enrolled, paid, reversed_
from tests.integration.streams.test_worker import last_status, own_settings, wait_for
from tests.integration.warehouse.helpers import wait_until


def test_an_event_held_too_long_is_dead_lettered_and_applies_once_republished(
    settings: Settings, serde: AvroSerde, tmp_path: Path
) -> None:
    settings = own_settings(settings)
    ensure_topics(settings, list(TOPICS))
    publisher = EventPublisher(settings, serde)
    publisher.send_valid(*closed("2019-01-10"))
    publisher.send_valid(*paid("LATE", "2019-01-12", months=3, payment="P-LATE"))
    publisher.send_valid(*enrolled("M2", "2019-01-10"))
    publisher.send_valid(*reversed_("M2", "2019-01-20", "P-NEVER"))
    publisher.flush()  # a scheduler closes days after the events before them are in
    for day in ("2019-02-10", "2019-02-12", "2019-02-21"):
        publisher.send_valid(*closed(day))
    publisher.flush()
    log = tmp_path / "worker.log"
    with running(settings, "worker", "--name", "w1", log=log) as worker:
        wait_for(settings, "dead-letters", 2, timeout=120)
        letters = sorted(
            (serde.decode(m.value).record for m in read_topic(settings, "dead-letters", 2)),
            key=lambda letter: letter["error_type"],
        )
        assert [(d["error_type"], d["topic"], d["key"]) for d in letters] == [
            ("UNHELD_EVENT", settings.topic("contributions"), b"LATE"),
            ("UNKNOWN_PAYMENT", settings.topic("contributions"), b"M2"),
        ]
        [paid_message] = [
            m for m in read_topic(settings, "contributions", expected=2) if m.key == b"LATE"
        ]
        assert (letters[0]["partition"], letters[0]["offset"]) == (
            paid_message.partition,
            paid_message.offset,
        )
        assert letters[0]["value"] == paid_message.value
        assert "enrolment of member LATE" in letters[0]["error"]

        # The enrolment arrives at last; the payment, re-published, now applies.
        publisher.send_valid(*enrolled("LATE", "2019-01-10"))
        publisher.close()
        wait_until(lambda: "LATE" in last_status(serde, settings), 60, "LATE's status", worker)
        assert last_status(serde, settings)["LATE"]["to_status"] == "NEW"
        replayed = replay_dead_letters(
            settings, group="holding-test", error_types={"UNHELD_EVENT"}, idle_timeout=2
        )
        assert replayed.republished == 1
        wait_until(
            lambda: last_status(serde, settings)["LATE"]["to_status"] == "ACTIVE",
            60,
            "the re-published payment to apply",
            worker,
        )
    assert last_status(serde, settings)["LATE"]["paid_through"].isoformat() == "2019-03-01"
