"""What every topic is created with: retention, broker timestamps, compaction, and the
durability settings a production cluster needs (`min.insync.replicas`)."""

from __future__ import annotations

from jamsos.settings import Settings
from jamsos.topics import creation_configs


def test_the_local_stack_leaves_min_insync_replicas_to_the_broker() -> None:
    local = Settings()
    assert local.kafka_replication_factor == 1
    for name in ("enrolments", "dead-letters"):
        assert "min.insync.replicas" not in creation_configs(local, name, compacted=False)
    assert creation_configs(local, "enrolments", compacted=False)["message.timestamp.type"] == (
        "LogAppendTime"
    )


def test_a_cluster_setting_reaches_every_topic_compacted_or_not() -> None:
    cluster = Settings(kafka_replication_factor=3, kafka_min_insync_replicas=2)
    inputs = creation_configs(cluster, "contributions", compacted=False)
    changelog = creation_configs(cluster, "worker-members-changelog", compacted=True)
    letters = creation_configs(cluster, "dead-letters", compacted=False)
    assert inputs["min.insync.replicas"] == changelog["min.insync.replicas"] == "2"
    assert changelog["cleanup.policy"] == "compact"
    assert "retention.ms" not in changelog
    assert int(letters["max.message.bytes"]) > 2 * 1024 * 1024
    assert letters["min.insync.replicas"] == "2"
