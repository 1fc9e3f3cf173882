"""How far a consumer group is behind: the signal that the pipeline has caught up."""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition

from jamsos.settings import Settings


def group_lag(settings: Settings, group: str, topics: list[str]) -> int | None:
    """Messages of `topics` (physical names) the group has not committed yet.

    None while the group has not committed an offset on every partition that holds data.
    The consumer only asks for the group's committed offsets; it never joins the group.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        lag = 0
        for tp, end in consumer.end_offsets(partitions).items():
            if end == 0:
                continue
            committed = consumer.committed(tp)
            if committed is None:
                return None
            lag += max(0, end - committed)
        return lag
    finally:
        consumer.close()
