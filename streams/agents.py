"""The Faust agents: intake of the input topics, members, agent tallies.

Agents stay thin: they move bytes between topics and hand each message to a processor
(`streams.member_processor`, `streams.agent_processor`) that holds the logic. Every agent
runs with concurrency 1: with more, Faust may commit past messages still in flight
(faust-streaming issue #606), which could lose events on a crash.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import faust

from jamsos.contracts.catalog import TOPICS
from jamsos.contracts.intake import Admitted, admit
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from streams.agent_processor import AgentProcessor
from streams.emission import Emission
from streams.member_processor import MemberProcessor
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
    members = MemberProcessor(
        serde,
        tables.members,
        tables.member_partitions,
        nik_secret=settings.nik_key(),
        lapse_months=settings.lapse_months,
    )
    agents = AgentProcessor(serde, tables.agents)
    contract_topic = {settings.topic(name): name for name in TOPICS}

    async def publish(emissions: list[Emission]) -> None:
        for emission in emissions:
            await topics.for_emission(emission.topic).send(
                key=emission.key, value=emission.value, partition=emission.partition
            )

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
        await topics.outputs["dead-letters"].send(
            key=message.key,
            value=serde.encode("dead-letters", "DeadLetter", outcome.dead_letter),
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
                await inbox.send(key=key, value=event.message.value)

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
                    await topics.member_inbox.send(value=event.message.value, partition=partition)
            yield None

    @app.agent(topics.member_inbox, name="members")
    async def member_agent(stream: faust.StreamT) -> AsyncIterator[None]:
        async for event in stream.events():
            message = event.message
            await publish(members.handle(message.partition, message.offset, message.value))
            yield None

    @app.agent(topics.agent_inbox, name="agent-tallies")
    async def agent_tally_agent(stream: faust.StreamT) -> AsyncIterator[None]:
        async for event in stream.events():
            await publish(agents.handle(event.message.key, event.message.value))
            yield None
