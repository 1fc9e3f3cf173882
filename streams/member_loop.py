"""The member side of the worker: its own consumer, one batch one transaction.

Enrolments and contributions are keyed by `member_id` and co-partitioned, so member
partition `p` is partition `p` of both; every worker also reads the whole clock topic and
merges each tick into each of its member partitions by broker timestamp (`streams.merge`).
There is no inbox between the input topics and the member state.

This goes around Faust's streams on purpose: a merge must hold messages back until the
other sources have caught up, and Faust acknowledges what its stream hands over. The loop
uses its own aiokafka consumer (consumer group `jamsos.topics.MEMBER_GROUP`, static
membership under the worker's name, range assignment so that partition `p` of both topics
lands on the same worker), and Faust's producer. Each batch:

1. is taken from the merges, every member partition in its own order;
2. is applied by `streams.member_processor` (a message that raises is quarantined on its
   own, the batch goes on; an infrastructure failure stops the worker);
3. has its outputs sent and every acknowledgement checked;
4. has its state, with each partition's next input offsets, written to the state topic
   (acknowledged) and then RocksDB (`streams.member_state`);
5. has its positions queued for the group-offset commit, which runs at most once a
   `COMMIT_SECONDS` off the hot path, with the partition's next clock offset as the
   commit's metadata (`jamsos.demo.lag` reads both). The group offsets are for monitoring:
   a partition resumes from the offsets stored with its state, so a partition restored
   here commits those at once (the worker that stored them may have died before its
   commit, and nothing new may come to move them).

A rebalance waits for the batch in flight (`on_partitions_revoked`); a partition assigned
here is restored from the state topic and read again from its stored offsets before it is
merged. Anything that escapes the loop stops the worker (`streams.app.WorkerApp`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import ConsumerStoppedError
from aiokafka.structs import OffsetAndMetadata
from kafka.partitioner.default import murmur2

from jamsos.connect import aiokafka_options
from jamsos.contracts.errors import ContractError, ErrorType
from jamsos.contracts.intake import Admitted, admit
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from jamsos.topics import MEMBER_GROUP, MEMBER_STATE
from streams.delivery import Deliveries
from streams.emission import Emission, merge_by_key
from streams.member_processor import AGENT_INBOX, MemberProcessor
from streams.member_state import MemberStore, StateRecord, restore
from streams.merge import (
    SOURCE_TOPICS,
    Arrival,
    FetchTimes,
    PartitionMerge,
    Source,
    closed_until,
)
from streams.metrics import WorkerMetrics
from streams.origin import Origin
from streams.quarantine import (
    dead_letter_emission,
    isolated,
    quarantined,
    until_registry_answers,
)

log = logging.getLogger(__name__)

POLL_MS = 50
"""Longest one fetch of the member inputs waits for messages."""
FETCH_WAIT_MS = 100
"""Longest the broker holds a fetch open: how often an idle source reports it is closed."""
CLOSE_SLACK_MS = 20
"""Margin for the skew between the worker's clock and the brokers' in the time up to which
a partition counts as closed (`streams.merge.closed_until`)."""
BUFFERED_PER_SOURCE = 20_000
"""Messages of one partition held in its merge before its fetching pauses."""
COMMIT_SECONDS = 1.0
"""Longest the group offsets trail the stored positions of a running worker."""
TICK_COMMIT = "clock="
"""Commit metadata: the next clock offset of the partition (`jamsos.demo.lag`)."""


def member_partition(member_id: str, partitions: int) -> int:
    """The partition the producers' default partitioner (murmur2 of the key, as the Java
    and Python clients do) puts `member_id` on."""
    return (murmur2(member_id.encode()) & 0x7FFFFFFF) % partitions


class MemberLoop:
    """The member consumer and its batches (see the module docstring)."""

    def __init__(
        self,
        app: Any,
        settings: Settings,
        serde: AvroSerde,
        processor: MemberProcessor,
        store: MemberStore,
        metrics: WorkerMetrics,
        *,
        instance_id: str | None,
        agent_inbox: str,
        output_topic: Callable[[str], str],
    ) -> None:
        self.app = app
        self.settings = settings
        self.serde = serde
        self.processor = processor
        self.store = store
        self.metrics = metrics
        self.instance_id = instance_id
        self.agent_inbox = agent_inbox
        self.output_topic = output_topic
        self.topics = {source: settings.topic(name) for source, name in SOURCE_TOPICS.items()}
        self.source_of = {name: source for source, name in self.topics.items()}
        self.clock_tp = TopicPartition(self.topics[Source.CLOCK], 0)
        self.merges: dict[int, PartitionMerge] = {}
        self.expected: dict[tuple[int, Source], int] = {}
        """Per member partition and source, the offset the merge takes next."""
        self.ticks: list[Arrival] = []
        """Every tick read so far (the clock is tiny: one message a business day)."""
        self.fetch_times = FetchTimes()
        self.clock_next = 0
        """The clock offset read next."""
        self._turn = 0
        self.in_flight = asyncio.Lock()
        self.consumer: AIOKafkaConsumer | None = None
        self.clock_reader: AIOKafkaConsumer | None = None
        self.restorer: AIOKafkaConsumer | None = None
        self.deliveries = Deliveries(app)
        self.revoke_wait = settings.worker_session_timeout * 0.8
        self.stopping = False
        self.to_commit: dict[int, dict[str, int]] = {}
        """Per member partition, stored positions not yet committed as group offsets."""
        self.commit_due = 0.0

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        options = aiokafka_options(self.settings, "worker")
        session_ms = int(self.settings.worker_session_timeout * 1000)
        self.consumer = AIOKafkaConsumer(
            **options,
            group_id=self.settings.topic(MEMBER_GROUP),
            group_instance_id=self.instance_id,
            client_id="jamsos-members",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            partition_assignment_strategy=(RangePartitionAssignor,),
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=session_ms // 4,
            fetch_max_wait_ms=FETCH_WAIT_MS,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self.clock_reader = AIOKafkaConsumer(
            **options,
            group_id=None,
            client_id="jamsos-clock",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_WAIT_MS,
        )
        self.restorer = AIOKafkaConsumer(
            **options,
            group_id=None,
            client_id="jamsos-state-restore",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        for consumer in (self.consumer, self.clock_reader, self.restorer):
            await consumer.start()
        self.clock_reader.assign([self.clock_tp])
        await self.clock_reader.seek_to_beginning(self.clock_tp)
        self.consumer.subscribe(
            [self.topics[Source.ENROLMENTS], self.topics[Source.CONTRIBUTIONS]],
            listener=_Rebalance(self),
        )

    async def stop(self) -> None:
        """Let the batch in flight store its state, take no other, then stop the
        consumers (a clean shutdown)."""
        self.stopping = True
        try:
            await asyncio.wait_for(self.in_flight.acquire(), self.revoke_wait)
        except TimeoutError:
            log.warning("the member batch in flight did not finish; stopping without it")
        else:
            try:
                if self.consumer is not None and self.to_commit:
                    await self._commit_offsets()
            finally:
                self.in_flight.release()
        for consumer in (self.consumer, self.clock_reader, self.restorer):
            if consumer is not None:
                await consumer.stop()

    async def run(self) -> None:
        """Batches until `stop`."""
        consumer, clock_reader = self.consumer, self.clock_reader
        assert consumer is not None
        assert clock_reader is not None
        limit = self.settings.worker_batch_events
        while not self.stopping:
            try:
                fetched = await consumer.getmany(timeout_ms=POLL_MS, max_records=limit)
                ticks = await clock_reader.getmany(timeout_ms=0)
            except ConsumerStoppedError:
                if self.stopping:
                    return
                raise
            async with self.in_flight:
                if self.stopping:
                    return
                self._read_ticks(ticks.get(self.clock_tp, []))
                for tp, messages in fetched.items():
                    self._queue(tp, messages)
                taken = self._take(limit)
                if taken:
                    started = time.perf_counter()
                    await self.transact(taken)
                    count = sum(len(arrivals) for arrivals in taken.values())
                    self.metrics.batches.labels("members").inc()
                    self.metrics.events.labels("members").inc(count)
                    self.metrics.batch_seconds.labels("members").observe(
                        time.perf_counter() - started
                    )
                self._pace()
                if self.to_commit and time.monotonic() >= self.commit_due:
                    await self._commit_offsets()
            if not fetched and not taken:
                await asyncio.sleep(0)

    # -- reading -----------------------------------------------------------------------------
    def _read_ticks(self, messages: Iterable[Any]) -> None:
        for message in messages:
            tick = Arrival(
                Source.CLOCK,
                0,
                message.offset,
                message.timestamp,
                message.key,
                message.value or b"",
            )
            self.ticks.append(tick)
            self.clock_next = message.offset + 1
            for partition, merge in self.merges.items():
                if self.expected[partition, Source.CLOCK] <= tick.offset:
                    self.expected[partition, Source.CLOCK] = tick.offset + 1
                    merge.add([tick])

    def _queue(self, tp: TopicPartition, messages: list[Any]) -> None:
        """Queue fetched messages in their partition's merge, contiguously: a message
        below the expected offset was taken already; one above it means a gap (messages
        fetched across a rebalance), so the partition is read again from the expected one."""
        source = self.source_of[tp.topic]
        merge = self.merges.get(tp.partition)
        if merge is None:
            return
        key = (tp.partition, source)
        arrivals = []
        for message in messages:
            expected = self.expected[key]
            if message.offset < expected:
                continue
            if message.offset > expected:
                log.warning(
                    "%s: got offset %d, expected %d; reading again", tp, message.offset, expected
                )
                assert self.consumer is not None
                self.consumer.seek(tp, expected)
                break
            arrivals.append(
                Arrival(
                    source,
                    tp.partition,
                    message.offset,
                    message.timestamp,
                    message.key,
                    message.value or b"",
                )
            )
            self.expected[key] = message.offset + 1
        merge.add(arrivals)

    def _take(self, limit: int) -> dict[int, list[Arrival]]:
        """Up to `limit` arrivals over every partition, each partition's in its order;
        the partition served first turns with every batch, so none waits on the others."""
        assert self.consumer is not None
        assert self.clock_reader is not None
        clock_closed = self._closed(self.clock_reader, self.clock_tp, self.clock_next)
        taken: dict[int, list[Arrival]] = {}
        room = limit
        order = sorted(self.merges)
        self._turn += 1
        if order:
            start = self._turn % len(order)
            order = order[start:] + order[:start]
        for partition in order:
            if room <= 0:
                break
            closed = {Source.CLOCK: clock_closed}
            for source in (Source.ENROLMENTS, Source.CONTRIBUTIONS):
                tp = TopicPartition(self.topics[source], partition)
                closed[source] = self._closed(self.consumer, tp, self.expected[partition, source])
            arrivals = self.merges[partition].take(closed, room)
            if arrivals:
                taken[partition] = arrivals
                room -= len(arrivals)
        return taken

    def _closed(self, consumer: AIOKafkaConsumer, tp: TopicPartition, read_to: int) -> int | None:
        """Time up to which `tp` is closed (`streams.merge.closed_until`), having read it
        up to `read_to` (exclusive)."""
        try:
            highwater = consumer.highwater(tp)
            stamp = consumer.last_poll_timestamp(tp)
        except Exception:  # not assigned (any more): not known to be closed
            return None
        asked_after = self.fetch_times.asked_after(tp, stamp)
        return closed_until(read_to, highwater, asked_after, CLOSE_SLACK_MS)

    def _pace(self) -> None:
        """Pause a partition whose merge holds too much of it (the other source is behind
        in time), resume it once the merge has taken most of that."""
        assert self.consumer is not None
        pause, resume = [], []
        paused = self.consumer.paused()
        for partition, merge in self.merges.items():
            for source in (Source.ENROLMENTS, Source.CONTRIBUTIONS):
                tp = TopicPartition(self.topics[source], partition)
                waiting = merge.waiting(source)
                if waiting > BUFFERED_PER_SOURCE and tp not in paused:
                    pause.append(tp)
                elif waiting < BUFFERED_PER_SOURCE // 2 and tp in paused:
                    resume.append(tp)
        if pause:
            self.consumer.pause(*pause)
        if resume:
            self.consumer.resume(*resume)

    # -- one batch ---------------------------------------------------------------------------
    async def transact(self, taken: dict[int, list[Arrival]]) -> None:
        """Apply, send, store, commit (see the module docstring)."""
        batch = self.store.begin()
        self.processor.store = batch
        emissions: list[Emission] = []
        stored: dict[int, dict[str, int]] = {}
        inputs = dict.fromkeys(Source, 0)
        for partition, arrivals in taken.items():
            clock = self.processor.clock(partition)
            sequence = clock.sequence
            positions = dict(clock.positions)
            for arrival in arrivals:
                if arrival.source is not Source.CLOCK or partition == 0:
                    inputs[arrival.source] += 1
                sequence += 1
                emissions += await self._apply(partition, sequence, arrival, batch)
                positions[SOURCE_TOPICS[arrival.source]] = arrival.offset + 1
            clock = self.processor.clock(partition)
            clock.sequence = sequence
            clock.positions = positions
            self.processor.save_clock(partition, clock)
            stored[partition] = positions
        for source, count in inputs.items():
            self.metrics.inputs.labels(SOURCE_TOPICS[source]).inc(count)
        sent: dict[str, int] = {}
        for emission in merge_by_key(emissions, AGENT_INBOX):
            sent[emission.topic] = sent.get(emission.topic, 0) + 1
            topic = (
                self.agent_inbox
                if emission.topic == AGENT_INBOX
                else self.output_topic(emission.topic)
            )
            await self.deliveries.send(topic, emission.key, emission.value, emission.partition)
        await self.deliveries.confirm()
        for topic, count in sent.items():
            self.metrics.emitted.labels(topic).inc(count)
        owned = set(self.merges)
        await self.store.commit(batch, self._send_state, partitions=owned)
        self.to_commit.update(stored)

    async def _apply(
        self, partition: int, sequence: int, arrival: Arrival, batch: Any
    ) -> list[Emission]:
        topic = self.topics[arrival.source]
        outcome = await until_registry_answers(
            lambda: admit(
                self.serde,
                contract_topic=SOURCE_TOPICS[arrival.source],
                topic=topic,
                partition=arrival.partition,
                offset=arrival.offset,
                key=arrival.key,
                value=arrival.value,
            )
        )
        tick = arrival.source is Source.CLOCK
        if not isinstance(outcome, Admitted):
            if tick and partition != 0:
                return []  # a tick's dead letter is sent once, by partition 0
            self.metrics.dead_letters.labels(str(outcome.dead_letter["error_type"])).inc()
            log.warning(
                "dead letter %s:%s:%s: %s", topic, arrival.partition, arrival.offset, outcome.error
            )
            return [
                Emission(
                    "dead-letters",
                    arrival.key,
                    self.serde.encode("dead-letters", "DeadLetter", outcome.dead_letter),
                )
            ]
        origin = Origin(topic, arrival.partition, arrival.offset, arrival.key)
        if not tick:
            member_id = str(outcome.record.get("member_id", ""))
            home = member_partition(member_id, self.settings.kafka_partitions)
            if home != partition:
                return [self._misrouted(arrival, origin, member_id, home)]

        def poison(error: Exception) -> list[Emission]:
            if tick and partition != 0:
                return []
            self.metrics.dead_letters.labels(
                error.error_type if isinstance(error, ContractError) else "PROCESSING_ERROR"
            ).inc()
            return [
                quarantined(
                    self.serde,
                    error,
                    topic=topic,
                    partition=arrival.partition,
                    offset=arrival.offset,
                    key=arrival.key,
                    value=arrival.value,
                )
            ]

        return await isolated(
            (batch,),
            lambda: self.processor.apply(
                partition, sequence, outcome.record_name, outcome.record, arrival.value, origin
            ),
            poison,
        )

    def _misrouted(self, arrival: Arrival, origin: Origin, member_id: str, home: int) -> Emission:
        """A member event on another partition than its member's: applying it here would
        split the member's state, so it is set aside; `jamsos dead-letters replay`
        publishes it again keyed by `member_id`."""
        self.metrics.dead_letters.labels(ErrorType.MISROUTED).inc()
        error = ContractError(
            ErrorType.MISROUTED,
            f"member {member_id} belongs on partition {home}, not {arrival.partition}: "
            "input topics are keyed by member_id",
            field="member_id",
        )
        log.warning(
            "dead letter %s:%s:%s: %s", origin.topic, origin.partition, origin.offset, error
        )
        return dead_letter_emission(
            self.serde,
            topic=origin.topic,
            partition=origin.partition,
            offset=origin.offset,
            key=arrival.key,
            value=arrival.value,
            error=error,
        )

    async def _send_state(self, record: StateRecord) -> Any:
        return await self.app.producer.send(
            self.settings.topic(MEMBER_STATE),
            record.key,
            record.value,
            record.partition,
            None,
            record.headers,
        )

    async def _commit_offsets(self) -> None:
        """Commit the group offsets of the stored positions not committed yet (monitoring
        only: a partition resumes from the positions stored with its state). A failed
        commit is tried again at the next turn; a partition no longer assigned is dropped."""
        assert self.consumer is not None
        self.commit_due = time.monotonic() + COMMIT_SECONDS
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        assignment = self.consumer.assignment()
        pending, self.to_commit = self.to_commit, {}
        for partition, positions in pending.items():
            metadata = f"{TICK_COMMIT}{positions.get(SOURCE_TOPICS[Source.CLOCK], 0)}"
            for source in (Source.ENROLMENTS, Source.CONTRIBUTIONS):
                tp = TopicPartition(self.topics[source], partition)
                if tp in assignment:
                    offsets[tp] = OffsetAndMetadata(
                        positions.get(SOURCE_TOPICS[source], 0), metadata
                    )
        if not offsets:
            return
        try:
            await asyncio.wait_for(self.consumer.commit(offsets), COMMIT_SECONDS * 5)
        except Exception as error:
            log.warning("committing the member offsets failed (%r); trying again", error)
            for partition, positions in pending.items():
                self.to_commit.setdefault(partition, positions)

    # -- rebalances --------------------------------------------------------------------------
    async def revoked(self, partitions: set[TopicPartition]) -> None:
        """Let the batch in flight finish, then forget the partitions' merges. A batch that
        cannot finish before the rebalance gives up stops the worker."""
        try:
            await asyncio.wait_for(self.in_flight.acquire(), self.revoke_wait)
        except TimeoutError as error:
            self.app.fail_stop("a member batch outlasting the rebalance", error)
            return
        try:
            await self._commit_offsets()  # still this generation's
            for partition in {tp.partition for tp in partitions}:
                self.merges.pop(partition, None)
                self.to_commit.pop(partition, None)
                for source in Source:
                    self.expected.pop((partition, source), None)
        finally:
            self.in_flight.release()

    async def assigned(self, partitions: set[TopicPartition]) -> None:
        """Restore each newly assigned member partition and read it again from the offsets
        stored with its state."""
        assert self.consumer is not None
        assert self.restorer is not None
        async with self.in_flight:
            for partition in sorted({tp.partition for tp in partitions} - set(self.merges)):
                started = time.perf_counter()
                self.metrics.restoring.add(partition)
                try:
                    count = await restore(
                        self.store, self.restorer, self.settings.topic(MEMBER_STATE), partition
                    )
                finally:
                    self.metrics.restoring.discard(partition)
                self.metrics.restored_members.inc(count)
                if count:
                    log.warning(
                        "member partition %d: %d members restored in %.1f s",
                        partition,
                        count,
                        time.perf_counter() - started,
                    )
                self.processor.store = self.store.begin()
                positions = self.processor.clock(partition).positions
                if positions:
                    self.to_commit[partition] = positions
                for source in (Source.ENROLMENTS, Source.CONTRIBUTIONS):
                    tp = TopicPartition(self.topics[source], partition)
                    offset = positions.get(SOURCE_TOPICS[source], 0)
                    self.expected[partition, source] = offset
                    if offset > 0:
                        self.consumer.seek(tp, offset)
                    else:
                        await self.consumer.seek_to_beginning(tp)
                merge = PartitionMerge()
                clock_from = positions.get("clock", 0)
                merge.add(tick for tick in self.ticks if tick.offset >= clock_from)
                self.expected[partition, Source.CLOCK] = max(clock_from, self.clock_next)
                self.merges[partition] = merge


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, loop: MemberLoop) -> None:
        self.loop = loop

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.loop.revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.loop.assigned(assigned)
