"""The Faust app's topics: the agents input, the agent inbox and the output topics.

Every topic carries raw bytes: values are Confluent Avro (the contract) or, on the agent
inbox, small JSON share updates, and the worker decodes them itself with the shared serde.
The member side reads enrolments, contributions and the clock with consumers of its own
(`streams.member_loop`), not through Faust.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from jamsos.settings import Settings
from jamsos.topics import AGENT_INBOX_TOPIC, INBOXES, MEMBER_STATE

__all__ = [
    "AGENT_INBOX_TOPIC",
    "INBOXES",
    "MEMBER_STATE",
    "WorkerTopics",
    "define_topics",
]

OUTPUTS = ("member-status", "lapse-alerts", "agent-tallies", "dead-letters")


@dataclass(frozen=True)
class WorkerTopics:
    """Faust topic objects of one app, by role."""

    agent_inputs: faust.TopicT
    agent_inbox: faust.TopicT
    outputs: dict[str, faust.TopicT]

    def for_emission(self, name: str) -> faust.TopicT:
        """The topic an emission names: an output contract topic or the agent inbox."""
        return self.agent_inbox if name == "agent-inbox" else self.outputs[name]

    def readers(self) -> dict[str, str]:
        """Topic name -> the agent that reads it (the names `streams.agents` gives them)."""
        roles = {
            "intake-agents": self.agent_inputs,
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
        agent_inputs=_raw(app, settings.topic("agents"), partitions=n),
        agent_inbox=_raw(app, settings.topic(AGENT_INBOX_TOPIC), partitions=n, internal=True),
        outputs={name: _raw(app, settings.topic(name), partitions=n) for name in OUTPUTS},
    )
