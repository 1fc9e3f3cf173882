"""A small, complete set of sink input records and the answers the tables must give.

Covers what the tables must get right: several changes per member with the last emitted
winning (also within one day), re-emitted changes and alerts, tallies with and without a
period, dead letters with binary bytes, reversals before and after their payment, a
repeated payment, and contributions the sink must skip (invalid, undecodable).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

NIK = "3171234567890123"
"""A NIK whose token the member records carry; it must never land anywhere."""
NIK_KEY = b"test-nik-key"
D0 = date(2019, 1, 10)


def nik_token(nik: str) -> str:
    return hmac.new(NIK_KEY, nik.encode(), hashlib.sha256).hexdigest()


@dataclass
class Dataset:
    """Records per contract topic in publish order, as (record name, key, record | bytes)."""

    messages: dict[str, list[tuple[str | None, bytes, Any]]] = field(default_factory=dict)
    final_status: dict[str, str] = field(default_factory=dict)
    change_ids: set[str] = field(default_factory=set)
    alert_ids: set[str] = field(default_factory=set)
    agent_versions: dict[str, int] = field(default_factory=dict)
    period_versions: dict[tuple[str, date], int] = field(default_factory=dict)
    dead_letter_positions: set[tuple[str, int, int]] = field(default_factory=set)
    payments: set[str] = field(default_factory=set)
    reversed_payments: set[str] = field(default_factory=set)
    skipped_contributions: int = 0

    def add(self, topic: str, record_name: str | None, key: str, record: Any) -> None:
        self.messages.setdefault(topic, []).append((record_name, key.encode(), record))

    @property
    def message_count(self) -> int:
        return sum(len(items) for items in self.messages.values())


def _change(
    member: int,
    n: int,
    from_status: str | None,
    to_status: str,
    as_of: date,
    reason: str,
    arrears: int = 0,
) -> dict[str, Any]:
    member_id = f"M{member:05d}"
    return {
        "member_id": member_id,
        "from_status": from_status,
        "to_status": to_status,
        "as_of": as_of,
        "reason": reason,
        "paid_through": None if to_status == "NEW" else date(2019, 1, 1),
        "arrears_months": arrears,
        "segment": ("PU", "BPU", "JAKON", "PMI")[member % 4],
        "branch_code": f"B{member % 3}",
        "region_code": str(51 + member % 2),
        "agent_id": f"A{member % 3}" if member % 4 else None,
        "nik_token": nik_token(NIK if member == 1 else f"{member:016d}"),
        "change_id": f"chg-{member_id}-{n}",
        "enrolled_on": D0 if member % 5 else None,
    }


def build(members: int = 40, agents: int = 3, suffix: str = "") -> Dataset:
    """The dataset; `suffix` makes ids distinct when one test publishes two of them."""
    data = Dataset()
    for member in range(1, members + 1):
        path = [(None, "NEW", D0, "ENROLLED", 0)]
        if member % 6 != 0:
            path.append(("NEW", "ACTIVE", D0 + timedelta(days=2), "PAYMENT", 0))
        if member % 3 == 0 and member % 6 != 0:
            path.append(("ACTIVE", "GRACE", D0 + timedelta(days=37), "TIME", 1))
            path.append(("GRACE", "GRACE", D0 + timedelta(days=65), "TIME", 2))
        if member % 6 == 0:
            path.append(("NEW", "LAPSED", D0 + timedelta(days=96), "TIME", 4))
        if member % 7 == 0:
            # two changes on one day: the one emitted last must win
            last = path[-1][1]
            day = path[-1][2] + timedelta(days=1)
            path.append((last, "ACTIVE", day, "PAYMENT", 0))
            path.append(("ACTIVE", "GRACE", day, "REVERSAL", 1))
        if member % 11 == 0:
            path.append((path[-1][1], "EXITED", path[-1][2] + timedelta(days=5), "TERMINATED", 0))
        records = [_change(member, n, *step) for n, step in enumerate(path)]
        for record in records:
            record["change_id"] += suffix
            data.add("member-status", "MemberStatusChanged", record["member_id"], record)
            data.change_ids.add(record["change_id"])
        if member % 9 == 0:  # re-emitted after a worker restart: same change, same id
            again = dict(records[-1])
            data.add("member-status", "MemberStatusChanged", again["member_id"], again)
        data.final_status[records[-1]["member_id"]] = records[-1]["to_status"]
        if records[-1]["to_status"] in ("GRACE", "LAPSED"):
            alert = {
                "alert_id": f"alert-{member}{suffix}",
                "alert_type": "ARREARS_STARTED"
                if records[-1]["to_status"] == "GRACE"
                else "LAPSED",
                "member_id": records[-1]["member_id"],
                "agent_id": records[-1]["agent_id"],
                "branch_code": records[-1]["branch_code"],
                "region_code": records[-1]["region_code"],
                "as_of": records[-1]["as_of"],
                "paid_through": records[-1]["paid_through"],
                "arrears_months": records[-1]["arrears_months"],
            }
            data.add("lapse-alerts", "LapseAlert", alert["member_id"], alert)
            data.add("lapse-alerts", "LapseAlert", alert["member_id"], dict(alert))
            data.alert_ids.add(alert["alert_id"])
    for agent in range(agents):
        agent_id = f"A{agent}{suffix}"
        for version in range(1, 6):
            period = None if version % 2 else date(2019, 1 + version // 4, 1)
            tally = {
                "agent_id": agent_id,
                "branch_code": f"B{agent}",
                "region_code": "51",
                "agent_status": "ACTIVE",
                "recruits_total": 10 * version,
                "recruits_new": version,
                "recruits_active": 5 * version + agent,
                "recruits_grace": version,
                "recruits_lapsed": 2 * version,
                "recruits_exited": 2 * version - agent,
                "last_activity_on": D0 + timedelta(days=version),
                "period": period,
                "new_recruits": version,
                "contributions_amount": 100_000 * version,
                "contribution_months": version,
                "commission_amount": 15_000 * version - 20_000,
                "bonus_amount": 0,
                "payout_amount": 15_000 * version - 20_000,
                "as_of": D0 + timedelta(days=version),
                "version": version,
                "tally_id": f"tally-{agent_id}-{version}",
            }
            data.add("agent-tallies", "AgentTally", agent_id, tally)
            data.agent_versions[agent_id] = version
            if period is not None:
                data.period_versions[(agent_id, period)] = version
    for offset, value in ((17, b"\x00\x00\x00\x00\x63\xff\xfe\x01"), (18, b"")):
        for attempt in range(2):  # the same rejected message, dead-lettered twice
            letter = {
                "topic": f"contributions{suffix}",
                "partition": 2,
                "offset": offset,
                "key": None if offset == 18 else b"M00001",
                "value": value,
                "error_type": "DECODE_ERROR",
                "error": "corrupt Avro body",
                "failed_at": datetime(2019, 2, 1, 8, attempt, tzinfo=UTC),
                "dead_letter_id": f"contributions{suffix}:2:{offset}",
            }
            data.add("dead-letters", "DeadLetter", "M00001", letter)
        data.dead_letter_positions.add((f"contributions{suffix}", 2, offset))
    for number in range(1, 9):
        member_id = f"M{number:05d}"
        payment = {
            "event_id": f"evt-pay-{number}{suffix}",
            "occurred_at": datetime(2019, 1, 12, 8, number, tzinfo=UTC),
            "source": "bank:BNI",
            "payment_id": f"pay-{number}{suffix}",
            "member_id": member_id,
            "months": 1 + number % 3,
            "amount": 35_000 * (1 + number % 3),
            "channel": "agent" if number % 2 else "bank",
            "collecting_agent_id": f"A{number % 3}" if number % 2 else None,
        }
        reversal = {
            "event_id": f"evt-rev-{number}{suffix}",
            "occurred_at": datetime(2019, 1, 20, 9, 0, tzinfo=UTC),
            "source": "bank:BNI",
            "payment_id": payment["payment_id"],
            "member_id": member_id,
            "reason": "BANK_REVERSAL",
        }
        if number == 2:  # the reversal arrives before its payment
            data.add("contributions", "ContributionReversed", member_id, reversal)
        data.add("contributions", "ContributionPaid", member_id, payment)
        if number == 3:
            data.add("contributions", "ContributionReversed", member_id, reversal)
            data.add("contributions", "ContributionReversed", member_id, dict(reversal))
        if number == 4:  # the same payment delivered twice
            data.add("contributions", "ContributionPaid", member_id, dict(payment))
        data.payments.add(payment["payment_id"])
        if number in (2, 3):
            data.reversed_payments.add(payment["payment_id"])
    invalid = {
        "event_id": f"evt-bad{suffix}",
        "occurred_at": datetime(2019, 1, 12, tzinfo=UTC),
        "source": "bank:BNI",
        "payment_id": f"pay-bad{suffix}",
        "member_id": "M00001",
        "months": 0,
        "amount": 35_000,
        "channel": "bank",
        "collecting_agent_id": None,
    }
    data.add("contributions", "ContributionPaid", "M00001", invalid)
    data.add("contributions", None, "M00001", b"\x00\x00\x00\x7f\x7fgarbage")
    data.skipped_contributions = 2
    return data
