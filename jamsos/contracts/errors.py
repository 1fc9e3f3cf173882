"""The one exception type of the event contract.

Every contract failure carries an ``error_type`` because a rejected input message ends up in
``dead-letters`` with that class in ``DeadLetter.error_type``: operators filter and replay
dead letters by class, so the class must be machine-readable and stable, while the message
is for people and names the offending field.
"""

from __future__ import annotations

from enum import StrEnum

from jamsos.rules import holding

__all__ = ["ContractError", "ErrorType"]


class ErrorType(StrEnum):
    """Failure classes written to ``DeadLetter.error_type``.

    A ``StrEnum`` so the values compare equal to, and serialise as, the plain strings the
    ``DeadLetter`` schema carries (it is a string there on purpose: see its field doc).
    """

    DECODE_ERROR = "DECODE_ERROR"
    """The bytes or the JSON form cannot be turned into a record of the contract."""
    UNKNOWN_SCHEMA = "UNKNOWN_SCHEMA"
    """The record type (or schema id) is not part of the contract, or not on that topic."""
    VALIDATION_ERROR = "VALIDATION_ERROR"
    """The record decodes but breaks a rule of events.md (e.g. ``months`` = 0)."""
    UNKNOWN_PAYMENT = holding.UNKNOWN_PAYMENT
    """A reversal names a payment that never arrived within the holding period."""
    UNHELD_EVENT = holding.UNHELD_EVENT
    """An event of a member whose enrolment never arrived within the holding period."""
    PROCESSING_ERROR = "PROCESSING_ERROR"
    """The worker failed while applying a valid message (a defect, or input no rule
    foresaw): the message is set aside so that the rest of its batch goes on."""
    MISROUTED = "MISROUTED"
    """A member event on another partition than its member's (keyed by something other
    than `member_id`): applying it there would split the member's state. A replay
    publishes it again keyed by `member_id` (`jamsos.contracts.dead_letter_replay`)."""
    WAREHOUSE_REFUSED = "WAREHOUSE_REFUSED"
    """ClickHouse or its driver refused the row a valid message became; the message stays
    on its topic and the rest of its batch lands."""
    SCHEMA_ERROR = "SCHEMA_ERROR"
    """A schema file itself is missing or unreadable: a build problem, not bad input."""


class ContractError(Exception):
    """An event or schema does not meet the contract.

    ``str(error)`` is the readable message alone (it goes to ``DeadLetter.error`` as is);
    ``error_type`` is the class. ``field`` is the dotted path of the offending field when
    there is one, so callers and tests need not parse the message.
    """

    def __init__(self, error_type: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.error_type = str(error_type)
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"ContractError({self.error_type!r}, {self.message!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Keeps the error picklable (worker pools, multiprocessing test runners): the default
        # reduce would call __init__ with the message only.
        return (_rebuild, (self.error_type, self.message, self.field))


def _rebuild(error_type: str, message: str, field: str | None) -> ContractError:
    """Recreate a pickled :class:`ContractError` with its keyword-only ``field``."""
    return ContractError(error_type, message, field=field)
