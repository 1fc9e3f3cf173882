"""The Faust agents: intake of the input topics, members, agent tallies.

Agents stay thin: they move bytes between topics and hand each message to a processor
(`streams.member_processor`, `streams.agent_processor`) that holds the logic. The two
inbox agents take their messages in batches (`streams.staging`). Every agent
runs with concurrency 1: with more, Faust may commit past messages still in flight
(faust-streaming issue #606), which could lose events on a crash.

Failures: a message whose processing raises is quarantined on its own
(`streams.quarantine`) and its batch goes on; a schema-registry outage is waited out.
Anything else that escapes an agent stops the whole worker at once
(`streams.app.WorkerApp`): left to itself Faust would acknowledge the failed batch,
restart the agent and go on, silently dropping the batch's events. Exiting before the
acknowledgement leaves the offsets where they were; the restarted worker (or the one that
takes its partitions) re-reads the batch. Before an agent handles a batch it checks that
Faust skipped none of its partitions' offsets (`streams.offsets`); a skip stops the worker
the same way.
"""

from __future__ import annotations

import asyncio
import calendar
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from functools import partial
from typing import Any, TypeVar, cast

import faust

from jamsos.connect import aiokafka_options, kafka_options
from jamsos.contracts.catalog import TOPICS
from jamsos.contracts.intake import Admitted, admit
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from streams.agent_processor import AgentProcessor
from streams.barrier import TickBarrier
from streams.delivery import Deliveries
from streams.emission import Emission, merge_by_key
from streams.member_processor import AGENT_INBOX, MemberProcessor
from streams.member_state import MemberBatch, MemberStore, StateRecord, restore
from streams.metrics import WorkerMetrics
from streams.offsets import OffsetGuard, SkippedOffsetsError, StallWatch
from streams.origin import Origin
from streams.quarantine import is_infrastructure, is_registry_outage, quarantined
from streams.staging import StagedTable, as_current
from streams.tables import WorkerTables
from streams.topics import MEMBER_INPUTS, MEMBER_STATE, WorkerTopics

log = logging.getLogger(__name__)
_T = TypeVar("_T")

REGISTRY_RETRY_SECONDS = 1.0
STALL_CHECK_SECONDS = 10.0


async def registry_pause(error: BaseException) -> None:
    log.warning(
        "schema registry unavailable (%s); retrying in %.0fs", error, REGISTRY_RETRY_SECONDS
    )
    await asyncio.sleep(REGISTRY_RETRY_SECONDS)


async def until_registry_answers(call: Callable[[], _T]) -> _T:
    """`call()`, repeated while the schema registry is away: an outage is waited out, not
    turned into dead letters or a stopped worker."""
    while True:
        try:
            return call()
        except Exception as error:
            if not is_registry_outage(error):
                raise
            await registry_pause(error)


def committed_offset(app: faust.App) -> Callable[[faust.types.TP], int | None]:
    """The group's committed offset of a partition as Faust's consumer last knew it
    (a private attribute, guarded by `tests/unit/streams/test_faust_contract.py`)."""

    def committed(tp: faust.types.TP) -> int | None:
        known: dict[faust.types.TP, int | None] = app.consumer._committed_offset  # type: ignore[attr-defined]  # noqa: SLF001
        return known.get(tp)

    return committed


