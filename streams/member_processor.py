"""Per-member processing of one partition of the member inbox, without Faust.

The Faust agent hands every inbox message here with its partition and offset; this class
reads and writes the partition's state through a `streams.member_state.PartitionState`
(the batch in flight in the worker, memory in tests and tools) and returns what to
publish. The rules themselves live in
`jamsos.rules` and are shared with `jamsos replay`.

Exactly-once *effect* on top of at-least-once delivery:
- a message at or below a member's last applied offset, or a tick at or below the
  partition's last tick, is a re-delivery and is skipped: state is stored only after the
  outputs it stands for are acknowledged (`streams.member_state`), so they are out already;
- a message above it is applied from the stored state; a crash before that state was
  stored repeats the same outputs from the same state, and every output has a
  deterministic id, so a second copy changes nothing downstream.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import orjson

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
from streams.emission import Emission
from streams.member_state import (
    MemoryState,
    PartitionState,
    due_of,
    member_body,
    member_value,
)
from streams.origin import Origin
from streams.quarantine import dead_letter_emission

log = logging.getLogger(__name__)

AGENT_INBOX = "agent-inbox"


@dataclass
class StoredMember:
    """What the member table holds per member: ledger plus processing bookkeeping.

    `held` keeps, for each event the ledger holds (`jamsos.rules.holding`), its input
    message: `[topic, partition, offset, key, value]` (bytes as base64), so that the event
    can become a dead letter of the original bytes once its holding period has passed.
    """

    ledger: MemberLedger
    offset: int = -1
    due_on: date | None = None
    seq: int = 0
    held: dict[str, list[Any]] = field(default_factory=dict)

    def dumps(self) -> bytes:
        """The stored form: the due date up front (`streams.member_state.member_value`),
        then the rest as compact JSON."""
        data: dict[str, Any] = {"l": self.ledger.to_dict(), "o": self.offset, "s": self.seq}
        if self.held:
            data["h"] = self.held
        return member_value(self.due_on, orjson.dumps(data))

    @classmethod
    def loads(cls, data: bytes) -> StoredMember:
        raw = orjson.loads(member_body(data))
        due = due_of(data)
        return cls(
            MemberLedger.from_dict(raw["l"]),
            raw["o"],
            None if due is None else date.fromisoformat(due.decode()),
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
    """The business date as one partition has seen it, and where the partition stands.

    `sequence` is the place, in the partition's merged order (`streams.merge`), of the last
    arrival applied, and `last_tick` that of its last tick: an arrival at or below either
    is a re-delivery. `positions` holds, per input topic (contract name), the offset to
    read next: the worker resumes the partition there, so the positions are stored with
    the state they produced, in the same write.
    """

    business_date: date | None = None
    earliest_due: date | None = None
    last_tick: int = -1
    sequence: int = -1
    positions: dict[str, int] = field(default_factory=dict)

    def dumps(self) -> bytes:
        return orjson.dumps(
            {
                "b": None if self.business_date is None else self.business_date.isoformat(),
                "e": None if self.earliest_due is None else self.earliest_due.isoformat(),
                "t": self.last_tick,
                "n": self.sequence,
                "p": self.positions,
            }
        )

    @classmethod
    def loads(cls, data: bytes | None) -> PartitionClock:
        if not data:
            return cls()
        raw = orjson.loads(data)
        parse = date.fromisoformat
        return cls(
            None if raw["b"] is None else parse(raw["b"]),
            None if raw["e"] is None else parse(raw["e"]),
            raw["t"],
            raw.get("n", raw["t"]),
            raw.get("p", {}),
        )


class MemberProcessor:
    """Applies inbox messages of the partitions this worker holds.

    `store` is where it reads and writes each partition's state: the batch in flight in
    the worker (`streams.member_state.MemberBatch`), memory in tests and tools.
    """

    def __init__(
        self,
        serde: AvroSerde,
        store: Any = None,
        *,
        nik_secret: bytes,
        lapse_months: int = 3,
        max_tick_advance_days: int = DEFAULT_MAX_TICK_ADVANCE_DAYS,
        hold_days: int = DEFAULT_HOLD_DAYS,
    ) -> None:
        self.serde = serde
        self.store = store if store is not None else MemoryState()
        self.state: PartitionState = self.store.partition(0)
        self.nik_secret = nik_secret
        self.lapse_months = lapse_months
        self.max_tick_advance_days = max_tick_advance_days
        self.hold_days = hold_days
        self._partition = 0
        self.on_business_date: Callable[[int, date], None] | None = None
        """Told each partition's new business date after a tick (the worker's metrics)."""

    # -- entry point -----------------------------------------------------------------------
    def handle(
        self, partition: int, offset: int, value: bytes, origin: Origin | None = None
    ) -> list[Emission]:
        """Process one message (already validated) of `partition` at place `offset` of the
        partition's order; `origin` is the input message (default: a position in no topic,
        for tests and tools)."""
        decoded = self.serde.decode(value)
        return self.apply(partition, offset, decoded.record_name, decoded.record, value, origin)

    def apply(
        self,
        partition: int,
        offset: int,
        record_name: str,
        record: dict[str, Any],
        value: bytes,
        origin: Origin | None = None,
    ) -> list[Emission]:
        """`handle` for a record already decoded (the worker decodes once, to admit it)."""
        self.state = self.store.partition(partition)
        self._partition = partition
        event = event_from_record(record_name, record)
        if isinstance(event, BusinessDayClosed):
            return self.tick(offset, event.business_date)
        origin = origin or Origin("", partition, offset, None)
        return self.member_event(offset, event, origin, value)  # type: ignore[arg-type]

    def clock(self, partition: int) -> PartitionClock:
        """Where `partition` stands (`PartitionClock`)."""
        self.state = self.store.partition(partition)
        self._partition = partition
        return self._clock()

    def save_clock(self, partition: int, clock: PartitionClock) -> None:
        self.state = self.store.partition(partition)
        self._partition = partition
        self._save_clock(clock)

    # -- member events ---------------------------------------------------------------------
    def member_event(
        self, offset: int, event: MemberEvent, origin: Origin | None = None, value: bytes = b""
    ) -> list[Emission]:
        stored = self._load(event.member_id)
        if offset <= stored.offset:
            return []  # a re-delivery: applied, and its outputs acknowledged, before
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
        if offset <= clock.last_tick:
            return []  # a re-delivery (see `member_event`)
        refused = tick_advance_refused(
            clock.business_date, business_date, self.max_tick_advance_days
        )
        if refused is not None:
            raise ContractError(ErrorType.VALIDATION_ERROR, refused, field="business_date")
        first_day = first_day_to_close(clock.business_date, clock.earliest_due, business_date)
        clock.last_tick = offset
        if first_day is None:
            self._save_clock(clock)
            return []
        last_closed: dict[str, date | None] = {}
        emissions: list[Emission] = []
        day = first_day
        while day <= business_date:
            for member_id in self.state.due_take(day):
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
        self._save_clock(clock)
        log.info(
            "tick %s: %d members due, %d messages", business_date, len(last_closed), len(emissions)
        )
        if self.on_business_date is not None:
            self.on_business_date(self._partition, business_date)
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
        """Outputs of an outcome, re-filing in the due index, save."""
        ledger = stored.ledger
        emissions = self._outputs(outcome)
        if ledger.enrolled:
            on = evaluation_date(ledger, business_date)
            after = member_agent_shares(ledger, on, self.lapse_months)
            stored.seq += 1
            emissions.extend(self._share_emissions(ledger.member_id, before, after, on, stored.seq))
        stored.release()
        new_due = next_due(ledger, business_date, self.lapse_months, self.hold_days)
        self.state.due_move(ledger.member_id, stored.due_on, new_due)
        if new_due is not None and business_date is None:
            self._note_due_before_first_tick(new_due)
        stored.due_on = new_due
        stored.offset = offset
        self.state.put_member(ledger.member_id, stored.dumps())
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
                orjson.dumps(
                    {
                        "member_id": member_id,
                        "seq": seq,
                        "as_of": on.isoformat(),
                        "share": None if share is None else share_to_list(share),
                    }
                ),
            )
            for agent_id, share in sorted(share_updates(before, after).items())
        ]

    def _load(self, member_id: str) -> StoredMember:
        data = self.state.member(member_id)
        return StoredMember.loads(data) if data else StoredMember(MemberLedger(member_id))

    def _note_due_before_first_tick(self, due_on: date) -> None:
        """Remember the earliest filed date, where the first tick must start sweeping."""
        clock = self._clock()
        if clock.earliest_due is None or due_on < clock.earliest_due:
            clock.earliest_due = due_on
            self._save_clock(clock)

    def _clock(self) -> PartitionClock:
        return PartitionClock.loads(self.state.clock())

    def _save_clock(self, clock: PartitionClock) -> None:
        self.state.put_clock(clock.dumps())
