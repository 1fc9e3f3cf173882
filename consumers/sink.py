"""The Kafka -> ClickHouse sink: batches per partition, commits only what ClickHouse took.

One consumer (kafka-python, manual commits) reads the output topics and `contributions`.
Every message becomes rows of one or two tables (`jamsos.warehouse.rows`) in the buffer of
its partition. A flush, on `sink_batch_rows` buffered rows or after `sink_flush_seconds`,
inserts one batch per table; only when every table has accepted its batch do the flushed
offsets become committable. When ClickHouse fails, the same batch is retried with
exponential back-off (`sink_retry_initial` doubling to `sink_retry_max`), tables that
already accepted it are not re-sent, and the consumer is paused but keeps polling, so it
stays in its group through a long outage without reading more than it can hold.

Nothing here de-duplicates: a crash between insert and commit re-delivers rows that
already landed, and the tables (ReplacingMergeTree keyed by the record's id or key,
versioned so that the latest wins, see deploy/clickhouse) collapse the copies. Inserting
late or twice is therefore always safe; committing early never happens.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from consumers.writer import TableWriter
from jamsos.connect import kafka_options
from jamsos.contracts.errors import ContractError
from jamsos.contracts.intake import Admitted, admit
from jamsos.contracts.redaction import redactor
from jamsos.contracts.registry import RegistryError
from jamsos.contracts.serde import AvroSerde
from jamsos.settings import Settings
from jamsos.topics import SINK_TOPICS, wait_for_partitions
from jamsos.warehouse.client import make_client
from jamsos.warehouse.kpi import KpiRefresher
from jamsos.warehouse.rows import (
    CHANGED_DAYS_TABLE,
    Position,
    Row,
    changed_days,
    refused_row_dead_letter,
    rows_for,
)

log = logging.getLogger(__name__)


REPORT_SECONDS = 30.0
"""How often a running sink logs its progress line."""


@dataclass
class SinkStats:
    """What a sink run did, for logs, `--until-idle` reports and benchmarks."""

    messages: int = 0
    rows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    skipped: int = 0
    quarantined: int = 0
    """Rows ClickHouse refused, landed as `WAREHOUSE_REFUSED` dead letters instead."""
    flushes: int = 0
    failed_attempts: int = 0
    commits: int = 0
    first_message_at: float | None = None
    """`time.monotonic()` when the first message arrived (after joining the group)."""
    last_flush_at: float | None = None
    """`time.monotonic()` when ClickHouse accepted the last batch."""
    flush_seconds: float = 0.0
    """Time spent in flushes ClickHouse accepted (inserting, sifting refused rows)."""
    paused_seconds: float = 0.0
    """Time the consumer spent paused while ClickHouse refused or was away."""
    loop_at: float = field(default_factory=time.monotonic)
    """`time.monotonic()` of the main loop's latest turn (a liveness heartbeat)."""
    assigned: int = 0
    paused: int = 0
    committed_lag: int | None = None
    """Messages past the committed offsets of the assigned partitions (every report)."""

    @property
    def rows_total(self) -> int:
        return sum(self.rows.values())


