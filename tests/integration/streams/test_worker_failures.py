"""The worker on the real broker when one message cannot be applied, and at a cold start."""

from __future__ import annotations

from pathlib import Path

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType

from jamsos.contracts.catalog import TOPICS
from jamsos.contracts.publisher import EventPublisher
from jamsos.contracts.serde import AvroSerde
from jamsos.exits import EXIT_AGENT_FAILED
from jamsos.settings import Settings
from jamsos.topics import MEMBER_GROUP, MEMBER_STATE, STATE_TOPICS, ensure_topics
from streams.member_loop import member_partition
from streams.member_state import BATCH_HEADER, COMMIT_KEY
from streams.topics import INBOXES
from tests.integration.kafka_helpers import read_topic, topic_size
from tests.integration.processes import running, start, stop
from tests.integration.streams.records import enrolled, paid
from tests.integration.streams.test_worker import (
    expected_members,
    own_settings,
    wait_for,
    wait_for_statuses,
)


def test_a_poison_message_is_quarantined_and_the_rest_of_its_batch_goes_on(
    settings: Settings, serde: AvroSerde, tmp_path: Path
) -> None:
    """Batch [c, poison, d] in one member partition: c and d are applied, the poison (an
    event of a member whose stored state is corrupt) goes to dead-letters as
    PROCESSING_ERROR with its position, and the worker keeps running."""
    settings = own_settings(settings)
    ensure_topics(settings, [*TOPICS, *INBOXES])
    ensure_topics(settings, [MEMBER_STATE], compacted=True)
    n = settings.kafka_partitions
    c, p, d = (_member_on(0, n, stem) for stem in ("C", "P", "D"))
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    batch = [(BATCH_HEADER, b"corrupt-batch")]
    state = settings.topic(MEMBER_STATE)
    corrupt = b"1----------{not json"
    producer.send(state, key=b"m:" + p.encode(), value=corrupt, partition=0, headers=batch)
    producer.send(state, key=COMMIT_KEY, value=b"", partition=0, headers=batch)
    producer.flush()
    producer.close()
    before = [enrolled(c, "2019-01-10"), paid(c, "2019-01-11")]
    poison = enrolled(p, "2019-01-10")
    after = [enrolled(d, "2019-01-10"), paid(d, "2019-01-12", months=2)]
    publisher = EventPublisher(settings, serde)
    for name, record in [*before, poison, *after]:
        publisher.send_valid(name, record).get(timeout=30)
    publisher.close()

    with running(settings, "worker", "--name", "q", log=tmp_path / "worker.log") as worker:
        wait_for_statuses(serde, settings, expected_members(before + after))
        wait_for(settings, "dead-letters", 1)
        assert worker.poll() is None, "the worker stopped on a poison message"

    (letter,) = [serde.decode(m.value).record for m in read_topic(settings, "dead-letters", 1)]
    assert letter["error_type"] == "PROCESSING_ERROR"
    assert (letter["topic"], letter["partition"], letter["offset"]) == (
        settings.topic("enrolments"),
        0,
        1,
    )
    assert serde.decode(letter["value"]).record["member_id"] == p
    assert letter["error"].startswith("JSONDecodeError at ")
    assert "quarantined" in (tmp_path / "worker.log").read_text()


def _member_on(partition: int, partitions: int, stem: str) -> str:
    """A member id the producers' partitioner puts on `partition`."""
    return next(
        f"{stem}{i}"
        for i in range(10_000)
        if member_partition(f"{stem}{i}", partitions) == partition
    )


def test_the_worker_creates_its_state_topics_compacted_before_faust_starts(
    settings: Settings, serde: AvroSerde, tmp_path: Path
) -> None:
    """Two workers starting together on a fresh prefix: the state topics (its own and the
    agent table's changelog) exist, compacted, with the inputs' partition count, and
    neither worker logs a table failure (a changelog seen half-created made every table
    write fail for minutes: PartitionsMismatch). The clock has one partition, so its
    unkeyed ticks keep their order."""
    settings = own_settings(settings)
    events = [enrolled(f"N{i}", "2019-01-05", agent=f"AG-{i % 3}") for i in range(40)]
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with (
        running(settings, "worker", "--name", "a", log=logs[0]),
        running(settings, "worker", "--name", "b", log=logs[1]),
    ):
        publisher = EventPublisher(settings, serde)
        for name, record in events:
            publisher.send_valid(name, record)
        publisher.close()
        wait_for_statuses(serde, settings, expected_members(events))
        wait_for(settings, "agent-tallies", 3)

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        names = [settings.topic(name) for name in STATE_TOPICS]
        described = {t["name"]: t for t in admin.describe_topics(names)}
        assert {name: len(described[name]["partitions"]) for name in names} == dict.fromkeys(
            names, settings.kafka_partitions
        )
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        configs = admin.describe_configs(resources)["topic"]
        policies = {name: configs[name]["cleanup.policy"]["value"] for name in names}
        assert policies == dict.fromkeys(names, "compact")
        (clock,) = admin.describe_topics([settings.topic("clock")])
        assert len(clock["partitions"]) == 1
    finally:
        admin.close()
    for log in logs:
        text = log.read_text()
        assert "PartitionsMismatch" not in text, log
        assert "Crashed" not in text, log


