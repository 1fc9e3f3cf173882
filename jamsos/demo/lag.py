"""How far the worker and sink groups are behind: the signal that the pipeline caught up.

Used by the demo and the benchmarks. Everything is asked of the broker through one
long-lived admin client that never joins the groups: partitions (`describe_topics`), log end
offsets (`list_partition_offsets`, routed to each partition's leader) and the groups'
committed offsets (`list_group_offsets`). A probe is judged against a live cluster, so an
answer can be partial or fail (a metadata refresh, a leader moving, a broker busy): such a
reading is *unknown* (`None`), never an exception, and the caller decides how long unknown
may last. A partition the group has not committed on yet counts as wholly behind, so a
worker that never commits on one partition shows as lag, not as no reading at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka import TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec

from jamsos.connect import kafka_options
from jamsos.settings import Settings
from jamsos.topics import ADMIN_PROBE_ERRORS, AGENT_INBOX_TOPIC, APP_NAME, MEMBER_GROUP

log = logging.getLogger(__name__)

WORKER_INPUTS = ("agents", AGENT_INBOX_TOPIC)
"""Topics the worker's Faust group consumes (the agent side)."""
MEMBER_INPUTS = ("enrolments", "contributions")
"""Topics the worker's member group consumes; each of its commits also names, as
metadata, the next clock offset the partition has to apply (`streams.member_loop`)."""
CLOCK_COMMIT = "clock="
SINK_INPUTS = ("member-status", "lapse-alerts", "agent-tallies", "dead-letters", "contributions")
"""Topics the sink group consumes."""

FAILURES_BEFORE_RECONNECT = 5
"""Unknown readings in a row after which the admin client is replaced by a new one: a
client whose connections went bad keeps failing, a new one asks afresh."""


@dataclass(frozen=True)
class GroupLag:
    """One reading of a group: messages committed so far and messages still to commit."""

    committed: int
    behind: int


class LagProbe:
    """Committed-offset lag of the consumer groups of one run (`settings`)."""

    def __init__(self, settings: Settings, request_timeout_ms: int = 10_000) -> None:
        self.settings = settings
        self.timeout_ms = request_timeout_ms
        self.admin = self._connect()
        self._partitions: dict[tuple[str, ...], list[TopicPartition]] = {}
        self.problem = "no answer asked for yet"
        """Why the last unknown reading was unknown (for a stall's one-line reason)."""
        self._failures = 0

    def _connect(self) -> KafkaAdminClient:
        return KafkaAdminClient(
            **kafka_options(self.settings, "admin"), request_timeout_ms=self.timeout_ms
        )

    def close(self) -> None:
        self.admin.close()

    def reading(self, group: str, topics: tuple[str, ...]) -> GroupLag | None:
        """`group`'s progress on `topics` (contract names); None when unknown: a topic not
        there yet, or a partial or failed answer of the cluster (`problem` says which)."""
        try:
            lag = self._reading(group, topics)
        except ADMIN_PROBE_ERRORS as error:
            lag = None
            self.problem = f"asking for the lag of {group} failed: {type(error).__name__}"
            if str(error):
                self.problem += f": {error}"
        if lag is not None:
            self._failures = 0
            return lag
        log.info("lag unknown this time: %s", self.problem)
        self._failures += 1
        if self._failures >= FAILURES_BEFORE_RECONNECT:
            self._failures = 0
            self._partitions.clear()
            self.admin.close()
            self.admin = self._connect()
        return None

    def _reading(self, group: str, topics: tuple[str, ...]) -> GroupLag | None:
        partitions = self._topic_partitions(topics)
        if not partitions:
            self.problem = f"topics {', '.join(topics)} not found"
            return None
        clock = self._topic_partitions(("clock",)) if topics == MEMBER_INPUTS else []
        ends = self.admin.list_partition_offsets(
            dict.fromkeys([*partitions, *clock], OffsetSpec.LATEST), timeout_ms=self.timeout_ms
        )
        answer = self.admin.list_group_offsets({group: partitions})[group]
        committed = {tp: meta.offset for tp, meta in answer.items() if meta.offset >= 0}
        done = behind = 0
        for tp in [*partitions, *clock]:
            if ends.get(tp) is None:
                self.problem = f"no end offset for {tp.topic}:{tp.partition} in the answer"
                return None
        for tp in partitions:
            offset = committed.get(tp, 0)
            done += offset
            behind += max(0, ends[tp].offset - offset)
        if clock:
            # Ticks still to apply, per member partition (read off its enrolments commit).
            ticks = ends[clock[0]].offset
            first = self.settings.topic(MEMBER_INPUTS[0])
            for tp in partitions:
                if tp.topic == first:
                    behind += max(0, ticks - _clock_offset(answer.get(tp)))
        return GroupLag(done, behind)

    @property
    def worker_group(self) -> str:
        return self.settings.topic(APP_NAME)

    def worker(self) -> GroupLag | None:
        """The worker's progress: its Faust group on the agent side, its member group on
        the member inputs, and the ticks each member partition has still to apply."""
        agents = self.reading(self.worker_group, WORKER_INPUTS)
        members = self.reading(self.settings.topic(MEMBER_GROUP), MEMBER_INPUTS)
        if agents is None or members is None:
            return None
        return GroupLag(agents.committed + members.committed, agents.behind + members.behind)

    def sink(self) -> GroupLag | None:
        return self.reading(self.settings.sink_group, SINK_INPUTS)

    def caught_up(self) -> bool:
        """Worker and sink have committed everything there is."""
        worker, sink = self.worker(), self.sink()
        return worker is not None and sink is not None and worker.behind == sink.behind == 0

    def _topic_partitions(self, topics: tuple[str, ...]) -> list[TopicPartition]:
        """Partitions of `topics`, remembered once every topic exists."""
        if topics in self._partitions:
            return self._partitions[topics]
        names = [self.settings.topic(topic) for topic in topics]
        existing = set(self.admin.list_topics())
        described = self.admin.describe_topics([n for n in names if n in existing])
        partitions = [
            TopicPartition(topic["name"], p["partition_index"])
            for topic in described
            if not topic.get("error_code")
            for p in topic["partitions"]
        ]
        if {tp.topic for tp in partitions} == set(names):
            self._partitions[topics] = partitions
        return partitions


def _clock_offset(meta: object) -> int:
    """The next clock offset a member-group commit names in its metadata (0 if none)."""
    metadata = getattr(meta, "metadata", None) or ""
    if getattr(meta, "offset", -1) < 0 or not metadata.startswith(CLOCK_COMMIT):
        return 0
    try:
        return int(metadata[len(CLOCK_COMMIT) :])
    except ValueError:
        return 0
