"""Decoded output records as the rows of the ClickHouse tables (pure functions).

Each function takes a decoded record and the Kafka position it was read from and returns
one row tuple in the column order of the matching `*_COLUMNS`. The rows carry what makes
re-delivery harmless: `updated_at` is the Kafka message timestamp (when the pipeline
emitted it, the same on every re-delivery, unlike the time of landing) and `version`
orders one key's rows as the table's ReplacingMergeTree needs.

No function here reads a field called nik, full_name or phone, and no table has such a
column: only `nik_token`, the keyed hash, lands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from jamsos.contracts.errors import ErrorType
from jamsos.contracts.redaction import Redactor, summary_only

Row = tuple[Any, ...]

OFFSET_BITS = 40
"""Kafka offsets below 2^40 (a trillion messages per partition) fit under the date."""
_OFFSET_LIMIT = 1 << OFFSET_BITS
UNKNOWN_DATE = date(1970, 1, 1)
"""`enrolled_on` of a member when no change carried it (see `enrolled_on`)."""

MEMBERS_COLUMNS = (
    "member_id", "segment", "branch_code", "region_code", "agent_id", "enrolled_on",
    "status", "paid_through", "arrears_months", "as_of", "nik_token", "updated_at",
    "change_id", "version",
)  # fmt: skip
MEMBER_STATUS_CHANGES_COLUMNS = (
    "change_id", "member_id", "from_status", "to_status", "as_of", "reason", "paid_through",
    "arrears_months", "segment", "branch_code", "region_code", "agent_id", "enrolled_on",
    "nik_token", "updated_at",
)  # fmt: skip
LAPSE_ALERTS_COLUMNS = (
    "alert_id", "alert_type", "member_id", "agent_id", "branch_code", "region_code", "as_of",
    "paid_through", "arrears_months", "updated_at",
)  # fmt: skip
AGENTS_COLUMNS = (
    "agent_id", "branch_code", "region_code", "status", "recruits_total", "recruits_new",
    "recruits_active", "recruits_grace", "recruits_lapsed", "recruits_exited",
    "last_activity_on", "as_of", "updated_at", "version",
)  # fmt: skip
AGENT_PERIODS_COLUMNS = (
    "agent_id", "period", "new_recruits", "contributions_amount", "contribution_months",
    "commission_amount", "bonus_amount", "payout_amount", "updated_at", "version",
)  # fmt: skip
DEAD_LETTERS_COLUMNS = (
    "dead_letter_id", "topic", "partition", "offset", "key", "value", "error_type", "error",
    "failed_at", "updated_at",
)  # fmt: skip
CONTRIBUTION_PAYMENTS_COLUMNS = (
    "payment_id", "member_id", "months", "amount", "paid_at", "channel",
    "collecting_agent_id", "event_id", "source", "keep_first",
)  # fmt: skip
CONTRIBUTION_REVERSALS_COLUMNS = (
    "payment_id", "member_id", "reason", "reversed_at", "event_id", "keep_first",
)  # fmt: skip

TABLE_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "members": MEMBERS_COLUMNS,
    "member_status_changes": MEMBER_STATUS_CHANGES_COLUMNS,
    "lapse_alerts": LAPSE_ALERTS_COLUMNS,
    "agents": AGENTS_COLUMNS,
    "agent_periods": AGENT_PERIODS_COLUMNS,
    "dead_letters": DEAD_LETTERS_COLUMNS,
    "contribution_payments": CONTRIBUTION_PAYMENTS_COLUMNS,
    "contribution_reversals": CONTRIBUTION_REVERSALS_COLUMNS,
}

CHANGED_DAYS_TABLE = "kpi_changed_days"
"""The business days whose status changes landed (for the KPI refresh, `jamsos.warehouse.
kpi`): derived from a flush's `member_status_changes` rows, not from a message."""
DERIVED_COLUMNS: Mapping[str, tuple[str, ...]] = {CHANGED_DAYS_TABLE: ("as_of",)}
_AS_OF = MEMBER_STATUS_CHANGES_COLUMNS.index("as_of")


