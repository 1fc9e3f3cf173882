"""How far the worker and sink groups are behind: the signal that the pipeline caught up.

Used by the demo and the benchmarks. Lag is read from the groups' committed offsets with
one long-lived consumer and admin client, which never join the groups, so polling it
often costs a few milliseconds.
"""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

from jamsos.settings import Settings

WORKER_INPUTS = (
    "enrolments",
    "contributions",
    "agents",
    "clock",
    "worker.member-inbox",
    "worker.agent-inbox",
)
"""Topics the worker group consumes (contract inputs and its own inboxes)."""
SINK_INPUTS = ("member-status", "lapse-alerts", "agent-tallies", "dead-letters", "contributions")
"""Topics the sink group consumes."""


class LagProbe:
    """Committed-offset lag of the consumer groups of one run (`settings`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False
        )
        self.admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        self._partitions: dict[tuple[str, ...], list[TopicPartition]] = {}

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()

    def lag(self, group: str, topics: tuple[str, ...]) -> int | None:
        """Messages of `topics` (contract names) not yet committed by `group`; None before
        its first commit on a partition that holds data."""
        partitions = self._topic_partitions(topics)
        offsets = self._committed(group, partitions)
        lag = 0
        for tp, end in self.consumer.end_offsets(partitions).items():
            if end == 0:
                continue
            done = offsets.get(tp)
            if done is None:
                return None
            lag += max(0, end - done)
        return lag

    def worker_lag(self) -> int | None:
        return self.lag(self.settings.topic("jamsos-worker"), WORKER_INPUTS)

    def sink_lag(self) -> int | None:
        return self.lag(self.settings.sink_group, SINK_INPUTS)

    def caught_up(self) -> bool:
        """Worker and sink have committed everything there is."""
        return self.worker_lag() == 0 and self.sink_lag() == 0

    def _committed(self, group: str, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        """The group's committed offsets, asked of its coordinator without joining it."""
        answer = self.admin.list_group_offsets({group: partitions})[group]
        return {tp: meta.offset for tp, meta in answer.items() if meta.offset >= 0}

    def _topic_partitions(self, topics: tuple[str, ...]) -> list[TopicPartition]:
        """Partitions of `topics`, remembered once every topic exists."""
        if topics in self._partitions:
            return self._partitions[topics]
        found = [
            (topic, self.consumer.partitions_for_topic(self.settings.topic(topic)))
            for topic in topics
        ]
        partitions = [
            TopicPartition(self.settings.topic(topic), p) for topic, ps in found for p in ps or ()
        ]
        if all(ps for _, ps in found):
            self._partitions[topics] = partitions
        return partitions
