"""Cost of a business-day tick: N members, of whom a given share change on the day.

Members are filed into the worker's own member store (RocksDB, as in one worker
partition), as the event path would leave them; then one `BusinessDayClosed` is timed, and
the members it touched are counted from the batch it staged.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jamsos.contracts.serde import AvroSerde
from streams.member_processor import MemberProcessor, StoredMember
from streams.member_state import MemberStore, MemoryState, member_body, member_value


@dataclass(frozen=True)
class TickFigures:
    members: int
    changing: int
    touched: int
    seconds: float
    messages: int
    fill_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "members": self.members,
            "changing": self.changing,
            "touched": self.touched,
            "touched_share": round(self.touched / self.members, 4),
            "tick_seconds": round(self.seconds, 3),
            "messages": self.messages,
            "fill_seconds": round(self.fill_seconds, 1),
        }


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


def measure_tick(serde: AvroSerde, members: int, changing_share: float = 0.01) -> TickFigures:
    """Members prepaid for a year, except a share paid for one month: those change on
    16 February (one month overdue); the tick of that day is measured.

    Two template members go through the ordinary event path; the others are stored as
    copies of them under their own ids and filed in the due index, which is what the event
    path would have left behind, in a fraction of the time.
    """
    with tempfile.TemporaryDirectory(prefix="jamsos-tick-") as folder:
        return _measure(serde, members, changing_share, Path(folder) / "state")


def _measure(serde: AvroSerde, members: int, changing_share: float, path: Path) -> TickFigures:
    processor = MemberProcessor(serde, MemoryState(), nik_secret=b"bench")
    every = max(1, round(1 / changing_share)) if changing_share > 0 else members + 1
    began = time.perf_counter()
    templates = {
        months: _template(processor, serde, months, offset=2 * n)
        for n, months in enumerate((1, 12))
    }
    close = {
        "event_id": "t-0131",
        "occurred_at": _at(date(2019, 1, 31)),
        "source": "scheduler",
        "business_date": date(2019, 2, 15),
    }
    processor.handle(0, 10, serde.encode("clock", "BusinessDayClosed", close))
    store = MemberStore(path)
    try:
        store.seed(
            0,
            (
                (f"M{i:09d}", _copy(templates[1 if i % every == 0 else 12], f"M{i:09d}"))
                for i in range(members)
            ),
            clock=processor.state.clock() or b"",
        )
        fill = time.perf_counter() - began
        tick = {**close, "event_id": "t-0216", "business_date": date(2019, 2, 16)}
        value = serde.encode("clock", "BusinessDayClosed", tick)
        batch = store.begin()
        processor.store = batch
        began = time.perf_counter()
        emitted = processor.handle(0, 11, value)
        seconds = time.perf_counter() - began
        touched = len(batch.partition(0).members)
    finally:
        store.close()
    changing = len(range(0, members, every))
    return TickFigures(members, changing, touched, seconds, len(emitted), fill)


def _copy(template: StoredMember, member_id: str) -> bytes:
    """`template`'s stored form under `member_id`."""
    body = json.loads(member_body(template.dumps()))
    body["l"] = {**body["l"], "m": member_id}
    return member_value(template.due_on, json.dumps(body, separators=(",", ":")).encode())


def _template(
    processor: MemberProcessor, serde: AvroSerde, months: int, offset: int
) -> StoredMember:
    """A member enrolled on 5 January and paid `months` months on the 6th, as stored."""
    member = f"T-{months}"
    enrolment = {
        "event_id": f"e-{member}",
        "occurred_at": _at(date(2019, 1, 5)),
        "source": "portal",
        "member_id": member,
        "nik": "3171000000000000",
        "full_name": "Bench",
        "phone": None,
        "segment": "BPU",
        "programmes": ["JKK", "JKM"],
        "declared_income": 2_000_000,
        "agent_id": None,
        "employer_id": None,
        "branch_code": "B01",
        "region_code": "31",
        "channel": "portal",
    }
    payment = {
        "event_id": f"p-{member}",
        "occurred_at": _at(date(2019, 1, 6)),
        "source": "bank:BNI",
        "payment_id": f"P-{member}",
        "member_id": member,
        "months": months,
        "amount": 36_800 * months,
        "channel": "bank",
        "collecting_agent_id": None,
    }
    processor.handle(0, offset, serde.encode("enrolments", "MemberEnrolled", enrolment))
    processor.handle(0, offset + 1, serde.encode("contributions", "ContributionPaid", payment))
    state = processor.store.partition(0)
    stored = StoredMember.loads(state.members.pop(member))
    state.due_move(member, stored.due_on, None)
    return stored
