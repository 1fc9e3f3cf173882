"""Reading a JSON-form event file for `jamsos replay`: valid events, and the lines refused.

A line is refused exactly when the worker would dead-letter its message: it does not parse
into a record of the contract, or it breaks a validation rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from jamsos.contracts.errors import ContractError
from jamsos.contracts.json_form import from_json_line
from jamsos.contracts.validation import validate
from jamsos.rules.events import Event, EventError, event_from_record
from jamsos.rules.replay import replay
from jamsos.settings import Settings


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


def replay_as_configured(
    settings: Settings, events: Iterable[Event], as_of: date | None = None
) -> list[dict[str, Any]]:
    """`replay` under the rule settings the worker runs with (lapse, tick bound, holding)."""
    return replay(
        events,
        as_of,
        settings.lapse_months,
        max_tick_advance_days=settings.max_tick_advance_days,
        hold_days=settings.hold_days,
    )
