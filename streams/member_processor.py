"""Per-member processing of one partition of the member inbox, without Faust.

The Faust agent hands every inbox message here with its partition and offset; this class
reads and writes the partition's state through plain mappings (Faust tables in the
worker, dicts in unit tests) and returns what to publish. The rules themselves live in
`jamsos.rules` and are shared with `jamsos replay`.

Exactly-once *effect* on top of at-least-once delivery:
- a message at or below a member's last applied offset is a re-delivery: its remembered
  emissions are re-published and nothing is applied again (`streams.emission`);
- a business-day tick remembers which members it touched, for the same reason;
- every output has a deterministic id, so a second copy changes nothing downstream.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from jamsos.contracts.errors import ContractError, ErrorType
from jamsos.contracts.serde import AvroSerde
from jamsos.rules.agent import AgentShare, member_agent_shares, share_to_list, share_updates
from jamsos.rules.clock import DEFAULT_MAX_TICK_ADVANCE_DAYS, tick_advance_refused
from jamsos.rules.days import close_day, first_day_to_close, next_due
from jamsos.rules.events import BusinessDayClosed, MemberEvent, event_from_record
from jamsos.rules.holding import DEFAULT_HOLD_DAYS, HeldEvent, held_events
from jamsos.rules.member import (
    MemberLedger,
    Outcome,
    apply_event,
    evaluation_date,
)
from jamsos.topics import MEMBER_INBOX
from streams.due_index import DueIndex
from streams.emission import Emission, recall, remember
from streams.origin import Origin
from streams.quarantine import dead_letter_emission

log = logging.getLogger(__name__)

AGENT_INBOX = "agent-inbox"
TICKS_REMEMBERED = 3


@dataclass
class StoredMember:
    """What the member table holds per member: ledger plus processing bookkeeping.

    `held` keeps, for each event the ledger holds (`jamsos.rules.holding`), its input
    message: `[topic, partition, offset, key, value]` (bytes as base64), so that the event
    can become a dead letter of the original bytes once its holding period has passed.
    """

    ledger: MemberLedger
    offset: int = -1
    outbox: list[list[Any]] = field(default_factory=list)
    due_on: date | None = None
    seq: int = 0
    held: dict[str, list[Any]] = field(default_factory=dict)

    def dumps(self) -> bytes:
        data: dict[str, Any] = {
            "l": self.ledger.to_dict(),
            "o": self.offset,
            "x": self.outbox,
            "d": None if self.due_on is None else self.due_on.isoformat(),
            "s": self.seq,
        }
        if self.held:
            data["h"] = self.held
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def loads(cls, data: bytes) -> StoredMember:
        raw = json.loads(data)
        return cls(
            MemberLedger.from_dict(raw["l"]),
            raw["o"],
            raw["x"],
            None if raw["d"] is None else date.fromisoformat(raw["d"]),
            raw["s"],
            raw.get("h", {}),
        )

    def hold(self, event_id: str, origin: Origin, value: bytes) -> None:
        """Keep the input message of a held event."""
        self.held[event_id] = [*origin.to_list(), base64.b64encode(value).decode()]

    def release(self) -> None:
        """Forget the input messages of events the ledger no longer holds."""
        if not self.held:
            return
        still = {h.event_id for h in held_events(self.ledger)}
        self.held = {event_id: m for event_id, m in self.held.items() if event_id in still}

    def held_message(self, event_id: str) -> tuple[Origin, bytes] | None:
        """The input message of a held event, if it was kept."""
        item = self.held.get(event_id)
        if item is None:
            return None
        return Origin.from_list(item[:4]), base64.b64decode(item[4])


@dataclass
class PartitionClock:
    """The business date as one partition has seen it, and its recent ticks."""

    business_date: date | None = None
    earliest_due: date | None = None
    ticks: list[int] = field(default_factory=list)

    def dumps(self) -> bytes:
        return json.dumps(
            {
                "b": None if self.business_date is None else self.business_date.isoformat(),
                "e": None if self.earliest_due is None else self.earliest_due.isoformat(),
                "t": self.ticks,
            }
        ).encode()

    @classmethod
    def loads(cls, data: bytes | None) -> PartitionClock:
        if not data:
            return cls()
        raw = json.loads(data)
        parse = date.fromisoformat
        return cls(
            None if raw["b"] is None else parse(raw["b"]),
            None if raw["e"] is None else parse(raw["e"]),
            raw["t"],
        )


class PartitionKeys(MutableMapping[str, bytes]):
    """One partition's share of the partition-state table: every key gets the partition.

    Every partition has its own clock, ticks and due-date buckets under the same names.
    Faust's RocksDB store reads and writes a key in the current event's partition, but
    deletes it in whichever partition last wrote that name; with the partition in the key
    no two partitions share a name, so every operation lands where it should.
    """

    def __init__(self, table: MutableMapping[str, bytes], partition: int) -> None:
        self.table = table
        self.prefix = f"{partition}/"

    def __getitem__(self, key: str) -> bytes:
        return self.table[self.prefix + key]

    def __setitem__(self, key: str, value: bytes) -> None:
        self.table[self.prefix + key] = value

    def __delitem__(self, key: str) -> None:
        del self.table[self.prefix + key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (self.prefix + key) in self.table

    def get(self, key: str, default: Any = None) -> Any:
        return self.table.get(self.prefix + key, default)

    def __iter__(self) -> Iterator[str]:
        raise NotImplementedError("a partition's state is read by key, never scanned")

    def __len__(self) -> int:
        raise NotImplementedError("a partition's state is read by key, never scanned")


class MemberProcessor:
    """Applies inbox messages of the partitions this worker holds."""

    def __init__(
        self,
        serde: AvroSerde,
        members: MutableMapping[str, bytes],
        partition_state: MutableMapping[str, bytes],
        *,
        nik_secret: bytes,
        lapse_months: int = 3,
        max_tick_advance_days: int = DEFAULT_MAX_TICK_ADVANCE_DAYS,
        hold_days: int = DEFAULT_HOLD_DAYS,
    ) -> None:
        self.serde = serde
        self.members = members
        self.partition_state = partition_state
        self.state = PartitionKeys(partition_state, 0)
        self.due = DueIndex(self.state)
        self.nik_secret = nik_secret
        self.lapse_months = lapse_months
        self.max_tick_advance_days = max_tick_advance_days
        self.hold_days = hold_days
        self.batch_starts: dict[int, int] = {}
        self._keep_from: int | None = None
        self._partition = 0
        self.on_business_date: Callable[[int, date], None] | None = None
        """Told each partition's new business date after a tick (the worker's metrics)."""

    def begin_batch(self, first_offsets: dict[int, int]) -> None:
        """Note the first offset per partition of the batch about to be handled: the
        outbox keeps every entry of the batch until its outputs are acknowledged."""
        self.batch_starts = first_offsets

    # -- entry point -----------------------------------------------------------------------
    def handle(
        self, partition: int, offset: int, value: bytes, origin: Origin | None = None
    ) -> list[Emission]:
        """Process one inbox message (already validated by the intake) of `partition`;
        `origin` is the input message it copies (default: the inbox message itself)."""
        self.state = PartitionKeys(self.partition_state, partition)
        self.due = DueIndex(self.state)
        self._partition = partition
        self._keep_from = self.batch_starts.get(partition)
        decoded = self.serde.decode(value)
        event = event_from_record(decoded.record_name, decoded.record)
        if isinstance(event, BusinessDayClosed):
            return self.tick(offset, event.business_date)
        origin = origin or Origin(MEMBER_INBOX, partition, offset, None)
        return self.member_event(offset, event, origin, value)  # type: ignore[arg-type]

    # -- member events ---------------------------------------------------------------------
    def member_event(
        self, offset: int, event: MemberEvent, origin: Origin | None = None, value: bytes = b""
    ) -> list[Emission]:
        stored = self._load(event.member_id)
        if offset <= stored.offset:
            # Written again: after a kill -9 the local store can hold this member's state
            # while its changelog write never reached Kafka; a worker that takes the
            # partition over restores from the changelog and must find it there too. The
            # same goes for its entry in the due index and the partition's clock.
            self.members[event.member_id] = stored.dumps()
            self.due.refile(event.member_id, stored.due_on)
            self._save_clock(self._clock())
            return recall(stored.outbox, offset)
        clock = self._clock()
        before = self._shares(stored.ledger, clock.business_date)
        outcome = apply_event(
            stored.ledger, event, clock.business_date, self.lapse_months, nik_secret=self.nik_secret
        )
        if outcome.held and origin is not None:
            stored.hold(event.event_id, origin, value)
        return self._settle(stored, outcome, before, clock.business_date, offset)

    # -- business-day ticks ----------------------------------------------------------------
    def tick(self, offset: int, business_date: date) -> list[Emission]:
        """Close business days up to `business_date` for the members due in them.

        Days are closed one by one, so a member due on several of them (ticks that skip
        days, a first tick long after the enrolments) passes through every intermediate
        status, with its alerts, as a daily tick would have shown it.
        """
        clock = self._clock()
        if offset in clock.ticks or (clock.ticks and offset < clock.ticks[-1]):
            return self._recall_tick(offset)
        refused = tick_advance_refused(
            clock.business_date, business_date, self.max_tick_advance_days
        )
        if refused is not None:
            raise ContractError(ErrorType.VALIDATION_ERROR, refused, field="business_date")
        first_day = first_day_to_close(clock.business_date, clock.earliest_due, business_date)
        previous = clock.ticks
        clock.ticks = _ticks_to_remember(previous, offset, self._keep_from)
        for forgotten in set(previous) - set(clock.ticks):
            if f"tick:{forgotten}" in self.state:
                del self.state[f"tick:{forgotten}"]
        if first_day is None:
            self._save_clock(clock)
            return []
        last_closed: dict[str, date | None] = {}
        emissions: list[Emission] = []
        day = first_day
        while day <= business_date:
            for member_id in self.due.take(day):
                stored = self._load(member_id)
                before = self._shares(
                    stored.ledger, last_closed.get(member_id, clock.business_date)
                )
                outcome, expired = close_day(stored.ledger, day, self.lapse_months, self.hold_days)
                emissions.extend(self._dead_letters(stored, expired))
                stored.due_on = None  # taken out of its bucket above
                emissions.extend(self._settle(stored, outcome, before, day, offset))
                last_closed[member_id] = day
            day += timedelta(days=1)
        clock.business_date = business_date
        self.state[f"tick:{offset}"] = json.dumps(list(last_closed)).encode()
        self._save_clock(clock)
        log.info(
            "tick %s: %d members due, %d messages", business_date, len(last_closed), len(emissions)
        )
        if self.on_business_date is not None:
            self.on_business_date(self._partition, business_date)
        return emissions

    def _recall_tick(self, offset: int) -> list[Emission]:
        """A re-delivered tick: re-publish what it published, and write the clock and the
        members it touched again (see `member_event` on why)."""
        record = self.state.get(f"tick:{offset}")
        touched = json.loads(record or b"[]")
        if record is not None:
            self.state[f"tick:{offset}"] = record
        self._save_clock(self._clock())
        emissions: list[Emission] = []
        for member_id in touched:
            stored = self._load(member_id)
            self.members[member_id] = stored.dumps()
            self.due.refile(member_id, stored.due_on)
            emissions.extend(recall(stored.outbox, offset))
        return emissions

    # -- shared steps ------------------------------------------------------------------------
    def _settle(
        self,
        stored: StoredMember,
        outcome: Outcome,
        before: dict[str, AgentShare],
        business_date: date | None,
        offset: int,
    ) -> list[Emission]:
        """Outputs of an outcome, re-filing in the due index, outbox, save."""
        ledger = stored.ledger
        emissions = self._outputs(outcome)
        if ledger.enrolled:
            on = evaluation_date(ledger, business_date)
            after = member_agent_shares(ledger, on, self.lapse_months)
            stored.seq += 1
            emissions.extend(self._share_emissions(ledger.member_id, before, after, on, stored.seq))
        stored.release()
        new_due = next_due(ledger, business_date, self.lapse_months, self.hold_days)
        self.due.move(ledger.member_id, stored.due_on, new_due)
        if new_due is not None and business_date is None:
            self._note_due_before_first_tick(new_due)
        stored.due_on = new_due
        stored.offset = offset
        stored.outbox = remember(stored.outbox, offset, emissions, self._keep_from)
        self.members[ledger.member_id] = stored.dumps()
        return emissions

    def _dead_letters(self, stored: StoredMember, expired: list[HeldEvent]) -> list[Emission]:
        """The dead letters of held events whose holding period has passed."""
        emissions = []
        for held in expired:
            kept = stored.held_message(held.event_id)
            if kept is None:  # held before input messages were kept: nothing to send
                log.warning("held event %s expired without its message", held.event_id)
                continue
            origin, value = kept
            error = ContractError(held.error_type, held.reason(self.hold_days))
            log.warning(
                "dead letter %s:%s:%s: %s", origin.topic, origin.partition, origin.offset, error
            )
            emissions.append(
                dead_letter_emission(
                    self.serde,
                    topic=origin.topic,
                    partition=origin.partition,
                    offset=origin.offset,
                    key=origin.key,
                    value=value,
                    error=error,
                )
            )
        return emissions

    def _outputs(self, outcome: Outcome) -> list[Emission]:
        emissions = [
            Emission(
                "member-status",
                change.member_id.encode(),
                self.serde.encode("member-status", "MemberStatusChanged", change.record()),
            )
            for change in outcome.changes
        ]
        emissions.extend(
            Emission(
                "lapse-alerts",
                alert.member_id.encode(),
                self.serde.encode("lapse-alerts", "LapseAlert", alert.record()),
            )
            for alert in outcome.alerts
        )
        return emissions

    def _shares(self, ledger: MemberLedger, business_date: date | None) -> dict[str, AgentShare]:
        if not ledger.enrolled:
            return {}
        on = evaluation_date(ledger, business_date)
        return member_agent_shares(ledger, on, self.lapse_months)

    @staticmethod
    def _share_emissions(
        member_id: str,
        before: dict[str, AgentShare],
        after: dict[str, AgentShare],
        on: date,
        seq: int,
    ) -> list[Emission]:
        """One `agent-inbox` message per agent whose share of this member changed."""
        return [
            Emission(
                AGENT_INBOX,
                agent_id.encode(),
                json.dumps(
                    {
                        "member_id": member_id,
                        "seq": seq,
                        "as_of": on.isoformat(),
                        "share": None if share is None else share_to_list(share),
                    },
                    separators=(",", ":"),
                ).encode(),
            )
            for agent_id, share in sorted(share_updates(before, after).items())
        ]

    def _load(self, member_id: str) -> StoredMember:
        data = self.members.get(member_id)
        return StoredMember.loads(data) if data else StoredMember(MemberLedger(member_id))

    def _note_due_before_first_tick(self, due_on: date) -> None:
        """Remember the earliest filed date, where the first tick must start sweeping."""
        clock = self._clock()
        if clock.earliest_due is None or due_on < clock.earliest_due:
            clock.earliest_due = due_on
            self._save_clock(clock)

    def _clock(self) -> PartitionClock:
        return PartitionClock.loads(self.state.get("clock"))

    def _save_clock(self, clock: PartitionClock) -> None:
        self.state["clock"] = clock.dumps()


def _ticks_to_remember(ticks: list[int], offset: int, batch_start: int | None) -> list[int]:
    """The ticks whose touched members stay on record: the last `TICKS_REMEMBERED`, and
    every tick of the batch in flight, however many it holds, because a crash before the
    batch is acknowledged re-delivers all of them and each must re-publish its outputs."""
    ticks = [*ticks, offset]
    in_flight = [t for t in ticks if batch_start is not None and t >= batch_start]
    return sorted(set(ticks[-TICKS_REMEMBERED:]) | set(in_flight))
