"""One valid record of every contract type, in the dict form fastavro reads and writes.

Tests take a fresh copy with :func:`sample` and break one field at a time, so each test
shows exactly which field makes a record invalid.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

AT = datetime(2019, 1, 12, 8, 30, tzinfo=UTC)

_COMMON = {
    "event_id": "7d0e6f1c-2b7a-4f5e-9b1e-0c1d2e3f4a5b",
    "occurred_at": AT,
    "source": "portal",
}

_SAMPLES: dict[str, dict[str, Any]] = {
    "MemberEnrolled": {
        **_COMMON,
        "member_id": "M-0001",
        "nik": "5171012345678901",
        "full_name": "Made Wirawan",
        "phone": "+6281234567890",
        "segment": "BPU",
        "programmes": ["JKK", "JKM", "JHT"],
        "declared_income": 2_500_000,
        "agent_id": "AG-01",
        "employer_id": None,
        "branch_code": "DPS01",
        "region_code": "51",
        "channel": "agent",
    },
    "MembershipTerminated": {
        **_COMMON,
        "member_id": "M-0001",
        "reason": "RETIREMENT",
        "effective_date": date(2019, 6, 30),
    },
    "ContributionPaid": {
        **_COMMON,
        "payment_id": "PAY-1",
        "member_id": "M-0001",
        "months": 3,
        "amount": 108_000,
        "channel": "agent",
        "collecting_agent_id": "AG-01",
    },
    "ContributionReversed": {
        **_COMMON,
        "payment_id": "PAY-1",
        "member_id": "M-0001",
        "reason": "BANK_REVERSAL",
    },
    "AgentRegistered": {
        **_COMMON,
        "agent_id": "AG-01",
        "full_name": "Ketut Sari",
        "branch_code": "DPS01",
        "region_code": "51",
        "community": "OJEK",
    },
    "AgentStatusChanged": {
        **_COMMON,
        "agent_id": "AG-01",
        "status": "DEACTIVATED",
        "reason": "no recruits for 6 months",
    },
    "BusinessDayClosed": {**_COMMON, "source": "scheduler", "business_date": date(2019, 1, 12)},
    "MemberStatusChanged": {
        "member_id": "M-0001",
        "from_status": "ACTIVE",
        "to_status": "GRACE",
        "as_of": date(2019, 2, 16),
        "reason": "TIME",
        "paid_through": date(2019, 1, 1),
        "arrears_months": 1,
        "segment": "BPU",
        "branch_code": "DPS01",
        "region_code": "51",
        "agent_id": "AG-01",
        "nik_token": "b5f2c0e9a1d34c7e",
        "change_id": "M-0001:2019-02-16:GRACE:1",
        "enrolled_on": date(2019, 1, 10),
        "sequence": 4,
    },
    "LapseAlert": {
        "alert_id": "M-0001:ARREARS_STARTED:2019-02",
        "alert_type": "ARREARS_STARTED",
        "member_id": "M-0001",
        "agent_id": "AG-01",
        "branch_code": "DPS01",
        "region_code": "51",
        "as_of": date(2019, 2, 16),
        "paid_through": date(2019, 1, 1),
        "arrears_months": 1,
    },
    "AgentTally": {
        "agent_id": "AG-01",
        "branch_code": "DPS01",
        "region_code": "51",
        "agent_status": "ACTIVE",
        "recruits_total": 10,
        "recruits_new": 1,
        "recruits_active": 5,
        "recruits_grace": 2,
        "recruits_lapsed": 1,
        "recruits_exited": 1,
        "last_activity_on": date(2019, 1, 12),
        "period": date(2019, 1, 1),
        "new_recruits": 3,
        "contributions_amount": 324_000,
        "contribution_months": 9,
        "commission_amount": 48_600,
        "bonus_amount": 0,
        "payout_amount": 48_600,
        "as_of": date(2019, 1, 12),
        "version": 42,
        "tally_id": "AG-01:42",
    },
    "DeadLetter": {
        "topic": "contributions",
        "partition": 3,
        "offset": 1234,
        "key": b"M-0001",
        "value": b"\x00\x00\x00\x00\x07garbage",
        "error_type": "VALIDATION_ERROR",
        "error": "months: must be 1-12, got 0",
        "failed_at": datetime(2019, 1, 12, 8, 30, 0, 123000, tzinfo=UTC),
        "dead_letter_id": "contributions:3:1234",
    },
}

SAMPLE_NAMES = tuple(_SAMPLES)


def sample(type_name: str, **changes: Any) -> dict[str, Any]:
    """A fresh valid record of ``type_name`` with ``changes`` applied."""
    record = copy.deepcopy(_SAMPLES[type_name])
    record.update(changes)
    return record
