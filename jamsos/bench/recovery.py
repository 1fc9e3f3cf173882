"""`kill -9` of a worker holding N members: time until it processes again, disk, memory.

A worker's member state is its state topic (`streams.member_state`); RocksDB is a local
copy rebuilt from it. Filling a million members through the pipeline would take the worker
well over an hour, so the state topic is written directly instead, with what the worker
itself would have stored: a simulated year of members is run through the real
`MemberProcessor` (in memory), and those stored members are repeated under new member ids,
each encoded with `StoredMember.dumps()` and sent to the state partition the worker would
use (the member inbox partition: murmur2 of the member id), in committed batches of
`SEED_BATCH` members as the worker writes them. The agents' per-member share records are
not seeded, so the state sizes leave those out.

Then, in a private run (`bench_run`):

1. *Cold restore*: a worker starts on an empty state folder; the time from its start until
   it has processed a probe (its `member-status` output is on the topic) includes reading
   the whole changelog into RocksDB.
2. State folder size and the worker's RSS are read. Right after a restore much of RocksDB
   is still in its write-ahead log; the size after the recovery runs is the settled one.
3. *Recovery after kill -9*, `runs` times: SIGKILL, immediate restart under the same name
   (same RocksDB folder), time from restart until a new probe has been processed.

A probe terminates a seeded member, so its status change names the status the worker
restored for it; a change without one means the state was not restored and fails the run.
Besides the total, each phase reports when the worker's consumer group was stable again
with only new members: after a kill -9 the broker waits for the dead member's session to
expire before it hands its partitions to anyone, which the state size does not change.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from jamsos.bench.harness import BenchRun, bench_run
from jamsos.connect import aiokafka_options, kafka_options
from jamsos.contracts.catalog import topic_for
from jamsos.contracts.publisher import EventPublisher
from jamsos.contracts.registry import SchemaRegistry
from jamsos.contracts.serde import AvroSerde
from jamsos.demo.processes import stop
from jamsos.settings import Settings
from jamsos.simulation import SimulatedEvent, Simulation, SimulationConfig
from streams.member_processor import MemberProcessor, StoredMember
from streams.member_state import MemoryState

log = logging.getLogger(__name__)

TEMPLATE_MEMBERS = 1_000
"""Simulated members whose stored form is repeated: enough for the simulator's mix of
segments, payment habits, lapses and terminations to show in the average size."""
TEMPLATE_BASE_OFFSET = 1_000_000
"""Inbox offsets of the templates start here, so stored offsets have the digits of a
partition that has taken about a million messages."""
WORKER_NAME = "rec"
PROBE_SOURCE = "recovery-probe"
SEED_BATCH = 1_000
"""Members per committed batch of the seeded state topic (a restore holds one batch)."""
_PARTITIONER = DefaultPartitioner()


# -- small pure helpers ----------------------------------------------------------------------


def member_id_of(index: int) -> str:
    """Seeded member ids have the simulator's form (``M`` and nine digits)."""
    return f"M{index:09d}"


def member_partition(member_id: str, partitions: int) -> int:
    """The member inbox partition of `member_id`: the worker keys the inbox by the member id
    bytes and leaves the choice to aiokafka's default partitioner (murmur2, as in the Java
    client), and a table's changelog partition is that of the message being processed."""
    every = list(range(partitions))
    return int(_PARTITIONER(member_id.encode(), every, every))


def status_bytes(status_text: str, field: str) -> int:
    """A ``kB`` field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``) in bytes."""
    for line in status_text.splitlines():
        name, _, rest = line.partition(":")
        if name == field:
            value, unit = rest.split()
            if unit != "kB":
                raise ValueError(f"{field}: unexpected unit {unit!r}")
            return int(value) * 1024
    raise ValueError(f"{field} not in process status")


def per_million(value: float, members: int) -> int:
    """`value` scaled to a million members (state sizes are reported that way)."""
    if members <= 0:
        raise ValueError("members must be positive")
    return round(value * 1_000_000 / members)


