"""The worker's topics: contract topics (input and output) and its two internal inboxes.

Every topic carries raw bytes: values are Confluent Avro (the contract) or, on the agent
inbox, small JSON share updates, and the worker decodes them itself with the shared serde.

The *member inbox* gives each member partition one totally ordered stream of enrolments,
contributions and business-day ticks. Reading the two input topics directly would let
their interleaving differ between a run and its re-run after a crash, and with it the
intermediate status changes; through the inbox a re-run sees exactly the same order.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from jamsos.settings import Settings
from jamsos.topics import AGENT_INBOX_TOPIC, INBOXES, MEMBER_INBOX, MEMBER_STATE, partition_count

__all__ = [
    "AGENT_INBOX_TOPIC",
    "INBOXES",
    "MEMBER_INBOX",
    "MEMBER_STATE",
    "WorkerTopics",
    "define_topics",
]

MEMBER_INPUTS = ("enrolments", "contributions")
OUTPUTS = ("member-status", "lapse-alerts", "agent-tallies", "dead-letters")


@dataclass(frozen=True)
class WorkerTopics:
    """Faust topic objects of one app, by role."""

    member_inputs: faust.TopicT
    clock: faust.TopicT
    agent_inputs: faust.TopicT
    member_inbox: faust.TopicT
    agent_inbox: faust.TopicT
    outputs: dict[str, faust.TopicT]

    def for_emission(self, name: str) -> faust.TopicT:
        """The topic an emission names: an output contract topic or the agent inbox."""
        return self.agent_inbox if name == "agent-inbox" else self.outputs[name]

    def readers(self) -> dict[str, str]:
        """Topic name -> the agent that reads it (the names `streams.agents` gives them)."""
        roles = {
            "intake-members": self.member_inputs,
            "intake-clock": self.clock,
            "intake-agents": self.agent_inputs,
            "members": self.member_inbox,
            "agent-tallies": self.agent_inbox,
        }
        return {name: agent for agent, topic in roles.items() for name in topic.topics}


def _raw(app: faust.App, *names: str, partitions: int, internal: bool = False) -> faust.TopicT:
    return app.topic(
        *names,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
        internal=internal,
    )


def define_topics(app: faust.App, settings: Settings) -> WorkerTopics:
    n = settings.kafka_partitions
    return WorkerTopics(
        member_inputs=_raw(app, *(settings.topic(t) for t in MEMBER_INPUTS), partitions=n),
        clock=_raw(app, settings.topic("clock"), partitions=partition_count(settings, "clock")),
        agent_inputs=_raw(app, settings.topic("agents"), partitions=n),
        member_inbox=_raw(app, settings.topic(MEMBER_INBOX), partitions=n, internal=True),
        agent_inbox=_raw(app, settings.topic(AGENT_INBOX_TOPIC), partitions=n, internal=True),
        outputs={name: _raw(app, settings.topic(name), partitions=n) for name in OUTPUTS},
    )