@dataclass(frozen=True, slots=True)
class _Source:
    """The message a row came from, kept to name it should the warehouse refuse the row."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class _Buffer:
    """Rows read from one partition and not flushed yet, and the offset after them."""

    rows: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))
    sources: dict[str, list[_Source]] = field(default_factory=lambda: defaultdict(list))
    count: int = 0
    first_offset: int | None = None
    """Offset of the first message read into the buffer: where to read again from if the
    buffer must be dropped."""
    next_offset: int = 0


class _Flush:
    """One batch being written: rows per table still to insert, offsets it covers."""

    def __init__(self, buffers: dict[TopicPartition, _Buffer]) -> None:
        self.tables: dict[str, list[Row]] = defaultdict(list)
        self.sources: dict[str, list[_Source]] = defaultdict(list)
        self.offsets = {tp: buffer.next_offset for tp, buffer in buffers.items()}
        self.starts = {tp: buffer.first_offset for tp, buffer in buffers.items()}
        for buffer in buffers.values():
            for table, rows in buffer.rows.items():
                self.tables[table].extend(rows)
                self.sources[table].extend(buffer.sources[table])


class BatchingSink:
    """Consumes the sink topics and lands them in ClickHouse in batches (see module doc)."""

    def __init__(
        self,
        settings: Settings,
        serde: AvroSerde,
        *,
        writer: TableWriter | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.serde = serde
        self.writer = writer or TableWriter(settings)
        self.stop = stop or threading.Event()
        self.stats = SinkStats()
        self._contract_topic = {settings.topic(name): name for name in SINK_TOPICS}
        self._buffers: dict[TopicPartition, _Buffer] = {}
        self._buffered = 0
        self._oldest: float | None = None
        self._flush: _Flush | None = None
        self._accepted: dict[TopicPartition, int] = {}
        self._redact = redactor(serde)
        self._skipped_upto: dict[tuple[str, int], int] = {}
        """Per partition, the offset after the last skipped message counted: a message read
        again after a rebalance is not counted twice."""
        self._rewind: dict[TopicPartition, int] = {}
        """Partitions whose unlanded rows were dropped at a revocation, and the offset to
        read them again from if the partition comes back to this sink."""
        self._last_commit = time.monotonic()
        self._last_report = time.monotonic()
        self.consumer = self._make_consumer()

    # -- set-up ------------------------------------------------------------------------
    def _make_consumer(self) -> KafkaConsumer:
        consumer = KafkaConsumer(
            **kafka_options(self.settings, "sink"),
            group_id=self.settings.sink_group,
            client_id="jamsos-sink",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.settings.sink_batch_rows,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
            # New partitions or topics are seen within this, not the 5-minute default.
            metadata_max_age_ms=30_000,
        )
        wait_for_partitions(consumer.partitions_for_topic, self._contract_topic)
        consumer.subscribe(list(self._contract_topic), listener=_Rebalance(self))
        return consumer

    # -- main loop ---------------------------------------------------------------------
    def run(self, until_idle: float | None = None) -> SinkStats:
        """Consume until `stop` is set, or (with `until_idle`) until the topics are drained
        and nothing arrived for `until_idle` seconds; flushes and commits before returning."""
        idle_since = time.monotonic()
        try:
            while not self.stop.is_set():
                polled = self.consumer.poll(timeout_ms=self._poll_timeout_ms())
                received = self._take(polled)
                self.stats.loop_at = time.monotonic()
                if received or not self.consumer.assignment():
                    idle_since = time.monotonic()
                if self._flush_due():
                    self._flush_with_retry()
                self._commit(force=False)
                self._report()
                if until_idle is not None and self._idle(idle_since, until_idle):
                    log.info("topics drained and idle for %.1fs; stopping", until_idle)
                    break
            if self._buffers or self._flush is not None:
                self._flush_with_retry()
            self._commit(force=True)
        finally:
            self.close()
        return self.stats

    def close(self) -> None:
        try:
            self.consumer.close(autocommit=False)
        finally:
            self.writer.close()

    def _poll_timeout_ms(self) -> int:
        if self._oldest is None:
            return 200
        left = self._oldest + self.settings.sink_flush_seconds - time.monotonic()
        return max(0, min(200, int(left * 1000)))

    def _flush_due(self) -> bool:
        # Buffers without rows still count: they hold offsets of skipped messages to commit.
        if not self._buffers:
            return False
        if self._buffered >= self.settings.sink_batch_rows:
            return True
        assert self._oldest is not None
        return time.monotonic() - self._oldest >= self.settings.sink_flush_seconds

    def _report(self) -> None:
        """A progress line every `REPORT_SECONDS`: a sink that stops moving shows in its
        log when, and in which state (assigned, paused, failing inserts, not committing)."""
        now = time.monotonic()
        if now - self._last_report < REPORT_SECONDS:
            return
        self._last_report = now
        stats = self.stats
        self._measure_lag()
        log.info(
            "progress: %d messages, %d rows, %d skipped, %d quarantined, %d flushes, "
            "%d commits, %d failed inserts; %d partitions assigned, %d paused, %d rows buffered",
            stats.messages,
            stats.rows_total,
            stats.skipped,
            stats.quarantined,
            stats.flushes,
            stats.commits,
            stats.failed_attempts,
            len(self.consumer.assignment()),
            len(self.consumer.paused()),
            self._buffered,
        )

    def _idle(self, idle_since: float, until_idle: float) -> bool:
        if self._buffers or self._flush is not None:
            return False
        if time.monotonic() - idle_since < until_idle:
            return False
        assignment = self.consumer.assignment()
        if not assignment:
            return False
        ends = self.consumer.end_offsets(list(assignment))
        return all(self.consumer.position(tp) >= end for tp, end in ends.items())

    # -- messages to rows --------------------------------------------------------------
    def _take(self, polled: dict[TopicPartition, list[ConsumerRecord]]) -> int:
        received = 0
        for tp, messages in polled.items():
            buffer = self._buffers.get(tp)
            if buffer is None:
                buffer = self._buffers[tp] = _Buffer()
            for message in messages:
                if buffer.first_offset is None:
                    buffer.first_offset = message.offset
                source = _Source(
                    message.topic, message.partition, message.offset, message.key, message.value
                )
                for table, row in self._rows(message):
                    buffer.rows[table].append(row)
                    buffer.sources[table].append(source)
                    buffer.count += 1
                    self._buffered += 1
                buffer.next_offset = message.offset + 1
                received += 1
        if received and self._oldest is None:
            self._oldest = time.monotonic()
        if received and self.stats.first_message_at is None:
            self.stats.first_message_at = self._oldest
        self.stats.messages += received
        return received

    def _rows(self, message: ConsumerRecord) -> list[tuple[str, Row]]:
        contract_topic = self._contract_topic[message.topic]
        position = Position(message.partition, message.offset, message.timestamp)
        while True:
            try:
                return self._decode(contract_topic, message, position)
            except RegistryError as error:
                if self.stop.is_set():
                    raise
                log.warning("schema registry unavailable (%s); retrying in 1s", error)
                self.stop.wait(1.0)

    def _decode(
        self, contract_topic: str, message: ConsumerRecord, position: Position
    ) -> list[tuple[str, Row]]:
        if contract_topic == "contributions":
            outcome = admit(
                self.serde,
                contract_topic=contract_topic,
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                key=message.key,
                value=message.value,
            )
            if isinstance(outcome, Admitted):
                return rows_for(outcome.record_name, outcome.record, position, self._redact)
            self._skip(message, outcome.error)
            return []
        try:
            decoded = self.serde.decode(message.value, contract_topic)
        except ContractError as error:
            self._skip(message, error)
            return []
        return rows_for(decoded.record_name, decoded.record, position, self._redact)

    def _skip(self, message: ConsumerRecord, error: ContractError) -> None:
        """Invalid input is the worker's to dead-letter; the sink counts it (in its progress
        line) and moves on. One line each only at debug level: the worker already logs
        every dead letter, and a feed with many bad payments would fill the sink's log."""
        where = (message.topic, message.partition)
        if message.offset < self._skipped_upto.get(where, 0):
            return  # read again after a rebalance: counted the first time
        self._skipped_upto[where] = message.offset + 1
        self.stats.skipped += 1
        log.debug(
            "skipped %s[%d]@%d: %s: %s (%d skipped so far)",
            message.topic,
            message.partition,
            message.offset,
            error.error_type,
            error,
            self.stats.skipped,
        )

    # -- flushing ----------------------------------------------------------------------
    def _measure_lag(self) -> None:
        """Messages past the group's committed offsets on the assigned partitions."""
        assigned = self.consumer.assignment()
        self.stats.assigned = len(assigned)
        self.stats.paused = len(self.consumer.paused())
        try:
            ends = self.consumer.end_offsets(list(assigned)) if assigned else {}
            committed = {tp: self.consumer.committed(tp) for tp in assigned}
        except Exception as error:  # a metric: never a reason to disturb the sink
            log.debug("lag unknown this time (%r)", error)
            return
        self.stats.committed_lag = sum(
            max(0, end - (committed.get(tp) or 0)) for tp, end in ends.items()
        )

    def _flush_with_retry(self) -> None:
        """Write the current batch, retrying with back-off until ClickHouse takes it.

        Returns without the batch landed only when stopping; its offsets are then not
        committed, so the messages are re-delivered to whoever consumes next.
        """
        delay = self.settings.sink_retry_initial
        paused = False
        paused_at = time.monotonic()
        try:
            while True:
                try:
                    self._flush_once()
                    return
                except Exception as error:  # any ClickHouse or network failure: retry
                    self.stats.failed_attempts += 1
                    log.warning(
                        "ClickHouse insert failed (%s: %s); retrying in %.1fs",
                        type(error).__name__,
                        error,
                        delay,
                    )
                if not paused:
                    self.consumer.pause(*self.consumer.assignment())
                    paused = True
                    paused_at = time.monotonic()
                if not self._wait_polling(delay):
                    pending = sum(len(rows) for rows in self._flush_tables().values())
                    log.warning(
                        "stopping with %d rows not landed; Kafka re-delivers them",
                        pending + self._buffered,
                    )
                    return
                delay = min(delay * 2, self.settings.sink_retry_max)
        finally:
            if paused:
                self.consumer.resume(*self.consumer.paused())
                self.stats.paused_seconds += time.monotonic() - paused_at

    def _flush_tables(self) -> dict[str, list[Row]]:
        return {} if self._flush is None else self._flush.tables

    def _wait_polling(self, seconds: float) -> bool:
        """Wait `seconds` while polling the paused consumer (keeps it in its group);
        False when asked to stop."""
        deadline = time.monotonic() + seconds
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            # Paused partitions return nothing; partitions assigned by a rebalance during
            # the wait are not paused, and what they return is kept, not thrown away.
            self._take(self.consumer.poll(timeout_ms=0))
            self.stop.wait(min(left, 0.5))
        return False

    def _flush_once(self) -> None:
        started = time.monotonic()
        if self._flush is None:
            self._flush = _Flush(self._buffers)
            self._buffers = {}
            self._buffered = 0
            self._oldest = None
        flush = self._flush
        for table in list(flush.tables):
            rows = flush.tables[table]
            refused = self.writer.insert_sifting(table, rows)
            if refused:
                self._quarantine(table, [(flush.sources[table][i], why) for i, why in refused])
            if table == "member_status_changes":  # before the offsets: see kpi_changed_days
                self.writer.insert(CHANGED_DAYS_TABLE, changed_days(rows))
            self.stats.rows[table] += len(rows) - len(refused)
            del flush.tables[table]
            del flush.sources[table]
        self._flush = None
        self._accepted.update(flush.offsets)
        self.stats.flushes += 1
        self.stats.last_flush_at = time.monotonic()
        self.stats.flush_seconds += self.stats.last_flush_at - started
        log.debug("flushed %d partitions", len(flush.offsets))

    def _quarantine(self, table: str, refused: list[tuple[_Source, BaseException]]) -> None:
        """Refused rows become dead letters in the warehouse (named by their message's
        position), so that one bad row never holds up the rows after it."""
        now = datetime.now(UTC).replace(microsecond=0)
        letters = []
        for source, error in refused:
            log.error(
                "ClickHouse refused the %s row of %s[%d]@%d (%s: %s); quarantined",
                table,
                source.topic,
                source.partition,
                source.offset,
                type(error).__name__,
                error,
            )
            letters.append(
                refused_row_dead_letter(
                    topic=source.topic,
                    partition=source.partition,
                    offset=source.offset,
                    key=source.key,
                    value=source.value,
                    table=table,
                    error=error,
                    failed_at=now,
                )
            )
        self.writer.insert("dead_letters", letters)
        self.stats.quarantined += len(letters)

    # -- committing --------------------------------------------------------------------
    def _commit(self, *, force: bool) -> None:
        """Commit offsets of landed rows (all of them when `force`, else by the interval)."""
        if not self._accepted:
            return
        now = time.monotonic()
        if not force and now - self._last_commit < self.settings.sink_commit_seconds:
            return
        offsets = {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in self._accepted.items()}
        try:
            self.consumer.commit(offsets)
        except KafkaError as error:
            # Offsets stay uncommitted: the rows re-arrive later and collapse in the tables.
            log.warning("offset commit failed (%s); the batch will be re-delivered", error)
        else:
            self.stats.commits += 1
        self._accepted = {}
        self._last_commit = now

    def forget_revoked(self, partitions: list[TopicPartition]) -> None:
        """Partitions taken away: commit what landed, drop what did not, and remember where
        it started. Whoever gets a partition next reads on from its committed offset; if it
        is this sink again, the client keeps its position past the dropped rows, so
        `resume_assigned` moves it back to the first of them."""
        revoked = set(partitions)
        landed = {tp: off for tp, off in self._accepted.items() if tp in revoked}
        if landed:
            try:
                self.consumer.commit(
                    {tp: OffsetAndMetadata(off, "", -1) for tp, off in landed.items()}
                )
            except KafkaError as error:
                log.warning("commit on revocation failed (%s)", error)
        for tp in revoked:
            self._accepted.pop(tp, None)
            starts: list[int] = []
            buffer = self._buffers.pop(tp, None)
            if buffer is not None:
                self._buffered -= buffer.count
                if buffer.first_offset is not None:
                    starts.append(buffer.first_offset)
            if self._flush is not None and tp in self._flush.offsets:
                # Its rows may still be inserted (harmless); its offsets are no longer ours.
                self._flush.offsets.pop(tp)
                start = self._flush.starts.pop(tp, None)
                if start is not None:
                    starts.append(start)
            if starts:
                self._rewind[tp] = min([*starts, self._rewind.get(tp, min(starts))])
        if not self._buffers:
            self._oldest = None

    def resume_assigned(self, assigned: list[TopicPartition]) -> None:
        """Partitions given (back) to this sink: read again whatever `forget_revoked` dropped."""
        for tp in assigned:
            offset = self._rewind.pop(tp, None)
            if offset is not None:
                log.info(
                    "re-reading %s[%d] from %d after a rebalance", tp.topic, tp.partition, offset
                )
                self.consumer.seek(tp, offset)
        self._rewind.clear()


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, sink: BatchingSink) -> None:
        self.sink = sink

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.sink.forget_revoked(list(revoked))

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info("sink assigned %d partitions", len(assigned))
        self.sink.resume_assigned(list(assigned))