def register_agents(
    app: faust.App,
    settings: Settings,
    topics: WorkerTopics,
    tables: WorkerTables,
    serde: AvroSerde,
    metrics: WorkerMetrics,
    store: MemberStore,
) -> None:
    """Attach the worker's agents to `app`, counting what they do in `metrics`; the
    member side keeps its state in `store` (`streams.member_state`)."""
    agent_table = StagedTable(tables.agents)
    members = MemberProcessor(
        serde,
        nik_secret=settings.nik_key(),
        lapse_months=settings.lapse_months,
        max_tick_advance_days=settings.max_tick_advance_days,
        hold_days=settings.hold_days,
    )
    members.on_business_date = lambda partition, day: metrics.business_date.labels(
        str(partition)
    ).set(calendar.timegm(day.timetuple()))
    agents = AgentProcessor(serde, agent_table)
    batch_events, batch_seconds = settings.worker_batch_events, settings.worker_batch_seconds
    contract_topic = {settings.topic(name): name for name in TOPICS}

    offsets = OffsetGuard(committed_offset(app))
    stalls = StallWatch(
        offsets,
        highwater=lambda tp: app.consumer.highwater(tp),  # asked for assigned ones only
        assigned=lambda: set(app.consumer.assignment()),
        settling=lambda: bool(app.rebalancing or app.in_recovery or metrics.restoring),
        readers=topics.readers(),
    )

    @app.timer(interval=STALL_CHECK_SECONDS)
    async def watch_for_stalls() -> None:
        """Read a partition whose fetched messages Faust never handed over
        (`streams.offsets.StallWatch`) again from its committed offset, as a restart would:
        nothing of it is in flight. If that fails, fail-stop. Its turns are also the
        worker's liveness (`streams.metrics`)."""
        metrics.beat()
        for _ in range(len(app.consumer.assignment()) + 1):  # every stalled partition
            try:
                stalls.check(asyncio.get_running_loop().time())
                return
            except SkippedOffsetsError as error:
                if error.partition is None:
                    app.fail_stop("the stall watch", error)  # type: ignore[attr-defined]
                    return
                log.warning("%s; reading it again from offset %d", error, error.offset)
                try:
                    await app.consumer.seek(error.partition, error.offset)
                except Exception as failed:
                    app.fail_stop("the stall watch's seek", failed)  # type: ignore[attr-defined]
            except Exception:  # a safety net that fails must not stop the worker itself
                log.exception("the stall watch could not check the partitions this time")
                return

    barrier = TickBarrier(
        kafka_options(settings, "worker"),
        app.conf.id,
        [settings.topic(name) for name in MEMBER_INPUTS],
        settings.kafka_partitions,
    )

    async def batches(stream: faust.StreamT, agent: str) -> AsyncIterator[Sequence[faust.EventT]]:
        """The stream's events in batches; acknowledged when the next batch is asked for,
        so every agent confirms its batch's deliveries before asking. Each agent passes
        every batch to `dense` before it handles it. Counted when the agent asks for the
        next one, i.e. once the batch is handled and its outputs acknowledged."""
        async for events in cast(faust.Stream, stream).take_events(
            batch_events, within=batch_seconds
        ):
            started = time.perf_counter()
            yield events
            metrics.batches.labels(agent).inc()
            metrics.events.labels(agent).inc(len(events))
            metrics.batch_seconds.labels(agent).observe(time.perf_counter() - started)

    def dense(events: Sequence[faust.EventT]) -> Sequence[faust.EventT]:
        """`events`, once `streams.offsets` has found no skipped offset in them (else it
        raises, and the worker stops before the batch is acknowledged). A check in the
        agent's own loop, not a generator wrapped around `take_events`."""
        offsets.check((event.message.tp, event.message.offset) for event in events)
        return events

    async def publish(deliveries: Deliveries, emissions: list[Emission]) -> None:
        for emission in emissions:
            metrics.emitted.labels(emission.topic).inc()
            await deliveries.send(
                topics.for_emission(emission.topic).get_topic_name(),
                emission.key,
                emission.value,
                emission.partition,
            )

    async def settle(
        deliveries: Deliveries, events: Sequence[faust.EventT], *staged: StagedTable
    ) -> None:
        """Write a batch's staged table changes, then wait until Kafka has acknowledged
        them and the batch's outputs: only then may its offsets be acknowledged."""
        last: dict[int, faust.EventT] = {}
        for event in events:
            last[event.message.partition] = event
        for partition, event in last.items():
            with as_current(event):
                for table in staged:
                    table.flush(partition)
        await deliveries.confirm()

    def poison(event: faust.EventT, error: Exception) -> Emission:
        metrics.dead_letters.labels("PROCESSING_ERROR").inc()
        message = event.message
        return quarantined(
            serde,
            error,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value,
        )

    async def isolated(
        event: faust.EventT,
        staged: tuple[StagedTable | MemberBatch, ...],
        handle: Callable[[], list[Emission]],
    ) -> list[Emission]:
        """One message applied on its own: its staged writes are kept only if it succeeds.
        A registry outage is waited out; a poison message is quarantined; any other
        infrastructure failure propagates and stops the worker."""
        while True:
            for table in staged:
                table.begin_event()
            try:
                return handle()
            except Exception as error:
                for table in staged:
                    table.undo_event()
                if is_registry_outage(error):
                    await registry_pause(error)
                    continue
                if is_infrastructure(error):
                    raise
                return [poison(event, error)]

    async def admitted(deliveries: Deliveries, event: faust.EventT) -> Admitted | None:
        """Decode and validate; invalid messages go to dead-letters and yield None."""
        message = event.message
        outcome = await until_registry_answers(
            lambda: admit(
                serde,
                contract_topic=contract_topic[message.topic],
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                key=message.key,
                value=message.value,
            )
        )
        if isinstance(outcome, Admitted):
            return outcome
        metrics.dead_letters.labels(str(outcome.dead_letter["error_type"])).inc()
        metrics.emitted.labels("dead-letters").inc()
        log.warning(
            "dead letter %s:%s:%s: %s",
            message.topic,
            message.partition,
            message.offset,
            outcome.error,
        )
        await deliveries.send(
            topics.outputs["dead-letters"].get_topic_name(),
            message.key,
            serde.encode("dead-letters", "DeadLetter", outcome.dead_letter),
        )
        return None

    async def forward(
        stream: faust.StreamT, inbox: faust.TopicT, key_field: str, agent: str
    ) -> None:
        """Valid messages to `inbox`, keyed by `key_field` of their record; bad ones to
        dead-letters. Re-keying by the record makes the inbox's partitioning ours, whatever
        partitioner the upstream producers used."""
        deliveries = Deliveries(app)
        async for events in batches(stream, agent):
            for event in dense(events):
                accepted = await admitted(deliveries, event)
                if accepted is not None:
                    message = event.message
                    key = accepted.record[key_field].encode()
                    origin = Origin(message.topic, message.partition, message.offset, message.key)
                    await deliveries.send(
                        inbox.get_topic_name(), key, message.value or b"", None, [origin.header()]
                    )
            await deliveries.confirm()

    @app.agent(topics.member_inputs, name="intake-members")
    async def intake_members(stream: faust.StreamT) -> None:
        await forward(stream, topics.member_inbox, "member_id", "intake-members")

    @app.agent(topics.agent_inputs, name="intake-agents")
    async def intake_agents(stream: faust.StreamT) -> None:
        await forward(stream, topics.agent_inbox, "agent_id", "intake-agents")

    @app.agent(topics.clock, name="intake-clock")
    async def intake_clock(stream: faust.StreamT) -> AsyncIterator[None]:
        """A business day reaches every member partition, whichever worker holds it, behind
        the member events published before it (`streams.barrier`)."""
        deliveries = Deliveries(app)
        inbox = topics.member_inbox.get_topic_name()
        async for events in batches(stream, "intake-clock"):
            for event in dense(events):
                if await admitted(deliveries, event) is not None:
                    message = event.message
                    await barrier.wait(
                        round(message.timestamp * 1000), f"{message.partition}:{message.offset}"
                    )
                    for partition in range(settings.kafka_partitions):
                        await deliveries.send(inbox, None, event.message.value or b"", partition)
            await deliveries.confirm()
            yield None

    state_topic = settings.topic(MEMBER_STATE)
    inbox_name = topics.member_inbox.get_topic_name()
    restored: set[int] = set()
    """Member partitions whose local state has been brought up to the state topic since
    they were last assigned here."""
    restorer: list[Any] = []
    in_flight = asyncio.Lock()
    """Held by the member agent from a batch's first event to its stored state."""
    revoke_wait = settings.worker_session_timeout * 0.8

    def member_partitions() -> set[int]:
        return {tp.partition for tp in app.consumer.assignment() if tp.topic == inbox_name}

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def finish_in_flight(sender: Any, revoked: set[faust.types.TP], **_: Any) -> None:
        """Let the member batch in flight store its state before the partitions go.

        Partitions are handed out again only once every member of the group has revoked
        (Kafka's eager rebalance), so no other worker can restore a partition while this
        one still writes its state, which would then be missing there (and here, once it
        came back: this store's checkpoint would already be past the other's records). A
        batch that cannot finish in time stops the worker, which stores nothing more.
        """
        restored.difference_update(tp.partition for tp in revoked if tp.topic == inbox_name)
        try:
            await asyncio.wait_for(in_flight.acquire(), revoke_wait)
        except TimeoutError as error:
            app.fail_stop("a member batch outlasting the rebalance", error)  # type: ignore[attr-defined]
        in_flight.release()

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def close_member_state(sender: Any, **_: Any) -> None:
        """Stop the restore consumer on a clean shutdown. (RocksDB is left to the process
        exit: an agent may still be finishing a batch here, and its writes are logged.)"""
        for consumer in restorer:
            await consumer.stop()
        restorer.clear()

    async def settled() -> None:
        """Take `in_flight` at a moment no rebalance is under way, so the assignment read
        under it is the one the batch will be stored under."""
        while True:
            while app.rebalancing:
                await asyncio.sleep(0.05)
            await in_flight.acquire()
            if not app.rebalancing:
                return
            in_flight.release()

    async def ready(partitions: set[int]) -> None:
        """Restore the local state of `partitions` not restored since their assignment."""
        if not restorer:
            from aiokafka import AIOKafkaConsumer

            consumer = AIOKafkaConsumer(
                **aiokafka_options(settings, "worker"),
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                client_id="jamsos-state-restore",
            )
            await consumer.start()
            restorer.append(consumer)
        restored.intersection_update(partitions)
        for partition in sorted(partitions - restored):
            started = time.perf_counter()
            metrics.restoring.add(partition)
            try:
                count = await restore(store, restorer[0], state_topic, partition)
            finally:
                metrics.restoring.discard(partition)
            metrics.restored_members.inc(count)
            if count:
                log.warning(
                    "member partition %d: %d members restored from %s in %.1f s",
                    partition,
                    count,
                    state_topic,
                    time.perf_counter() - started,
                )
            restored.add(partition)

    async def send_state(record: StateRecord) -> Any:
        return await app.producer.send(
            state_topic, record.key, record.value, record.partition, None, record.headers
        )

    @app.agent(topics.member_inbox, name="members")
    async def member_agent(stream: faust.StreamT) -> AsyncIterator[None]:
        """One batch of the member inbox, one transaction: outputs acknowledged, then its
        state (`streams.member_state`), then its offsets.

        Every member partition assigned here is restored before the first batch of any (a
        partition without a message yet is ready when one comes). A batch may still hold
        messages of a partition taken away by a rebalance since they were fetched: they
        are handled as any other (their outputs are the ones the new owner makes from the
        same state, with the same ids), but their state is not stored here; the new owner
        stores it."""
        deliveries = Deliveries(app)
        async for events in batches(stream, "members"):
            dense(events)
            await settled()
            try:
                owned = member_partitions()
                await ready(owned)
                batch = store.begin()
                members.store = batch
                emissions: list[Emission] = []
                for event in events:
                    message = event.message
                    emissions += await isolated(
                        event,
                        (batch,),
                        partial(
                            members.handle,
                            message.partition,
                            message.offset,
                            message.value or b"",
                            Origin.from_headers(message.headers)
                            or Origin(message.topic, message.partition, message.offset, None),
                        ),
                    )
                await publish(deliveries, merge_by_key(emissions, AGENT_INBOX))
                await deliveries.confirm()
                gone = set(batch.partitions) - owned
                if gone:
                    log.warning(
                        "member partitions %s moved away: their state is not stored here",
                        sorted(gone),
                    )
                await store.commit(batch, send_state, partitions=owned)
            finally:
                in_flight.release()
            yield None

    @app.agent(topics.agent_inbox, name="agent-tallies")
    async def agent_tally_agent(stream: faust.StreamT) -> AsyncIterator[None]:
        deliveries = Deliveries(app)
        async for events in batches(stream, "agent-tallies"):
            emissions: list[Emission] = []
            for event in dense(events):
                agent_table.partition = event.message.partition
                with as_current(event):
                    emissions += await isolated(
                        event,
                        (agent_table,),
                        partial(
                            agents.handle, event.message.key or b"", event.message.value or b""
                        ),
                    )
            await publish(deliveries, emissions)
            await settle(deliveries, events, agent_table)
            yield None
