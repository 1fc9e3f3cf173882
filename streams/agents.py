"""The Faust agents (intake of the agents topic, agent tallies) and the member loop.

Agents stay thin: they move bytes between topics and hand each message to a processor
(`streams.agent_processor`) that holds the logic. The agent inbox is taken in batches
(`streams.staging`). Every agent runs with concurrency 1: with more, Faust may commit past
messages still in flight (faust-streaming issue #606), which could lose events on a crash.
The member side is not a Faust agent: it runs its own consumer (`streams.member_loop`),
started and stopped with the app.

Failures: a message whose processing raises is quarantined on its own
(`streams.quarantine`) and its batch goes on; a schema-registry outage is waited out.
Anything else that escapes an agent or the member loop stops the whole worker at once
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
from typing import Any, cast

import faust

from jamsos.contracts.catalog import TOPICS
from jamsos.contracts.intake import Admitted, admit
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from streams.agent_processor import AgentProcessor, is_agent_record
from streams.agent_store import ConfirmedTable, RevocationFence
from streams.delivery import Deliveries
from streams.emission import Emission
from streams.member_loop import MemberLoop
from streams.member_processor import MemberProcessor
from streams.member_state import MemberStore
from streams.metrics import WorkerMetrics
from streams.offsets import OffsetGuard, SkippedOffsetsError, StallWatch
from streams.quarantine import isolated, quarantined, until_registry_answers
from streams.staging import StagedTable, as_current
from streams.tables import WorkerTables
from streams.topics import WorkerTopics

log = logging.getLogger(__name__)

STALL_CHECK_SECONDS = 10.0


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
    *,
    instance_id: str | None = None,
) -> None:
    """Attach the worker's agents and its member loop to `app`, counting what they do in
    `metrics`; the member side keeps its state in `store` (`streams.member_state`)."""
    agent_store = ConfirmedTable(tables.agents)
    agent_table = StagedTable(agent_store, first=is_agent_record)
    fence = RevocationFence(app)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def wait_for_the_agent_batch(sender: Any, revoked: Any = None, **_: Any) -> None:
        """A revocation completes only after the agent-tally batch in flight has committed
        (`streams.agent_store`)."""
        await fence.revoked()

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

    loop = MemberLoop(
        app,
        settings,
        serde,
        members,
        store,
        metrics,
        instance_id=instance_id,
        agent_inbox=topics.agent_inbox.get_topic_name(),
        output_topic=lambda name: topics.outputs[name].get_topic_name(),
    )

    @app.task
    async def member_loop() -> None:
        """The member side (`streams.member_loop`), for the worker's lifetime; anything
        that escapes it stops the worker."""
        try:
            await loop.start()
            await loop.run()
        except asyncio.CancelledError:
            raise
        except BaseException as error:
            app.fail_stop("the member loop", error)  # type: ignore[attr-defined]

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def stop_member_loop(sender: Any, **_: Any) -> None:
        """Stop the member consumers on a clean shutdown, leaving the group at once.
        (RocksDB is left to the process exit.)"""
        await loop.stop()

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

    async def settle(deliveries: Deliveries, events: Sequence[faust.EventT]) -> None:
        """Send a batch's staged table changes and wait until Kafka has acknowledged them
        and the batch's outputs: only then may its offsets be acknowledged."""
        last: dict[int, faust.EventT] = {}
        for event in events:
            last[event.message.partition] = event
        for partition, event in last.items():
            with as_current(event):
                agent_table.flush(partition)
        await agent_store.commit(deliveries)

    def poison(event: faust.EventT) -> Callable[[Exception], list[Emission]]:
        def letter(error: Exception) -> list[Emission]:
            metrics.dead_letters.labels("PROCESSING_ERROR").inc()
            message = event.message
            return [
                quarantined(
                    serde,
                    error,
                    topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    key=message.key,
                    value=message.value,
                )
            ]

        return letter

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

    @app.agent(topics.agent_inputs, name="intake-agents")
    async def intake_agents(stream: faust.StreamT) -> None:
        """Valid agent records to the agent inbox, keyed by `agent_id`; bad ones to
        dead-letters. Re-keying by the record makes the inbox's partitioning ours, whatever
        partitioner the upstream producers used."""
        deliveries = Deliveries(app)
        inbox = topics.agent_inbox.get_topic_name()
        async for events in batches(stream, "intake-agents"):
            metrics.inputs.labels("agents").inc(len(events))
            for event in dense(events):
                accepted = await admitted(deliveries, event)
                if accepted is not None:
                    message = event.message
                    key = accepted.record["agent_id"].encode()
                    await deliveries.send(inbox, key, message.value or b"")
            await deliveries.confirm()

    @app.agent(topics.agent_inbox, name="agent-tallies")
    async def agent_tally_agent(stream: faust.StreamT) -> AsyncIterator[None]:
        """Agent books from the agent inbox, a batch at a time under the revocation fence
        (`streams.agent_store`)."""
        deliveries = Deliveries(app)
        collected_since = fence.revocations
        async for events in batches(stream, "agent-tallies"):
            since, collected_since = collected_since, fence.revocations
            dense(events)
            if fence.revocations != since:
                await fence.settled()
            async with fence.lock:
                if fence.revocations != since:
                    events = fence.still_held(events)
                agents.begin_batch()
                emissions: list[Emission] = []
                for event in events:
                    agent_table.partition = event.message.partition
                    with as_current(event):
                        emissions += await isolated(
                            (agent_table,),
                            partial(
                                agents.handle,
                                event.message.key or b"",
                                event.message.value or b"",
                            ),
                            poison(event),
                        )
                await publish(deliveries, emissions)
                await settle(deliveries, events)
            yield None