def changed_days(status_changes: Sequence[Row]) -> list[Row]:
    """The `kpi_changed_days` rows of a batch of `member_status_changes` rows."""
    return [(day,) for day in sorted({row[_AS_OF] for row in status_changes})]


@dataclass(frozen=True, slots=True)
class Position:
    """Where a message was read: its partition, offset and timestamp (ms since the epoch)."""

    partition: int
    offset: int
    timestamp_ms: int

    @property
    def timestamp(self) -> datetime:
        return datetime.fromtimestamp(max(self.timestamp_ms, 0) / 1000, UTC)


def _text(value: Any) -> str:
    """Optional strings and enum symbols as ClickHouse strings ('' for none)."""
    return "" if value is None else str(value)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def member_version(as_of: date, offset: int) -> int:
    """Order of a member's rows from writers without `sequence` (the member's change
    number, which the current worker sets and which is the version when present):
    business date first, then emission order in the partition.

    A member's changes are keyed by member_id, so they share one partition and their
    offsets follow emission order; as_of never decreases along that order, and putting it
    first keeps an old change re-emitted after a worker restart (same as_of, later offset)
    from overtaking a change of a later day.
    """
    if not 0 <= offset < _OFFSET_LIMIT:
        raise ValueError(f"offset {offset} does not fit in {OFFSET_BITS} bits")
    return (as_of - UNKNOWN_DATE).days * _OFFSET_LIMIT + offset


def keep_first(offset: int) -> int:
    """A version that is highest for the earliest offset: the first delivery wins."""
    if not 0 <= offset < _OFFSET_LIMIT:
        raise ValueError(f"offset {offset} does not fit in {OFFSET_BITS} bits")
    return _OFFSET_LIMIT - offset


def enrolled_on(record: Mapping[str, Any]) -> date:
    """The member's enrolment date: the record's `enrolled_on`, else the as_of of the
    ENROLLED change (a member's first change is evaluated on the enrolment date), else
    1970-01-01 for changes from writers that predate the field."""
    value = record.get("enrolled_on")
    if value is not None:
        return value
    if record.get("reason") == "ENROLLED":
        return record["as_of"]
    return UNKNOWN_DATE


def member_row(record: Mapping[str, Any], position: Position) -> Row:
    """`members` row of a MemberStatusChanged: the member's state after the change."""
    return (
        record["member_id"],
        _text(record["segment"]),
        record["branch_code"],
        record["region_code"],
        _text(record.get("agent_id")),
        enrolled_on(record),
        _text(record["to_status"]),
        record.get("paid_through"),
        record["arrears_months"],
        record["as_of"],
        record["nik_token"],
        position.timestamp,
        record["change_id"],
        record.get("sequence") or member_version(record["as_of"], position.offset),
    )


def member_status_change_row(record: Mapping[str, Any], position: Position) -> Row:
    """`member_status_changes` row of a MemberStatusChanged (from_status '' when first)."""
    return (
        record["change_id"],
        record["member_id"],
        _text(record.get("from_status")),
        _text(record["to_status"]),
        record["as_of"],
        _text(record["reason"]),
        record.get("paid_through"),
        record["arrears_months"],
        _text(record["segment"]),
        record["branch_code"],
        record["region_code"],
        _text(record.get("agent_id")),
        enrolled_on(record),
        record["nik_token"],
        position.timestamp,
    )


def lapse_alert_row(record: Mapping[str, Any], position: Position) -> Row:
    """`lapse_alerts` row of a LapseAlert."""
    return (
        record["alert_id"],
        _text(record["alert_type"]),
        record["member_id"],
        _text(record.get("agent_id")),
        record["branch_code"],
        record["region_code"],
        record["as_of"],
        record.get("paid_through"),
        record["arrears_months"],
        position.timestamp,
    )


