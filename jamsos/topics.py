"""Creating and removing the project's Kafka topics (the broker does not auto-create them).

Auto-creation is off in the local broker on purpose: a typo in a topic name should fail,
not silently create a one-partition topic nobody reads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import (
    KafkaError,
    TopicAlreadyExistsError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)

from jamsos.connect import Service, kafka_options
from jamsos.settings import Settings

log = logging.getLogger(__name__)

ADMIN_PROBE_ERRORS = (KafkaError, OSError, KeyError, ValueError, TimeoutError)
"""What asking a live cluster for offsets (`KafkaAdminClient`) may meet: a metadata refresh,
a leader moving, a busy broker. Each makes that one answer unknown, to be asked again
(`jamsos.demo.lag`); none is a reason to stop."""

INPUT_TOPICS = ("enrolments", "contributions", "agents", "clock")
ORDERED_TOPICS = ("clock",)
"""Topics created with one partition, because their order is the contract: ticks carry no
key, so on several partitions a consumer would see a later business day before an earlier
one, and the tick bound (`jamsos.rules.clock`) would refuse the later one as a leap."""
BROKER_TIMED_TOPICS = ("enrolments", "contributions", "clock")
"""Topics whose messages carry the broker's append time (`LogAppendTime`): a tick applies
after every member event that reached Kafka before it *by broker timestamp* (`status.md`),
which the worker merges by timestamp (`streams.merge`); a producer's clock is not trusted
for that order."""
OUTPUT_TOPICS = ("member-status", "lapse-alerts", "agent-tallies", "dead-letters")
SINK_TOPICS = ("member-status", "lapse-alerts", "agent-tallies", "dead-letters", "contributions")
"""Contract topics the sink lands; `contributions` is an input topic, admitted like the
worker admits it, so that invalid payments are skipped here as they are dead-lettered there."""
DEAD_LETTER_REPLAY_GROUP = "jamsos-dead-letter-replay"
"""Default consumer group of `jamsos dead-letters replay`."""

DEAD_LETTER_MAX_BYTES = 2 * 1024 * 1024
"""Largest dead letter a producer sends. A dead letter holds its input's bytes whole, so
it must fit an input as large as the broker accepts (1 MiB by default) plus its reason;
the dead-letter topic is created to take a little more than this."""

APP_NAME = "jamsos-worker"
"""The worker app's id (before the prefix): its consumer group and its topics' stem."""
TABLE_NAMES = ("agents",)
"""The worker's Faust tables; each has a compacted changelog topic (`changelog_topic`)."""


def changelog_topic(table: str) -> str:
    """The changelog topic (before the prefix) Faust names for the worker's `table`."""
    return f"{APP_NAME}-{table}-changelog"


CHANGELOGS = tuple(changelog_topic(table) for table in TABLE_NAMES)

MEMBER_GROUP = f"{APP_NAME}-members"
"""The consumer group of the worker's member side (`streams.member_loop`), which reads
enrolments and contributions with a consumer of its own."""
AGENT_INBOX_TOPIC = "worker.agent-inbox"
INBOXES = (AGENT_INBOX_TOPIC,)
"""The worker's internal topics (names before the prefix)."""
RETIRED_MEMBER_INBOX = "worker.member-inbox"
"""The member inbox of earlier workers, which copied member events there before applying
them. Nothing writes it now; dead letters that name it still go back to their input topic
(`jamsos.contracts.dead_letter_replay`)."""
MEMBER_STATE = "worker.member-state"
"""The member side's compacted state topic (`streams.member_state`), one partition per
member partition (partition `p` of enrolments and contributions)."""
STATE_TOPICS = (*CHANGELOGS, MEMBER_STATE)
"""The worker's compacted topics: Faust's table changelogs and its own state topic."""


def _admin(settings: Settings, service: Service = "admin") -> KafkaAdminClient:
    return KafkaAdminClient(**kafka_options(settings, service), client_id=f"jamsos-{service}")


