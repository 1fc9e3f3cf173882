"""The upstream feed between the agency's systems and Kafka, with its real imperfections.

Events enter :class:`Feed` when they occur and leave in publication order. On the way a
share is delayed by hours to days (so they arrive after later events of the same member),
re-published (an exact duplicate, same ``event_id``), or preceded by a broken message:
a record that breaks a contract rule, or bytes that are not Avro at all. The broken one
goes first, the way a corrected re-send follows a rejected one; both must leave the
pipeline's results as if only the valid one had been sent.
"""

from __future__ import annotations

import heapq
import json
import random
from typing import Any

from jamsos.contracts.catalog import key_bytes_for, topic_for
from jamsos.simulation import people
from jamsos.simulation.config import SimulationConfig
from jamsos.simulation.items import InvalidEvent, Item, RawMessage, SimulatedEvent
from jamsos.simulation.summary import SimulationSummary
from jamsos.simulation.timeline import HOUR, MINUTE

NORMAL_LATENCY = 5 * MINUTE
"""Upper bound of the ordinary delay between an event and its publication."""
_DELAY_RANGE = (2 * HOUR, 72 * HOUR)
_DUPLICATE_RANGE = (MINUTE, 36 * HOUR)
_UNKNOWN_SCHEMA_ID = 0x7FFF_FF00


class Feed:
    """A priority queue of messages by publication time, fed with deliberate flaws."""

    def __init__(
        self,
        rng: random.Random,
        ids: people.EventIds,
        config: SimulationConfig,
        summary: SimulationSummary,
    ) -> None:
        self.queue: list[tuple[int, int, Item]] = []
        """``(published_at, sequence, item)``; the sequence keeps equal times in push order."""
        self._rng = rng
        self._ids = ids
        self._summary = summary
        self._sequence = 0
        self._delay_share = config.delay_share
        self._duplicate_share = config.duplicate_share
        self._invalid_share = config.invalid_share
        self._garbage_share = config.garbage_share
        self._flaw_share = min(
            1.0, config.delay_share + config.duplicate_share + config.invalid_share
        )
        """Most events have no flaw: one draw against the sum settles that for them."""

    def push(self, published_at: int, item: Item) -> None:
        """Queue one message as it is (no flaws added)."""
        self._sequence += 1
        heapq.heappush(self.queue, (published_at, self._sequence, item))

    def publish(
        self,
        record_name: str,
        record: dict[str, Any],
        occurred_at: int,
        published_at: int | None = None,
    ) -> None:
        """Queue a valid event occurring at ``occurred_at``, perhaps delayed, doubled or
        preceded by a broken message. ``published_at`` overrides the ordinary latency."""
        random_ = self._rng.random
        summary = self._summary
        if published_at is None or published_at < occurred_at:
            published_at = occurred_at + int(random_() * NORMAL_LATENCY)
        if random_() >= self._flaw_share:
            self.push(published_at, SimulatedEvent(record_name, record))
            summary.by_type[record_name] += 1
            return
        # Given that some flaw applies, each flaw is drawn against its share divided by the
        # flaw share, which keeps its overall share as configured.
        flawed = self._scaled_random
        if flawed() < self._delay_share:
            low, high = _DELAY_RANGE
            published_at = max(published_at, occurred_at + low + int(random_() * (high - low)))
            summary.delayed += 1
        if flawed() < self._invalid_share:
            self.push(published_at, self._broken(record_name, record))
        self.push(published_at, SimulatedEvent(record_name, record))
        summary.by_type[record_name] += 1
        if flawed() < self._duplicate_share:
            low, high = _DUPLICATE_RANGE
            again = published_at + low + int(random_() * (high - low))
            self.push(again, SimulatedEvent(record_name, dict(record)))
            summary.by_type[record_name] += 1
            summary.duplicates += 1

    def _scaled_random(self) -> float:
        return self._rng.random() * self._flaw_share

    # -- broken messages ---------------------------------------------------------------------
    def _broken(self, record_name: str, record: dict[str, Any]) -> Item:
        """A flawed companion of ``record``: an invalid copy, or raw bytes on its topic."""
        random_ = self._rng.random
        if random_() >= self._garbage_share:
            if record_name == "ContributionPaid":
                return self._invalid_payment(record)
            if record_name == "MemberEnrolled":
                return self._invalid_enrolment(record)
        return self._garbage(record_name, record)

    def _invalid_copy(
        self, record_name: str, record: dict[str, Any], defect: str, **changes: Any
    ) -> InvalidEvent:
        copy = {**record, "event_id": self._ids(), **changes}
        self._summary.invalid[defect] += 1
        return InvalidEvent(record_name, copy, defect)

    def _invalid_payment(self, record: dict[str, Any]) -> InvalidEvent:
        if self._rng.random() < 0.5:
            return self._invalid_copy("ContributionPaid", record, "months_zero", months=0)
        amount = -record["amount"] if self._rng.random() < 0.5 else 0
        return self._invalid_copy("ContributionPaid", record, "amount_not_positive", amount=amount)

    def _invalid_enrolment(self, record: dict[str, Any]) -> InvalidEvent:
        if record["segment"] == "PU" and self._rng.random() < 0.5:
            return self._invalid_copy(
                "MemberEnrolled", record, "pu_without_employer", employer_id=None
            )
        nik = record["nik"]
        roll = self._rng.random()
        if roll < 0.4:
            bad = nik[:15]  # a digit lost when typed in
        elif roll < 0.7:
            bad = nik + str(int(self._rng.random() * 10))
        else:
            bad = f"{nik[:4]}.{nik[4:8]}.{nik[8:12]}.{nik[12:]}"  # formatted, not a number
        return self._invalid_copy("MemberEnrolled", record, "nik_not_16_digits", nik=bad)

    def _garbage(self, record_name: str, record: dict[str, Any]) -> RawMessage:
        """Bytes a misconfigured producer might send; none of them is Confluent Avro."""
        rng = self._rng
        roll = rng.random()
        if roll < 0.35:
            defect = "wrong_magic_byte"
            value = b"\x01" + rng.randbytes(4) + rng.randbytes(8 + int(rng.random() * 40))
        elif roll < 0.6:
            defect = "json_not_avro"
            value = json.dumps({"type": record_name, "event_id": record["event_id"]}).encode()
        elif roll < 0.75:
            defect = "truncated_header"
            value = b"\x00" + rng.randbytes(int(rng.random() * 4))
        elif roll < 0.85:
            defect = "empty_value"
            value = b""
        else:
            defect = "unknown_schema_id"
            schema_id = _UNKNOWN_SCHEMA_ID + int(rng.random() * 255)
            value = b"\x00" + schema_id.to_bytes(4, "big") + rng.randbytes(16)
        self._summary.garbage[defect] += 1
        return RawMessage(topic_for(record_name), key_bytes_for(record_name, record), value, defect)
