"""Reading a JSON-form event file for `jamsos replay`: valid events, and the lines refused.

A line is refused exactly when the worker would dead-letter its message: it does not parse
into a record of the contract, or it breaks a validation rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from jamsos.contracts.errors import ContractError
from jamsos.contracts.json_form import from_json_line
from jamsos.contracts.validation import validate
from jamsos.rules.events import Event, EventError, event_from_record


@dataclass
class EventFile:
    events: list[Event] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


def read_events(lines: Iterable[str]) -> EventFile:
    """Parse and validate JSON-form lines, keeping their order."""
    result = EventFile()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            name, record = from_json_line(line)
            validate(name, record)
            result.events.append(event_from_record(name, record))
        except (ContractError, EventError) as error:
            result.refused.append((number, f"{getattr(error, 'error_type', 'INVALID')}: {error}"))
    return result
