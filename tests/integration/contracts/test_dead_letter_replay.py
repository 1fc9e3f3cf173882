"""`jamsos dead-letters replay` puts the original bytes back on their topic, once each."""

from __future__ import annotations

from jamsos.contracts.dead_letter_replay import replay_dead_letters
from jamsos.contracts.publisher import EventPublisher
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from jamsos.topics import ensure_topics
from tests.integration.kafka_helpers import read_topic, topic_size
from tests.unit.contracts.samples import sample


def test_dead_letters_are_republished_to_their_topic_once(
    settings: Settings, serde: AvroSerde
) -> None:
    ensure_topics(settings, ["dead-letters", "enrolments"])
    original = serde.encode("enrolments", "MemberEnrolled", sample("MemberEnrolled"))
    publisher = EventPublisher(settings, serde)
    try:
        for offset, error_type in enumerate(["UNKNOWN_SCHEMA", "VALIDATION_ERROR"]):
            letter = {
                "topic": settings.topic("enrolments"),
                "partition": 0,
                "offset": offset,
                "key": b"M-0001",
                "value": original,
                "error_type": error_type,
                "error": "test",
                "failed_at": sample("ContributionPaid")["occurred_at"],
                "dead_letter_id": f"{settings.topic('enrolments')}:0:{offset}",
            }
            publisher.send_valid("DeadLetter", letter)
        publisher.flush()
    finally:
        publisher.close()

    first = replay_dead_letters(
        settings, group="replay-test", error_types={"UNKNOWN_SCHEMA"}, idle_timeout=2
    )
    again = replay_dead_letters(
        settings, group="replay-test", error_types={"UNKNOWN_SCHEMA"}, idle_timeout=2
    )

    assert (first.republished, first.skipped) == (1, 1)
    assert again.republished == 0  # the group remembers what was already re-published
    assert topic_size(settings, "enrolments") == 1
    [message] = read_topic(settings, "enrolments", expected=1)
    assert message.value == original
    assert message.key == b"M-0001"
    assert serde.decode(message.value, "enrolments").record == sample("MemberEnrolled")


def test_a_replay_writes_only_to_input_topics_and_sends_inbox_letters_to_their_input(
    settings: Settings, serde: AvroSerde
) -> None:
    """A poison message from the member inbox of an earlier worker goes back to
    `enrolments`; letters naming an output or another deployment's topic stay put."""
    from jamsos.topics import RETIRED_MEMBER_INBOX as MEMBER_INBOX

    own = settings.model_copy(update={"topic_prefix": f"{settings.topic_prefix}replay2."})
    ensure_topics(own, ["dead-letters", "enrolments", "member-status", MEMBER_INBOX])
    original = serde.encode("enrolments", "MemberEnrolled", sample("MemberEnrolled"))
    named = [own.topic(MEMBER_INBOX), own.topic("member-status"), "elsewhere.enrolments"]
    publisher = EventPublisher(own, serde)
    try:
        for offset, topic in enumerate(named):
            publisher.send_valid(
                "DeadLetter",
                {
                    "topic": topic,
                    "partition": 0,
                    "offset": offset,
                    "key": b"M-0001",
                    "value": original,
                    "error_type": "PROCESSING_ERROR",
                    "error": "test",
                    "failed_at": sample("ContributionPaid")["occurred_at"],
                    "dead_letter_id": f"{topic}:0:{offset}",
                },
            )
        publisher.flush()
    finally:
        publisher.close()

    result = replay_dead_letters(own, group="replay-inputs-only", idle_timeout=2)

    assert (result.republished, result.refused) == (1, 2)
    assert topic_size(own, "enrolments") == 1
    assert topic_size(own, "member-status") == 0
    assert read_topic(own, "enrolments", expected=1)[0].value == original
