"""Typed domain events, built from decoded Avro records or from the JSON form.

Events are frozen and slotted: they are facts, many of them flow through a worker, and an
event that cannot change after decoding cannot drift between the copy that was validated
and the copy that was applied. Personal data (``nik``, ``full_name``, ``phone``) is kept
out of ``repr`` so that a logged event does not leak it; the member ledger keeps only a
keyed hash of the NIK (:func:`nik_token`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DATE = date(1970, 1, 1)
NIK_TOKEN_HEX_CHARS = 32
NIK_KEY_ID_HEX_CHARS = 8


class EventError(ValueError):
    """A record cannot be turned into a domain event (unknown type, missing field, bad value)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Event:
    """Fields common to every input event."""

    event_id: str
    occurred_at: datetime
    source: str

    @property
    def sort_key(self) -> tuple[datetime, str]:
        """Business-time order: ``occurred_at``, ties broken by ``event_id``."""
        return (self.occurred_at, self.event_id)

    @property
    def occurred_on(self) -> date:
        """The UTC date of ``occurred_at``: the date the rules evaluate the event on."""
        return self.occurred_at.date()


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberEnrolled(_Event):
    """A member joined; the coverage start month is the month of ``occurred_at``."""

    member_id: str
    nik: str = field(repr=False)
    full_name: str = field(repr=False)
    segment: str
    programmes: tuple[str, ...]
    declared_income: int
    branch_code: str
    region_code: str
    channel: str
    phone: str | None = field(default=None, repr=False)
    agent_id: str | None = None
    employer_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MembershipTerminated(_Event):
    """A member leaves for good from ``effective_date`` on."""

    member_id: str
    reason: str
    effective_date: date


@dataclass(frozen=True, slots=True, kw_only=True)
class ContributionPaid(_Event):
    """A payment of ``months`` monthly contributions totalling ``amount`` Rupiah."""

    payment_id: str
    member_id: str
    months: int
    amount: int
    channel: str
    collecting_agent_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContributionReversed(_Event):
    """Undoes the payment ``payment_id``."""

    payment_id: str
    member_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRegistered(_Event):
    """A Perisai agent joined."""

    agent_id: str
    full_name: str = field(repr=False)
    branch_code: str
    region_code: str
    community: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStatusChanged(_Event):
    """An agent's status changed (``ACTIVE``, ``DEACTIVATED``, ``TERMINATED``)."""

    agent_id: str
    status: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessDayClosed(_Event):
    """The scheduler closed ``business_date``: time-driven rules may advance to it."""

    business_date: date


MemberEvent = MemberEnrolled | MembershipTerminated | ContributionPaid | ContributionReversed
AgentEvent = AgentRegistered | AgentStatusChanged
Event = MemberEvent | AgentEvent | BusinessDayClosed

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        MemberEnrolled,
        MembershipTerminated,
        ContributionPaid,
        ContributionReversed,
        AgentRegistered,
        AgentStatusChanged,
        BusinessDayClosed,
    )
}
"""Record name (as in the Avro schemas and the JSON ``type`` field) to event class."""

_DATE_FIELDS = frozenset({"effective_date", "business_date"})
_INT_FIELDS = frozenset({"months", "amount", "declared_income"})


@functools.lru_cache(maxsize=8)
def nik_key_id(secret: bytes) -> str:
    """A short name of the NIK key that does not reveal it (an HMAC of a fixed label).

    Every token starts with it, so tokens made under different keys can be told apart:
    during a key rotation a dashboard can count members per key, and a token is only ever
    compared with tokens of the same key.
    """
    return hmac.new(secret, b"jamsos nik key id", hashlib.sha256).hexdigest()[:NIK_KEY_ID_HEX_CHARS]


def nik_token(nik: str, secret: bytes) -> str:
    """Keyed hash standing in for the NIK wherever a stable member identity is needed:
    `<key id>:<32 hex digits>`.

    A plain hash of a 16-digit number can be reversed by trying all numbers; keying it with
    a secret from configuration prevents that while keeping the token stable across runs.
    """
    digest = hmac.new(secret, nik.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{nik_key_id(secret)}:{digest[:NIK_TOKEN_HEX_CHARS]}"


def to_utc_datetime(value: Any) -> datetime:
    """Accept what decoders produce for a timestamp and return an aware UTC datetime.

    Avro decoders give aware datetimes (or epoch milliseconds when logical types are off);
    the JSON form gives ISO-8601 strings ending in ``Z``. A naive datetime is taken as UTC,
    since every timestamp in the contract is UTC.
    """
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, str):
        result = datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif isinstance(value, int) and not isinstance(value, bool):
        return EPOCH + timedelta(milliseconds=value)
    else:
        raise EventError(f"not a timestamp: {value!r}")
    if result.tzinfo is None:
        return result.replace(tzinfo=UTC)
    return result.astimezone(UTC)


def to_date(value: Any) -> date:
    """Accept a ``date``, an ISO ``YYYY-MM-DD`` string or Avro's days since the epoch."""
    if isinstance(value, datetime):
        raise EventError(f"expected a date, got a timestamp: {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return EPOCH_DATE + timedelta(days=value)
    raise EventError(f"not a date: {value!r}")


def _convert(name: str, value: Any) -> Any:
    """Coerce one decoded field to the type the event class declares."""
    if value is None:
        return None
    if name == "occurred_at":
        return to_utc_datetime(value)
    if name in _DATE_FIELDS:
        return to_date(value)
    if name in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise EventError(f"{name} must be an integer, got {value!r}")
        return value
    if name == "programmes":
        return tuple(str(item) for item in value)
    return value


def event_from_record(type_name: str, record: Mapping[str, Any]) -> Event:
    """Build the typed event ``type_name`` from a decoded record.

    Field names are exactly the contract's. Unknown fields (such as the JSON form's
    ``type``, or fields added by a newer schema version) are ignored so that readers keep
    working while schemas evolve; a missing required field is an :class:`EventError`.
    """
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        raise EventError(f"unknown event type: {type_name!r}")
    kwargs: dict[str, Any] = {}
    for spec in dataclasses.fields(cls):
        if spec.name in record:
            kwargs[spec.name] = _convert(spec.name, record[spec.name])
        elif spec.default is dataclasses.MISSING:
            raise EventError(f"{type_name}: missing field {spec.name!r}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise EventError(f"{type_name}: {exc}") from exc


def _json_value(value: Any) -> Any:
    """One field in the JSON form: ISO timestamps with ``Z``, ISO dates, lists for arrays."""
    if isinstance(value, datetime):
        text = value.astimezone(UTC).isoformat()
        return text.removesuffix("+00:00") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def event_to_record(event: Event) -> dict[str, Any]:
    """The JSON form of ``event`` (``{"type": name, ...fields}``); inverse of the builder."""
    record: dict[str, Any] = {"type": type(event).__name__}
    for spec in dataclasses.fields(event):
        record[spec.name] = _json_value(getattr(event, spec.name))
    return record
