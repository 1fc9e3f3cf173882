"""The Faust agents: intake of the input topics, members, agent tallies.

Agents stay thin: they move bytes between topics and hand each message to a processor
(`streams.member_processor`, `streams.agent_processor`) that holds the logic. The two
inbox agents take their messages in batches (`streams.staging`). Every agent
runs with concurrency 1: with more, Faust may commit past messages still in flight
(faust-streaming issue #606), which could lose events on a crash.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import cast

import faust

from jamsos.contracts.catalog import TOPICS
from jamsos.contracts.intake import Admitted, admit
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from streams.agent_processor import AgentProcessor
from streams.emission import Emission, merge_by_key
from streams.member_processor import AGENT_INBOX, MemberProcessor
from streams.staging import StagedTable, as_current
from streams.tables import WorkerTables
from streams.topics import WorkerTopics

log = logging.getLogger(__name__)


def register_agents(
    app: faust.App,
    settings: Settings,
    topics: WorkerTopics,
    tables: WorkerTables,
    serde: AvroSerde,
) -> None:
    """Attach the worker's agents to `app`."""
    member_table = StagedTable(tables.members)
    state_table = StagedTable(tables.member_partitions)
    agent_table = StagedTable(tables.agents)
    members = MemberProcessor(
        serde,
        member_table,
        state_table,
        nik_secret=settings.nik_key(),
        lapse_months=settings.lapse_months,
    )
    agents = AgentProcessor(serde, agent_table)
    batch_events, batch_seconds = settings.worker_batch_events, settings.worker_batch_seconds
    contract_topic = {settings.topic(name): name for name in TOPICS}

    async def send(
        topic: faust.TopicT, key: bytes | None, value: bytes, partition: int | None = None
    ) -> None:
        """Hand one message to the producer. Straight to the producer, not `Topic.send`:
        Faust's per-message bookkeeping there was a tenth of the worker's time, and
        nothing here needs it (durability comes from `settle`'s flush)."""
        await app.producer.send(topic.get_topic_name(), key, value, partition, None, None)

    async def publish(emissions: list[Emission]) -> None:
        for emission in emissions:
            await send(
                topics.for_emission(emission.topic),
                emission.key,
                emission.value,
                emission.partition,
            )

    def batches(stream: faust.StreamT) -> AsyncIterator[Sequence[faust.EventT]]:
        """The stream's events in batches; acknowledged when the next batch is asked for."""
        return cast(faust.Stream, stream).take_events(batch_events, within=batch_seconds)

    async def settle(events: Sequence[faust.EventT], *staged: StagedTable) -> None:
        """Write a batch's staged table changes, then wait until Kafka has acknowledged
        them and the batch's outputs: only then may its offsets be acknowledged."""
        last: dict[int, faust.EventT] = {}
        for event in events:
            last[event.message.partition] = event
        for partition, event in last.items():
            with as_current(event):
                for table in staged:
                    table.flush(partition)
        await app.producer.flush()

    async def admitted(event: faust.EventT) -> Admitted | None:
        """Decode and validate; invalid messages go to dead-letters and yield None."""
        message = event.message
        outcome = admit(
            serde,
            contract_topic=contract_topic[message.topic],
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            value=message.value,
        )
        if isinstance(outcome, Admitted):
            return outcome
        log.warning(
            "dead letter %s:%s:%s: %s",
            message.topic,
            message.partition,
            message.offset,
            outcome.error,
        )
        await send(
            topics.outputs["dead-letters"],
            message.key,
            serde.encode("dead-letters", "DeadLetter", outcome.dead_letter),
        )
        return None

    async def forward(stream: faust.StreamT, inbox: faust.TopicT, key_field: str) -> None:
        """Valid messages to `inbox`, keyed by `key_field` of their record; bad ones to
        dead-letters. Re-keying by the record makes the inbox's partitioning ours, whatever
        partitioner the upstream producers used."""
        async for event in stream.events():
            accepted = await admitted(event)
            if accepted is not None:
                key = accepted.record[key_field].encode()
                await send(inbox, key, event.message.value or b"")

    @app.agent(topics.member_inputs, name="intake-members")
    async def intake_members(stream: faust.StreamT) -> None:
        await forward(stream, topics.member_inbox, "member_id")

    @app.agent(topics.agent_inputs, name="intake-agents")
    async def intake_agents(stream: faust.StreamT) -> None:
        await forward(stream, topics.agent_inbox, "agent_id")

    @app.agent(topics.clock, name="intake-clock")
    async def intake_clock(stream: faust.StreamT) -> AsyncIterator[None]:
        """A business day reaches every member partition, whichever worker holds it."""
        async for event in stream.events():
            if await admitted(event) is not None:
                for partition in range(settings.kafka_partitions):
                    await send(topics.member_inbox, None, event.message.value or b"", partition)
            yield None

    @app.agent(topics.member_inbox, name="members")
    async def member_agent(stream: faust.StreamT) -> AsyncIterator[None]:
        async for events in batches(stream):
            first: dict[int, int] = {}
            for event in events:
                first.setdefault(event.message.partition, event.message.offset)
            members.begin_batch(first)
            emissions: list[Emission] = []
            for event in events:
                message = event.message
                member_table.partition = state_table.partition = message.partition
                with as_current(event):
                    emissions.extend(
                        members.handle(message.partition, message.offset, message.value or b"")
                    )
            await publish(merge_by_key(emissions, AGENT_INBOX))
            await settle(events, member_table, state_table)
            yield None

    @app.agent(topics.agent_inbox, name="agent-tallies")
    async def agent_tally_agent(stream: faust.StreamT) -> AsyncIterator[None]:
        async for events in batches(stream):
            emissions: list[Emission] = []
            for event in events:
                agent_table.partition = event.message.partition
                with as_current(event):
                    emissions.extend(
                        agents.handle(event.message.key or b"", event.message.value or b"")
                    )
            await publish(emissions)
            await settle(events, agent_table)
            yield None