def disk_usage(path: Path) -> int:
    """Bytes allocated on disk under `path`, as ``du`` counts them (sparse files and
    block rounding included), because that is what the disk must hold."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(Path(folder) / name).st_blocks * 512
            except FileNotFoundError:  # RocksDB removes obsolete files while running
                continue
    return total


# -- figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recovery:
    """One timed start: until the probe's output, and until the group was stable again;
    `from_status` is the status the worker had restored for the probe's member."""

    seconds: float
    rejoin_seconds: float | None
    from_status: str


@dataclass(frozen=True)
class RecoveryFigures:
    """Everything one `measure_recovery` found; `as_dict` is what gets printed and saved."""

    members: int
    template_members: int
    template_seconds: float
    seed_seconds: float
    changelog_bytes: int
    cold: Recovery
    warm: list[Recovery]
    state_bytes: int
    state_bytes_after_recovery: int
    rss_bytes: int
    peak_rss_bytes: int
    rss_bytes_after_recovery: int
    session_timeout_seconds: float

    @property
    def warm_median_seconds(self) -> float:
        return statistics.median(r.seconds for r in self.warm)

    def as_dict(self) -> dict[str, Any]:
        rejoins = [r.rejoin_seconds for r in self.warm]
        return {
            "members": self.members,
            "template_members": self.template_members,
            "template_seconds": round(self.template_seconds, 1),
            "seed_seconds": round(self.seed_seconds, 1),
            "changelog_bytes": self.changelog_bytes,
            "changelog_bytes_per_member": round(self.changelog_bytes / self.members),
            "cold_restore_seconds": round(self.cold.seconds, 2),
            "cold_group_stable_seconds": _rounded(self.cold.rejoin_seconds),
            "kill9_recovery_seconds_median": round(self.warm_median_seconds, 2),
            "kill9_recovery_seconds_runs": [round(r.seconds, 2) for r in self.warm],
            "kill9_group_stable_seconds_runs": [_rounded(r) for r in rejoins],
            "worker_session_timeout_seconds": self.session_timeout_seconds,
            "state_bytes_after_restore": self.state_bytes,
            "state_bytes_after_restore_per_million": per_million(self.state_bytes, self.members),
            "state_bytes_after_recovery": self.state_bytes_after_recovery,
            "state_bytes_after_recovery_per_million": per_million(
                self.state_bytes_after_recovery, self.members
            ),
            "rss_bytes_after_restore": self.rss_bytes,
            "peak_rss_bytes_after_restore": self.peak_rss_bytes,
            "rss_bytes_after_recovery": self.rss_bytes_after_recovery,
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


# -- the member state topic -----------------------------------------------------------------------


@dataclass(frozen=True)
class Changelog:
    """Where and how the worker keeps its member state in Kafka (its state topic)."""

    topic: str
    partitions: int
    encode_key: Callable[[str], bytes]
    encode_value: Callable[[bytes], bytes]
    session_timeout: float


def members_changelog(settings: Settings) -> Changelog:
    """The worker's member state topic, keyed and framed as `streams.member_state` writes it."""
    from jamsos.topics import MEMBER_STATE
    from streams.member_state import MEMBER_PREFIX

    return Changelog(
        settings.topic(MEMBER_STATE),
        settings.kafka_partitions,
        lambda member_id: MEMBER_PREFIX + member_id.encode(),
        lambda value: value,
        float(settings.worker_session_timeout),
    )


def create_changelog_topic(settings: Settings, changelog: Changelog) -> None:
    """Create the changelog as Faust would (compacted), before the first worker starts;
    Faust takes an existing changelog topic as it is."""
    admin = KafkaAdminClient(**kafka_options(settings, "admin"))
    try:
        topic = NewTopic(
            changelog.topic,
            num_partitions=changelog.partitions,
            replication_factor=1,
            topic_configs={"cleanup.policy": "compact"},
        )
        try:
            admin.create_topics([topic])
        except TopicAlreadyExistsError:
            log.debug("changelog %s exists already", changelog.topic)
    finally:
        admin.close()


def member_templates(serde: AvroSerde, count: int, nik_secret: bytes) -> list[StoredMember]:
    """Members as the worker stores them after a simulated year of their events.

    The simulator's feed (member events and business-day closes; agent events do not touch
    members) goes through the worker's own `MemberProcessor`, so ledgers, due
    dates and sequence numbers are what the worker would have written.
    """
    state = MemoryState()
    processor = MemberProcessor(serde, state, nik_secret=nik_secret)
    simulation = Simulation(SimulationConfig(members=count, agents=max(3, count // 300), seed=7))
    offset = TEMPLATE_BASE_OFFSET
    for item in simulation.events():
        if not isinstance(item, SimulatedEvent):
            continue
        topic = topic_for(item.record_name)
        if topic == "agents":
            continue
        offset += 1
        processor.handle(0, offset, serde.encode(topic, item.record_name, item.record))
    return [StoredMember.loads(value) for value in state.partition(0).members.values()]


def seed_members(
    settings: Settings, changelog: Changelog, templates: Sequence[StoredMember], members: int
) -> int:
    """Write `members` stored members to the changelog; returns the bytes of their values.

    Each member takes the stored form of template ``i % len(templates)`` under its own id.
    A stored member remembers the last inbox offset applied to it, and the worker takes any
    message at or below it for a re-delivery; this run's inbox starts at offset 0, so the
    seeded members are stored as never having had a message from it (offset -1). The
    templates are changed on the way.
    """
    for stored in templates:
        stored.offset = -1
    return asyncio.run(_send_members(settings, changelog, templates, members))


async def _send_members(
    settings: Settings, changelog: Changelog, templates: Sequence[StoredMember], members: int
) -> int:
    """The sending itself, with aiokafka: the client Faust writes its changelogs with, whose
    record batches are built in C. kafka-python computes each batch's CRC-32C in Python
    unless the optional `crc32c` package is installed, and sends about ten times slower."""
    producer = AIOKafkaProducer(
        **aiokafka_options(settings, "admin"),
        client_id="jamsos-bench-recovery-seed",
        acks=1,
        linger_ms=100,
        max_batch_size=512 * 1024,
    )
    await producer.start()
    failures: list[BaseException] = []

    def check(delivery: asyncio.Future[Any]) -> None:
        if not delivery.cancelled() and (error := delivery.exception()) is not None:
            failures.append(error)

    from streams.member_state import BATCH_HEADER, COMMIT_KEY

    written = 0
    batch_ids = {p: uuid.uuid4().bytes for p in range(changelog.partitions)}
    in_batch = dict.fromkeys(batch_ids, 0)

    async def commit(partition: int) -> None:
        headers = [(BATCH_HEADER, batch_ids[partition])]
        delivery = await producer.send(
            changelog.topic, key=COMMIT_KEY, value=b"", partition=partition, headers=headers
        )
        delivery.add_done_callback(check)
        batch_ids[partition], in_batch[partition] = uuid.uuid4().bytes, 0

    try:
        for i in range(members):
            member_id = member_id_of(i)
            stored = templates[i % len(templates)]
            stored.ledger.member_id = member_id
            value = changelog.encode_value(stored.dumps())
            written += len(value)
            partition = member_partition(member_id, changelog.partitions)
            delivery = await producer.send(
                changelog.topic,
                key=changelog.encode_key(member_id),
                value=value,
                partition=partition,
                headers=[(BATCH_HEADER, batch_ids[partition])],
            )
            delivery.add_done_callback(check)
            in_batch[partition] += 1
            if in_batch[partition] == SEED_BATCH:
                await commit(partition)
            if i and i % 100_000 == 0:
                log.info("seeded %d of %d members", i, members)
        for partition, count in in_batch.items():
            if count:
                await commit(partition)
        await producer.flush()
    finally:
        await producer.stop()
    if failures:
        raise RuntimeError(f"{len(failures)} changelog writes failed, first: {failures[0]}")
    return written


def probe_members(templates: Sequence[StoredMember], members: int, count: int) -> list[str]:
    """`count` seeded members a termination will change (enrolled, not terminated, a status
    already sent), from the end of the id range."""
    chosen: list[str] = []
    for i in range(members - 1, -1, -1):
        ledger = templates[i % len(templates)].ledger
        if ledger.enrolled and ledger.termination is None and ledger.emitted is not None:
            chosen.append(member_id_of(i))
            if len(chosen) == count:
                return chosen
    raise ValueError(f"fewer than {count} seeded members can be terminated")


def probe_record(member_id: str, on: date, run: int) -> dict[str, Any]:
    """A `MembershipTerminated` of `member_id` effective (and recorded) on `on`."""
    return {
        "event_id": f"{PROBE_SOURCE}-{member_id}-{run}",
        "occurred_at": datetime(on.year, on.month, on.day, 9, tzinfo=UTC),
        "source": PROBE_SOURCE,
        "member_id": member_id,
        "reason": "RETIREMENT",
        "effective_date": on,
    }


def probe_day(templates: Sequence[StoredMember]) -> date:
    """The day after every template's latest event, so a probe is the member's newest."""
    latest = max(t.ledger.latest_event_on or date.min for t in templates)
    return latest + timedelta(days=1)


# -- watching the worker ----------------------------------------------------------------------


class StatusWatch:
    """The `member-status` topic read from its current end, for the probes' changes."""

    def __init__(self, settings: Settings, serde: AvroSerde) -> None:
        self.serde = serde
        self.consumer = KafkaConsumer(
            **kafka_options(settings, "admin"),
            enable_auto_commit=False,
            fetch_max_wait_ms=50,
        )
        topic = settings.topic("member-status")
        partitions = [
            TopicPartition(topic, p) for p in self.consumer.partitions_for_topic(topic) or ()
        ]
        self.consumer.assign(partitions)
        self.consumer.seek_to_end()
        for tp in partitions:
            self.consumer.position(tp)  # resolve the end now, before any probe is sent

    def changes(self, timeout_ms: int) -> Iterator[tuple[bytes | None, bytes]]:
        for records in self.consumer.poll(timeout_ms=timeout_ms).values():
            for record in records:
                yield record.key, record.value

    def close(self) -> None:
        self.consumer.close()


class _FaustGroupMetadata(logging.Filter):
    """Faust members describe their assignment in a format of their own, which kafka-python's
    admin client cannot decode and warns about on every look at the group; expected here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Unable to decode member_" not in record.getMessage()


class GroupWatch:
    """Members of the worker's member group, asked of its coordinator."""

    LOGGER = "kafka.admin._groups"

    def __init__(self, settings: Settings, group: str) -> None:
        self.group = group
        self.admin = KafkaAdminClient(**kafka_options(settings, "admin"))
        self.quiet = _FaustGroupMetadata()
        logging.getLogger(self.LOGGER).addFilter(self.quiet)

    def members(self) -> tuple[str, set[str]]:
        """The group's state and member ids."""
        answer = self.admin.describe_groups([self.group])[self.group]
        return str(answer.get("group_state", "")), {m["member_id"] for m in answer["members"]}

    def close(self) -> None:
        self.admin.close()
        logging.getLogger(self.LOGGER).removeFilter(self.quiet)


def read_memory(pid: int) -> tuple[int, int]:
    """Current and peak resident memory of process `pid`, in bytes."""
    text = Path(f"/proc/{pid}/status").read_text()
    return status_bytes(text, "VmRSS"), status_bytes(text, "VmHWM")


def _timed_start(
    run: BenchRun,
    publisher: EventPublisher,
    statuses: StatusWatch,
    group: GroupWatch,
    probe: dict[str, Any],
    timeout: float,
) -> tuple[subprocess.Popen[bytes], Recovery]:
    """Start the worker, send `probe`, and time both the probe's status change and the
    moment the group is stable with none of the members it had before the start."""
    _, before = group.members()
    started = time.monotonic()
    worker = run.start_worker(WORKER_NAME)
    publisher.publish("MembershipTerminated", probe).get(timeout=60)
    key = probe["member_id"].encode()
    rejoined: float | None = None
    next_group_check = started
    deadline = started + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            log_file = run.workdir / f"worker-{WORKER_NAME}.log"
            raise RuntimeError(f"worker exited with {worker.returncode}; see {log_file}")
        for change_key, value in statuses.changes(timeout_ms=100):
            if change_key != key:
                continue
            seconds = time.monotonic() - started
            if rejoined is None:
                rejoined = seconds  # stable by now at the latest: the worker has processed
            record = statuses.serde.decode(value).record
            if record["from_status"] is None:
                raise RuntimeError(
                    f"probe {probe['member_id']} had no restored status: the seeded state "
                    "did not reach the worker"
                )
            return worker, Recovery(seconds, rejoined, str(record["from_status"]))
        if rejoined is None and time.monotonic() >= next_group_check:
            state, now = group.members()
            if state == "Stable" and now and not now & before:
                rejoined = time.monotonic() - started
            next_group_check = time.monotonic() + 0.25
    raise TimeoutError(f"probe {probe['member_id']}: no status change within {timeout:.0f}s")


# -- the measurement ------------------------------------------------------------------------------


def measure_recovery(settings: Settings, members: int, runs: int) -> RecoveryFigures:
    """Seed `members`, restore them cold once, then kill -9 and restart `runs` times."""
    if members < TEMPLATE_MEMBERS:
        raise ValueError(f"--members must be at least {TEMPLATE_MEMBERS:,}")
    if runs < 1:
        raise ValueError("--runs must be at least 1")
    serde = AvroSerde(SchemaRegistry.from_settings(settings))
    with bench_run(settings, "rec") as run:
        changelog = members_changelog(run.settings)
        began = time.monotonic()
        templates = member_templates(serde, TEMPLATE_MEMBERS, run.settings.nik_key())
        template_seconds = time.monotonic() - began
        probes = probe_members(templates, members, runs + 1)
        on = probe_day(templates)
        create_changelog_topic(run.settings, changelog)
        began = time.monotonic()
        changelog_bytes = seed_members(run.settings, changelog, templates, members)
        seed_seconds = time.monotonic() - began
        log.info("seeded %d members (%d bytes) in %.1fs", members, changelog_bytes, seed_seconds)

        publisher = EventPublisher(run.settings, serde)
        statuses = StatusWatch(run.settings, serde)
        group = GroupWatch(run.settings, run.member_group)
        try:
            cold_timeout = 600 + members / 1000
            worker, cold = _timed_start(
                run, publisher, statuses, group, probe_record(probes[0], on, 0), cold_timeout
            )
            log.info("cold restore: %s", cold)
            state_bytes = disk_usage(run.worker_state_dir(WORKER_NAME))
            rss, peak = read_memory(worker.pid)
            warm: list[Recovery] = []
            for n in range(1, runs + 1):
                stop(worker, kill=True)
                worker, recovery = _timed_start(
                    run, publisher, statuses, group, probe_record(probes[n], on, n), 600
                )
                log.info("recovery %d after kill -9: %s", n, recovery)
                warm.append(recovery)
            rss_after, _ = read_memory(worker.pid)
            state_after = disk_usage(run.worker_state_dir(WORKER_NAME))
        finally:
            publisher.close()
            statuses.close()
            group.close()
    return RecoveryFigures(
        members=members,
        template_members=len(templates),
        template_seconds=template_seconds,
        seed_seconds=seed_seconds,
        changelog_bytes=changelog_bytes,
        cold=cold,
        warm=warm,
        state_bytes=state_bytes,
        state_bytes_after_recovery=state_after,
        rss_bytes=rss,
        peak_rss_bytes=peak,
        rss_bytes_after_recovery=rss_after,
        session_timeout_seconds=changelog.session_timeout,
    )