def test_an_oversized_input_is_a_dead_letter_and_the_worker_goes_on(
    settings: Settings, serde: AvroSerde, tmp_path: Path
) -> None:
    """A 1,010,000-byte enrolment (a long `full_name`) fits the broker's limit but no
    event of the contract: it is refused on admission with its bytes kept whole, and the
    next enrolment is applied (once, the send of a copy of it failed and the worker
    stopped processing)."""
    settings = own_settings(settings)
    ensure_topics(settings, list(TOPICS))
    name, record = enrolled("BIG", "2019-01-10")
    huge = serde.encode("enrolments", name, {**record, "full_name": "A" * 1_010_000})
    after = [enrolled("SMALL", "2019-01-11")]
    publisher = EventPublisher(settings, serde)
    publisher.send_raw("enrolments", b"BIG", huge).get(timeout=30)
    for name, record in after:
        publisher.send_valid(name, record)
    publisher.close()

    with running(settings, "worker", "--name", "o", log=tmp_path / "worker.log") as worker:
        wait_for_statuses(serde, settings, expected_members(after))
        wait_for(settings, "dead-letters", 1)
        assert worker.poll() is None

    (letter,) = [serde.decode(m.value).record for m in read_topic(settings, "dead-letters", 1)]
    assert letter["error_type"] == "VALIDATION_ERROR"
    assert "1,010," in letter["error"]
    assert letter["value"] == huge


def _set_max_message_bytes(settings: Settings, topic: str, size: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        resource = ConfigResource(
            ConfigResourceType.TOPIC, settings.topic(topic), {"max.message.bytes": str(size)}
        )
        admin.alter_configs([resource])
    finally:
        admin.close()


def _committed(settings: Settings, topic: str) -> int:
    """Sum of the member group's committed offsets on `topic` (0 where none)."""
    from kafka import TopicPartition

    group, name = settings.topic(MEMBER_GROUP), settings.topic(topic)
    partitions = [TopicPartition(name, p) for p in range(settings.kafka_partitions)]
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        offsets = admin.list_group_offsets({group: partitions})[group]
    finally:
        admin.close()
    return sum(max(meta.offset, 0) for meta in offsets.values())


def test_a_refused_output_stops_the_worker_before_its_batch_is_committed(
    settings: Settings, serde: AvroSerde, tmp_path: Path
) -> None:
    """Kafka refuses the batch's status changes (the topic takes 100-byte messages only):
    the send's failure is seen, the worker exits with its own status, the member inputs'
    offsets stay where they were, and once Kafka takes the messages again a restarted
    worker applies every event (nothing was acknowledged and dropped)."""
    settings = own_settings(settings)
    ensure_topics(settings, [*TOPICS, *INBOXES])
    _set_max_message_bytes(settings, "member-status", 100)
    events = []
    for i in range(20):
        events += [enrolled(f"R{i}", "2019-01-05"), paid(f"R{i}", "2019-01-06")]
    publisher = EventPublisher(settings, serde)
    for name, record in events:
        publisher.send_valid(name, record)
    publisher.close()

    log = tmp_path / "worker.log"
    worker = start(settings, "worker", "--name", "r", log=log)
    try:
        worker.wait(timeout=120)
    finally:
        stop(worker)
    assert worker.returncode == EXIT_AGENT_FAILED, log.read_text()[-2000:]
    assert "stopping the worker without committing" in log.read_text()
    assert _committed(settings, "enrolments") == _committed(settings, "contributions") == 0

    _set_max_message_bytes(settings, "member-status", 1024 * 1024)
    with running(settings, "worker", "--name", "r", log=tmp_path / "again.log"):
        wait_for_statuses(serde, settings, expected_members(events))


def test_a_registry_outage_is_waited_out_not_dead_lettered(
    settings: Settings, serde: AvroSerde, tmp_path: Path
) -> None:
    """A worker starting while the schema registry is down (its cache empty) neither
    dead-letters the valid events nor stops: it waits, and applies them once the registry
    is back."""
    from jamsos.stack.local import LocalStack

    settings = own_settings(settings)
    ensure_topics(settings, list(TOPICS))
    events = [enrolled("W1", "2019-01-10"), paid("W1", "2019-01-11")]
    publisher = EventPublisher(settings, serde)
    for name, record in events:
        publisher.send_valid(name, record)
    publisher.close()
    stack = LocalStack(settings)
    registry = next(server for server in stack.servers if server.name == "schema-registry")
    log = tmp_path / "worker.log"
    assert registry.process.stop()
    try:
        with running(settings, "worker", "--name", "g", log=log) as worker:
            wait_for_log(log, "schema registry unavailable", timeout=120)
            assert worker.poll() is None
            stack.up()
            wait_for_statuses(serde, settings, expected_members(events))
            assert worker.poll() is None
    finally:
        stack.up()
    assert topic_size(settings, "dead-letters") == 0


def wait_for_log(path: Path, text: str, timeout: float) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not in {path} after {timeout:.0f}s")
