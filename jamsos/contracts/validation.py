"""Semantic rules of the event contract, applied to a decoded record.

The Avro schema settles shapes and types; these are the rules a schema cannot express
(events.md: "violates a rule above" sends an input message to ``dead-letters``). Each rule
is a small named function over the record dict, listed per record type in :data:`RULES`,
so a rule is found, tested and changed on its own.

Output records get a few invariant checks too (agents.md, status.md): the pipeline can
assert them before publishing, so a bug shows up as an error rather than as a dashboard
that no longer adds up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from jamsos.contracts.catalog import topic_for
from jamsos.contracts.errors import ContractError, ErrorType

__all__ = [
    "MANDATORY_PROGRAMMES",
    "MAX_MONTHS_PER_PAYMENT",
    "RULES",
    "Rule",
    "find_violations",
    "validate",
]

Rule = Callable[[Mapping[str, Any]], None]

MANDATORY_PROGRAMMES = ("JKK", "JKM")
"""Work-accident and death cover are compulsory for every member (events.md)."""
MAX_MONTHS_PER_PAYMENT = 12
"""BPU members may pay 1-12 months ahead in one payment."""
MAX_RUPIAH = 10**12
"""Largest `amount` or `declared_income` (events.md, Bounds): no sum the pipeline keeps can
then overflow a `long`."""
EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2099, 12, 31)
"""Business dates and timestamps lie in this range (events.md, Bounds), so every month
derived from them, up to 12 months ahead, fits ClickHouse `Date` and `DateTime`."""

_NIK_RE = re.compile(r"[0-9]{16}")
_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""Ids (events.md, Bounds): 1-64 characters of A-Z a-z 0-9 . _ -; nothing that could break
a key space, a log line or a column."""
_STATUS_COUNTS = (
    "recruits_new",
    "recruits_active",
    "recruits_grace",
    "recruits_lapsed",
    "recruits_exited",
)


def _invalid(field: str, why: str) -> ContractError:
    return ContractError(ErrorType.VALIDATION_ERROR, f"{field}: {why}", field=field)


def _get(record: Mapping[str, Any], field: str) -> Any:
    """The field's value; a decoded record always has every field, so absence is a bug."""
    if field not in record:
        raise _invalid(field, "missing")
    return record[field]


def _require_text(record: Mapping[str, Any], field: str) -> None:
    """A required string field must not be blank: blanks would collide as keys and ids."""
    value = _get(record, field)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(field, f"must not be blank, got {value!r}")


def _optional_text(record: Mapping[str, Any], field: str) -> None:
    """An optional id, when given, must not be blank: '' is not a way to say 'none'."""
    value = record.get(field)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise _invalid(field, f"must be null or a non-blank string, got {value!r}")


def _shown(value: Any) -> str:
    """A bad value as an error may quote it: short, so a 10 kB id stays out of the reason."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}... ({len(value)} characters)"


def _require_id(record: Mapping[str, Any], field: str) -> None:
    value = _get(record, field)
    if not isinstance(value, str) or _ID_RE.fullmatch(value) is None:
        raise _invalid(field, f"must be 1-64 characters of A-Z a-z 0-9 . _ -, got {_shown(value)}")


def _optional_id(record: Mapping[str, Any], field: str) -> None:
    if record.get(field) is not None:
        _require_id(record, field)


def _in_date_range(record: Mapping[str, Any], field: str) -> None:
    value = _get(record, field)
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise _invalid(
            field,
            f"must lie in {EARLIEST_DATE.isoformat()} .. {LATEST_DATE.isoformat()}, "
            f"got {day.isoformat()}",
        )


def _rupiah(record: Mapping[str, Any], field: str) -> None:
    value = _get(record, field)
    if value <= 0:
        raise _invalid(field, f"must be > 0, got {value}")
    if value > MAX_RUPIAH:
        raise _invalid(field, f"must be at most 10^12 Rupiah, got {value}")


def _first_of_month(record: Mapping[str, Any], field: str) -> None:
    """Month-valued dates are stored as the first day of the month (events.md, agents.md)."""
    value = record.get(field)
    if isinstance(value, date) and value.day != 1:
        raise _invalid(field, f"must be the first day of a month, got {value.isoformat()}")


def _non_negative(record: Mapping[str, Any], field: str) -> None:
    value = _get(record, field)
    if value < 0:
        raise _invalid(field, f"must be >= 0, got {value}")


# ------------------------------------------------------------------ input: common fields


def check_event_id(record: Mapping[str, Any]) -> None:
    """event_id must be non-blank: it is the de-duplication key ("applied once")."""
    _require_id(record, "event_id")


def check_source(record: Mapping[str, Any]) -> None:
    """source must be non-blank: it is how a bad event is traced to its publisher."""
    _require_text(record, "source")


def check_member_id(record: Mapping[str, Any]) -> None:
    """member_id must be non-blank: it is the message key and the member's state key."""
    _require_id(record, "member_id")


