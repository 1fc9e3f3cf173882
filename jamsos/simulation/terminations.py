"""Why and from when memberships end.

Effective dates differ from the date the termination is recorded the way they do in
practice: deaths and job losses are reported after the fact (a retroactive date),
emigration is announced ahead (a future date), a retirement takes effect on the first of
the next month, and a membership voided as invalid data ends from its very start.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from jamsos.simulation.members import Member
from jamsos.simulation.timeline import first_day_of, to_date
from jamsos.simulation.weighted import Weighted

_REASONS = Weighted.of(
    {
        "DEATH": 10,
        "RETIREMENT": 10,
        "JHT_CLAIMED": 20,
        "EMPLOYMENT_ENDED": 35,
        "EMIGRATION": 15,
        "DATA_INVALID": 10,
    }
)
_CLAIMS = frozenset({"DEATH", "RETIREMENT", "JHT_CLAIMED"})


def termination(rng: random.Random, member: Member, at: int) -> tuple[str, date, str]:
    """``(reason, effective_date, source)`` of a termination recorded at ``at``."""
    reason = _REASONS.pick(rng)
    if reason == "JHT_CLAIMED" and not member.has_jht:
        reason = "EMPLOYMENT_ENDED"
    recorded_on = to_date(at)
    enrolled_on = to_date(member.enrolled_at)
    if reason in ("DEATH", "EMPLOYMENT_ENDED"):
        effective = max(enrolled_on, recorded_on - timedelta(days=int(rng.random() * 21)))
    elif reason == "RETIREMENT":
        effective = first_day_of(recorded_on.year * 12 + recorded_on.month)
    elif reason == "EMIGRATION":
        effective = recorded_on + timedelta(days=int(rng.random() * 31))
    elif reason == "DATA_INVALID":
        effective = enrolled_on
    else:
        effective = recorded_on
    return reason, effective, "claims" if reason in _CLAIMS else "branch-office"
