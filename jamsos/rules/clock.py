"""The business clock: which `BusinessDayClosed` ticks move it (events.md, Bounds).

A tick may advance the business date by at most `max_tick_advance_days` over the current
one; a tick further ahead is refused (a dead letter), never applied. The business date
never goes back, so one tick dated years ahead would otherwise age every member through
every status at once, permanently. The worker (per member partition) and `jamsos replay`
both decide here, over the same sequence of ticks, so they agree on which ones count.
"""

from __future__ import annotations

from datetime import date

DEFAULT_MAX_TICK_ADVANCE_DAYS = 31


def tick_advance_refused(
    current: date | None, proposed: date, max_days: int = DEFAULT_MAX_TICK_ADVANCE_DAYS
) -> str | None:
    """Why the tick to `proposed` is refused given the `current` business date, or None
    when it may apply (the first tick, and ticks at or before the current date, always
    may: the first sets the clock, earlier ones change nothing)."""
    if current is None:
        return None
    advance = (proposed - current).days
    if advance <= max_days:
        return None
    return (
        f"business_date: {proposed.isoformat()} would advance the business date by "
        f"{advance:,} days past {current.isoformat()}; at most {max_days} are allowed"
    )