def agent_row(record: Mapping[str, Any], position: Position) -> Row:
    """`agents` row of an AgentTally: the agent's current figures, versioned by the tally."""
    return (
        record["agent_id"],
        _text(record.get("branch_code")),
        _text(record.get("region_code")),
        _text(record.get("agent_status")),
        record["recruits_total"],
        record["recruits_new"],
        record["recruits_active"],
        record["recruits_grace"],
        record["recruits_lapsed"],
        record["recruits_exited"],
        record.get("last_activity_on"),
        record["as_of"],
        position.timestamp,
        record["version"],
    )


def agent_period_row(record: Mapping[str, Any], position: Position) -> Row | None:
    """`agent_periods` row of an AgentTally, or None when the tally carries no period."""
    if record.get("period") is None:
        return None
    return (
        record["agent_id"],
        record["period"],
        record["new_recruits"],
        record["contributions_amount"],
        record["contribution_months"],
        record["commission_amount"],
        record["bonus_amount"],
        record["payout_amount"],
        position.timestamp,
        record["version"],
    )


def dead_letter_row(
    record: Mapping[str, Any], position: Position, redact: Redactor = summary_only
) -> Row:
    """`dead_letters` row of a DeadLetter: the original key, and the value as `redact`
    makes it safe to store (`jamsos.contracts.redaction`; by default only its length and
    hash, so no caller can land personal data by forgetting to redact)."""
    dead_letter_id = record.get("dead_letter_id") or (
        f"{record['topic']}:{record['partition']}:{record['offset']}"
    )
    return (
        dead_letter_id,
        record["topic"],
        record["partition"],
        record["offset"],
        record.get("key"),
        redact(record.get("value")),
        record["error_type"],
        record["error"],
        _utc(record["failed_at"]),
        position.timestamp,
    )


def refused_row_dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    table: str,
    error: BaseException,
    failed_at: datetime,
) -> Row:
    """`dead_letters` row for a message whose row in `table` the warehouse refused: the
    message stays on its topic; here it is named by position, with its value summarised
    (length and hash), never stored (it may hold anything)."""
    reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
    return (
        f"{topic}:{partition}:{offset}",
        topic,
        partition,
        offset,
        key,
        summary_only(value),
        ErrorType.WAREHOUSE_REFUSED,
        f"{table}: {type(error).__name__}: {reason}",
        failed_at,
        failed_at,
    )


def contribution_payment_row(record: Mapping[str, Any], position: Position) -> Row:
    """`contribution_payments` row of a ContributionPaid."""
    return (
        record["payment_id"],
        record["member_id"],
        record["months"],
        record["amount"],
        _utc(record["occurred_at"]),
        _text(record["channel"]),
        _text(record.get("collecting_agent_id")),
        record["event_id"],
        record["source"],
        keep_first(position.offset),
    )


def contribution_reversal_row(record: Mapping[str, Any], position: Position) -> Row:
    """`contribution_reversals` row of a ContributionReversed."""
    return (
        record["payment_id"],
        record["member_id"],
        _text(record["reason"]),
        _utc(record["occurred_at"]),
        record["event_id"],
        keep_first(position.offset),
    )


def rows_for(
    record_name: str,
    record: Mapping[str, Any],
    position: Position,
    redact: Redactor = summary_only,
) -> list[tuple[str, Row]]:
    """Every `(table, row)` one decoded record lands as; empty for a type no table keeps.
    `redact` is what a dead letter's original value goes through (see `dead_letter_row`)."""
    if record_name == "MemberStatusChanged":
        return [
            ("members", member_row(record, position)),
            ("member_status_changes", member_status_change_row(record, position)),
        ]
    if record_name == "LapseAlert":
        return [("lapse_alerts", lapse_alert_row(record, position))]
    if record_name == "AgentTally":
        landed = [("agents", agent_row(record, position))]
        period = agent_period_row(record, position)
        if period is not None:
            landed.append(("agent_periods", period))
        return landed
    if record_name == "DeadLetter":
        return [("dead_letters", dead_letter_row(record, position, redact))]
    if record_name == "ContributionPaid":
        return [("contribution_payments", contribution_payment_row(record, position))]
    if record_name == "ContributionReversed":
        return [("contribution_reversals", contribution_reversal_row(record, position))]
    return []
