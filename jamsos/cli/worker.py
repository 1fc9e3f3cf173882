"""`jamsos worker`: a Faust worker keeping member status and agent tallies."""

from __future__ import annotations

import click
from kafka import KafkaConsumer

from jamsos.access import check_kafka, check_registry
from jamsos.cli.common import load_settings, one_line_errors
from jamsos.connect import kafka_options
from jamsos.contracts.catalog import TOPICS
from jamsos.topics import STATE_TOPICS, ensure_topics, wait_for_partitions


@click.command()
@click.option(
    "--name",
    default="worker-1",
    show_default=True,
    help="Worker name; its RocksDB state lives under <state dir>/workers/<name>.",
)
@click.option("--bootstrap", "kafka_bootstrap", help="Kafka bootstrap servers.")
@click.option("--registry-url", help="Schema registry base URL.")
@click.option("--topic-prefix", help="Prefix of the physical topic names.")
@click.option("--loglevel", default="warning", show_default=True)
@one_line_errors
def worker(name: str, loglevel: str, **flags: str | None) -> None:
    """Run one worker; start several (different --name) to share the partitions."""
    from streams.app import create_app
    from streams.topics import INBOXES
    from streams.worker import Worker

    settings = load_settings(**flags)
    settings.nik_key()  # refuses to start without JAMSOS_NIK_SECRET outside the local stack
    # Every topic the worker reads or writes exists, and is in the broker's metadata,
    # before Faust subscribes. A topic Faust itself created a moment before could be
    # missing from its first assignment ("Ignoring missing topic") and stay unread; a
    # changelog another worker was still creating is seen with 0 partitions, and every
    # table write fails (PartitionsMismatch) until the next metadata refresh, minutes on.
    names = [*TOPICS, *INBOXES, *STATE_TOPICS]
    check_kafka(settings, "worker")
    check_registry(settings)
    ensure_topics(settings, [*TOPICS, *INBOXES], service="worker")
    ensure_topics(settings, STATE_TOPICS, compacted=True, service="worker")
    check_kafka(settings, "worker", names)
    probe = KafkaConsumer(**kafka_options(settings, "worker"))
    try:
        wait_for_partitions(probe.partitions_for_topic, [settings.topic(n) for n in names])
        clock_partitions = probe.partitions_for_topic(settings.topic("clock")) or set()
    finally:
        probe.close()
    if len(clock_partitions) > 1:
        click.echo(
            f"warning: topic {settings.topic('clock')} has {len(clock_partitions)} partitions: "
            "ticks may arrive out of order, and one more than "
            f"{settings.max_tick_advance_days} days ahead of the one before is refused "
            "(a dead letter); create it with one partition",
            err=True,
        )
    data_dir = settings.state_dir / "workers" / f"{settings.topic_prefix}{name}"
    data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings, data_dir=str(data_dir), instance_id=f"{settings.topic_prefix}{name}")
    if settings.metrics_port:
        from jamsos.metrics import serve

        serve(
            settings.metrics_host,
            settings.metrics_port,
            app.metrics.registry,
            app.metrics.health(app),
        )
    Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()