def topic_configs(settings: Settings, name: str = "") -> dict[str, str]:
    """Per-topic configs topic `name` (before the prefix) is created with. Retention is
    long enough to replay the pipeline over `topic_retention_days` (the broker's 7-day
    default would make a 12-month replay, and a late dead-letter replay, impossible)."""
    configs = {"retention.ms": str(settings.topic_retention_days * 24 * 3600 * 1000)}
    if name in BROKER_TIMED_TOPICS:
        configs["message.timestamp.type"] = "LogAppendTime"
    return configs


def partition_count(settings: Settings, name: str, partitions: int | None = None) -> int:
    """How many partitions topic `name` (before the prefix) is created with."""
    return 1 if name in ORDERED_TOPICS else partitions or settings.kafka_partitions


def ensure_topics(
    settings: Settings,
    names: Iterable[str],
    partitions: int | None = None,
    *,
    compacted: bool = False,
    service: Service = "admin",
) -> None:
    """Create the physical topics of `names` (before the prefix) that do not exist yet;
    `compacted` for topics that keep the last value per key (state changelogs). On a
    secured cluster `service` must be allowed to create them, unless an admin did first."""
    names = list(names)
    counts = {settings.topic(name): partition_count(settings, name, partitions) for name in names}
    contract_name = {settings.topic(name): name for name in names}
    admin = _admin(settings, service)
    try:
        existing = set(admin.list_topics())
        missing = [name for name in counts if name not in existing]
        if not missing:
            return
        new = [
            NewTopic(
                name,
                num_partitions=counts[name],
                replication_factor=settings.kafka_replication_factor,
                topic_configs=creation_configs(settings, contract_name[name], compacted=compacted),
            )
            for name in missing
        ]
        try:
            admin.create_topics(new)
        except TopicAlreadyExistsError:
            log.debug("a concurrent creator made some of %s first", missing)
        except TopicAuthorizationFailedError:
            from jamsos.access import AccessError, topics_refusal

            raise AccessError(topics_refusal(settings, service, "create", missing)) from None
        log.info("created topics %s", {name: counts[name] for name in missing})
    finally:
        admin.close()


def creation_configs(settings: Settings, name: str, *, compacted: bool) -> dict[str, str]:
    """Every config topic `name` (before the prefix) is created with: compaction for
    state changelogs, else retention and timestamps (`topic_configs`); the dead letters'
    larger messages; and, when set, `min.insync.replicas` for all."""
    configs = {"cleanup.policy": "compact"} if compacted else topic_configs(settings, name)
    if name == "dead-letters" and not compacted:
        configs["max.message.bytes"] = str(DEAD_LETTER_MAX_BYTES + 64 * 1024)
    if settings.kafka_min_insync_replicas is not None:
        configs["min.insync.replicas"] = str(settings.kafka_min_insync_replicas)
    return configs


def wait_for_partitions(
    partitions_for_topic: Callable[[str], Collection[int] | None],
    topics: Iterable[str],
    timeout: float = 60.0,
) -> None:
    """Until a client's metadata (`partitions_for_topic` of a consumer) knows every one of
    the physical `topics`. A consumer that subscribes earlier, right after the topics were
    created, can leave one out of its first assignment and not look again until its next
    metadata refresh, minutes later: its partitions would sit unread."""
    deadline = time.monotonic() + timeout
    missing = list(topics)
    while True:
        missing = [topic for topic in missing if not partitions_for_topic(topic)]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"topics {', '.join(missing)} have no partitions after {timeout:.0f}s"
            )
        time.sleep(0.2)


def delete_topics_with_prefix(settings: Settings, prefix: str) -> list[str]:
    """Delete every topic whose name starts with `prefix` (test clean-up); returns them."""
    if not prefix:
        raise ValueError("refusing to delete topics with an empty prefix")
    admin = _admin(settings)
    try:
        doomed = [name for name in admin.list_topics() if name.startswith(prefix)]
        if doomed:
            try:
                admin.delete_topics(doomed)
            except UnknownTopicOrPartitionError:
                log.debug("some of %s were already gone", doomed)
        return doomed
    finally:
        admin.close()