def check_agent_id(record: Mapping[str, Any]) -> None:
    """agent_id (on agent events) must be non-blank: it is the key of topic 'agents'."""
    _require_id(record, "agent_id")


def check_payment_id(record: Mapping[str, Any]) -> None:
    """payment_id must be non-blank: duplicates and reversals are matched on it."""
    _require_id(record, "payment_id")


def check_branch_code(record: Mapping[str, Any]) -> None:
    """branch_code must be non-blank: dashboards group by it."""
    _require_id(record, "branch_code")


def check_region_code(record: Mapping[str, Any]) -> None:
    """region_code must be non-blank: dashboards group by it."""
    _require_id(record, "region_code")


def check_occurred_at(record: Mapping[str, Any]) -> None:
    """occurred_at lies in 1990-2099: it drives every rule and every stored date."""
    _in_date_range(record, "occurred_at")


def check_effective_date(record: Mapping[str, Any]) -> None:
    """effective_date of a termination lies in 1990-2099."""
    _in_date_range(record, "effective_date")


def check_business_date(record: Mapping[str, Any]) -> None:
    """business_date lies in 1990-2099: it never goes back, so one far ahead is forever."""
    _in_date_range(record, "business_date")


# ------------------------------------------------------------------ input: MemberEnrolled


def check_nik(record: Mapping[str, Any]) -> None:
    """The NIK is exactly 16 ASCII digits."""
    nik = _get(record, "nik")
    if not isinstance(nik, str) or _NIK_RE.fullmatch(nik) is None:
        length = len(nik) if isinstance(nik, str) else "?"
        # The NIK is personal data: say what is wrong without echoing it into dead letters.
        raise _invalid("nik", f"must be exactly 16 digits (got {length} characters)")


def check_programmes_mandatory(record: Mapping[str, Any]) -> None:
    """programmes must include JKK and JKM, the compulsory cover."""
    programmes = _get(record, "programmes")
    missing = [p for p in MANDATORY_PROGRAMMES if p not in programmes]
    if missing:
        raise _invalid("programmes", f"must contain JKK and JKM, missing {', '.join(missing)}")


def check_programmes_unique(record: Mapping[str, Any]) -> None:
    """programmes lists each programme once: a repeat is a publisher bug, not double cover."""
    programmes = list(_get(record, "programmes"))
    repeated = sorted({p for p in programmes if programmes.count(p) > 1})
    if repeated:
        raise _invalid("programmes", f"repeats {', '.join(repeated)}")


def check_declared_income(record: Mapping[str, Any]) -> None:
    """declared_income is > 0 and at most 10^12 Rupiah: contributions are computed from it."""
    _rupiah(record, "declared_income")


def check_employer_for_pu(record: Mapping[str, Any]) -> None:
    """A PU (wage-earner) member must name the employer who pays for them."""
    if _get(record, "segment") == "PU" and not (record.get("employer_id") or "").strip():
        raise _invalid("employer_id", "required for segment PU")


def check_employer_id(record: Mapping[str, Any]) -> None:
    """employer_id, when given, is non-blank."""
    _optional_id(record, "employer_id")


def check_recruiting_agent_id(record: Mapping[str, Any]) -> None:
    """The recruiting agent_id, when given, is non-blank (it keys the agent's tallies)."""
    _optional_id(record, "agent_id")


# ------------------------------------------------------------------ input: contributions


def check_months(record: Mapping[str, Any]) -> None:
    """months is 1-12: a payment covers at least one month and at most a year ahead."""
    months = _get(record, "months")
    if not 1 <= months <= MAX_MONTHS_PER_PAYMENT:
        raise _invalid("months", f"must be 1-{MAX_MONTHS_PER_PAYMENT}, got {months}")


def check_amount(record: Mapping[str, Any]) -> None:
    """amount is > 0 and at most 10^12 Rupiah: commission is a share of it, and the sums of
    an agent's month must fit a `long`."""
    _rupiah(record, "amount")


def check_collecting_agent_id(record: Mapping[str, Any]) -> None:
    """collecting_agent_id, when given, is non-blank (it keys the agent's tallies)."""
    _optional_id(record, "collecting_agent_id")


# ------------------------------------------------------------------ outputs


def check_change_id(record: Mapping[str, Any]) -> None:
    """change_id is non-blank: sinks store each change once by it."""
    _require_text(record, "change_id")


def check_alert_id(record: Mapping[str, Any]) -> None:
    """alert_id is non-blank: re-emitted alerts are recognised by it."""
    _require_text(record, "alert_id")


def check_tally_id(record: Mapping[str, Any]) -> None:
    """tally_id is non-blank: re-emitted tallies are stored once by it."""
    _require_text(record, "tally_id")


def check_nik_token(record: Mapping[str, Any]) -> None:
    """nik_token is non-blank: it is how dashboards count people without their NIK."""
    _require_text(record, "nik_token")


def check_arrears_months(record: Mapping[str, Any]) -> None:
    """arrears_months counts overdue months, so it is never negative."""
    _non_negative(record, "arrears_months")


