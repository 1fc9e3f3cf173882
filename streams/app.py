"""`create_app(settings)`: the Faust application of `jamsos worker`."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import faust
from faust.types import AgentT

from jamsos.connect import faust_credentials
from jamsos.contracts.registry import SchemaRegistry
from jamsos.contracts.serde import AvroSerde
from jamsos.exits import EXIT_AGENT_FAILED
from jamsos.settings import Settings
from jamsos.topics import APP_NAME, DEAD_LETTER_MAX_BYTES
from streams.agents import register_agents
from streams.member_state import MemberStore
from streams.metrics import WorkerMetrics
from streams.tables import define_tables
from streams.topics import define_topics

log = logging.getLogger(__name__)


class WorkerApp(faust.App):
    """The Faust app, except that an agent failure ends the process (fail-stop).

    Faust calls `_on_agent_error` (handed to every agent as its `on_error`) before it marks
    the agent crashed, restarts it and acknowledges the failed batch; ending the process
    here means nothing of that batch is committed. `os._exit`, not `sys.exit`: no shutdown
    path may commit offsets. `tests/unit/streams/test_faust_contract.py` guards the hook.
    """

    metrics: WorkerMetrics
    """This worker's Prometheus metrics and health (`streams.metrics`)."""

    async def _on_agent_error(self, agent: AgentT, exc: BaseException) -> None:
        self.fail_stop(f"agent {agent.name}", exc)

    def fail_stop(self, what: str, exc: BaseException) -> None:
        """End the process at once, committing nothing (see the class docstring)."""
        log.critical(
            "%s failed; stopping the worker without committing: %r",
            what,
            exc,
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        logging.shutdown()
        os._exit(EXIT_AGENT_FAILED)


def create_app(
    settings: Settings, *, data_dir: str | None = None, instance_id: str | None = None
) -> WorkerApp:
    """The worker app: topics, RocksDB tables and agents, configured from `settings`.

    `instance_id` (the worker's name) makes it a *static* member of the consumer group: a
    worker restarted after a crash under the same name gets its partitions back at once,
    instead of after the session timeout of the member that died.
    """
    data_dir = data_dir or str(settings.state_dir / "worker")
    app = WorkerApp(
        settings.topic(APP_NAME),
        broker=f"kafka://{settings.kafka_bootstrap}",
        broker_credentials=faust_credentials(settings, "worker"),
        store="rocksdb://",
        datadir=data_dir,
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=settings.kafka_replication_factor,
        key_serializer="raw",
        value_serializer="raw",
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        web_enabled=False,
        table_standby_replicas=0,
        stream_wait_empty=False,
        consumer_group_instance_id=instance_id,
        broker_session_timeout=settings.worker_session_timeout,
        broker_heartbeat_interval=settings.worker_session_timeout / 4,
        # Larger produce batches, a few milliseconds apart: a member event makes several
        # messages, and per-request overhead in aiokafka was a large share of the worker.
        producer_linger=0.005,
        producer_max_batch_size=512 * 1024,
        stream_buffer_maxsize=16384,
        # Room for a dead letter holding the largest input the broker accepts.
        producer_max_request_size=DEAD_LETTER_MAX_BYTES,
    )
    serde = AvroSerde(SchemaRegistry.from_settings(settings))
    app.metrics = WorkerMetrics()
    register_agents(
        app,
        settings,
        define_topics(app, settings),
        define_tables(app, settings),
        serde,
        app.metrics,
        MemberStore(Path(data_dir) / "member-state.rocksdb"),
        instance_id=instance_id,
    )
    return app