def run_sink(
    settings: Settings,
    serde: AvroSerde,
    *,
    until_idle: float | None = None,
    stop: threading.Event | None = None,
    on_start: Callable[[BatchingSink], None] | None = None,
) -> SinkStats:
    """Run one sink until stopped or idle; `on_start` sees it before consuming (signals)."""
    sink = BatchingSink(settings, serde, stop=stop)
    if on_start is not None:
        on_start(sink)
    refresher = KpiRefresher(
        lambda: make_client(settings, database=settings.clickhouse_database, account="refresher"),
        settings.clickhouse_database,
        settings.kpi_refresh_seconds,
        sink.stop,
    )
    if settings.kpi_refresh_seconds > 0:
        refresher.start()
    try:
        stats = sink.run(until_idle=until_idle)
    finally:
        sink.stop.set()
        refresher.join()
    if settings.kpi_refresh_seconds > 0:
        refresher.refresh_once()  # the KPIs include the last flush
    log.info(
        "sink done: %d messages, %d rows (%s), %d skipped, %d flushes, %d failed attempts",
        stats.messages,
        stats.rows_total,
        ", ".join(f"{table} {count}" for table, count in sorted(stats.rows.items())),
        stats.skipped,
        stats.flushes,
        stats.failed_attempts,
    )
    return stats