def check_exited_arrears(record: Mapping[str, Any]) -> None:
    """An EXITED member has arrears_months 0 (status.md)."""
    if record.get("to_status") == "EXITED" and record.get("arrears_months"):
        raise _invalid("arrears_months", "must be 0 for EXITED")


def check_paid_through(record: Mapping[str, Any]) -> None:
    """paid_through is the first day of the paid-through month."""
    _first_of_month(record, "paid_through")


def check_period(record: Mapping[str, Any]) -> None:
    """period is the first day of the month its figures belong to."""
    _first_of_month(record, "period")


def check_recruit_counts(record: Mapping[str, Any]) -> None:
    """Recruits by status are >= 0 and add up to recruits_total (agents.md)."""
    for field in ("recruits_total", *_STATUS_COUNTS):
        _non_negative(record, field)
    by_status = sum(record[field] for field in _STATUS_COUNTS)
    if by_status != record["recruits_total"]:
        raise _invalid(
            "recruits_total",
            f"must equal the sum of recruits by status ({by_status}), got "
            f"{record['recruits_total']}",
        )


def check_payout(record: Mapping[str, Any]) -> None:
    """payout_amount = commission_amount + bonus_amount (agents.md)."""
    expected = _get(record, "commission_amount") + _get(record, "bonus_amount")
    if _get(record, "payout_amount") != expected:
        raise _invalid(
            "payout_amount",
            f"must equal commission_amount + bonus_amount ({expected}), "
            f"got {record['payout_amount']}",
        )


def check_tally_counts(record: Mapping[str, Any]) -> None:
    """Period counts and the version are never negative (amounts may be: see the schema)."""
    for field in ("new_recruits", "contribution_months", "bonus_amount", "version"):
        _non_negative(record, field)


def check_dead_letter_position(record: Mapping[str, Any]) -> None:
    """A dead letter points at a real message: non-blank topic, partition and offset >= 0."""
    _require_text(record, "topic")
    _non_negative(record, "partition")
    _non_negative(record, "offset")


def check_error_type(record: Mapping[str, Any]) -> None:
    """error_type is non-blank: operators filter and replay dead letters by it."""
    _require_text(record, "error_type")


_COMMON: tuple[Rule, ...] = (check_event_id, check_source, check_occurred_at)

RULES: Mapping[str, tuple[Rule, ...]] = MappingProxyType(
    {
        "MemberEnrolled": (
            *_COMMON,
            check_member_id,
            check_nik,
            check_programmes_mandatory,
            check_programmes_unique,
            check_declared_income,
            check_employer_for_pu,
            check_employer_id,
            check_recruiting_agent_id,
            check_branch_code,
            check_region_code,
        ),
        "MembershipTerminated": (*_COMMON, check_member_id, check_effective_date),
        "ContributionPaid": (
            *_COMMON,
            check_payment_id,
            check_member_id,
            check_months,
            check_amount,
            check_collecting_agent_id,
        ),
        "ContributionReversed": (*_COMMON, check_payment_id, check_member_id),
        "AgentRegistered": (*_COMMON, check_agent_id, check_branch_code, check_region_code),
        "AgentStatusChanged": (*_COMMON, check_agent_id),
        "BusinessDayClosed": (*_COMMON, check_business_date),
        "MemberStatusChanged": (
            check_member_id,
            check_change_id,
            check_nik_token,
            check_arrears_months,
            check_exited_arrears,
            check_paid_through,
            check_recruiting_agent_id,
        ),
        "LapseAlert": (
            check_alert_id,
            check_member_id,
            check_arrears_months,
            check_paid_through,
            check_recruiting_agent_id,
        ),
        "AgentTally": (
            check_agent_id,
            check_tally_id,
            check_recruit_counts,
            check_period,
            check_tally_counts,
            check_payout,
        ),
        "DeadLetter": (check_dead_letter_position, check_error_type),
    }
)
"""The rules of each record type, run in order; the first broken one is reported."""


def _rules_for(type_name: str) -> tuple[Rule, ...]:
    short = type_name.removeprefix("jamsos.v1.")
    topic_for(short)  # raises UNKNOWN_SCHEMA for a name outside the contract
    return RULES.get(short, ())


def validate(type_name: str, record: Mapping[str, Any]) -> None:
    """Raise ``ContractError("VALIDATION_ERROR", "<field>: <why>")`` on the first broken rule.

    ``record`` is a decoded record (from Avro or :mod:`jamsos.contracts.json_form`): types
    are already right, only the meaning is checked here.
    """
    for rule in _rules_for(type_name):
        rule(record)


def find_violations(type_name: str, record: Mapping[str, Any]) -> list[ContractError]:
    """Every broken rule of ``record``, for reports that should show all problems at once."""
    problems: list[ContractError] = []
    for rule in _rules_for(type_name):
        try:
            rule(record)
        except ContractError as exc:
            problems.append(exc)
    return problems
