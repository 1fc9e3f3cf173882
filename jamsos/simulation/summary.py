"""Counts of what a simulation produced, for reports and for cross-checking the pipeline."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SimulationSummary:
    """Filled while items are generated; complete once the stream is exhausted.

    ``by_type`` counts valid records as published, re-published duplicates included, so
    it is what the input topics receive; ``duplicates`` says how many of those are repeats.
    """

    members: int = 0
    agents: int = 0
    days: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    invalid: Counter[str] = field(default_factory=Counter)
    """Invalid records by defect (they decode but break a rule)."""
    garbage: Counter[str] = field(default_factory=Counter)
    """Raw non-Avro messages by defect."""
    duplicates: int = 0
    delayed: int = 0
    """Events published hours to days after they occurred."""
    early_payments: int = 0
    """Members whose enrolment was published after their first payment."""

    @property
    def valid(self) -> int:
        """Valid records published (duplicates included)."""
        return sum(self.by_type.values())

    @property
    def invalid_total(self) -> int:
        """Messages that must end in ``dead-letters`` (invalid records and raw garbage)."""
        return sum(self.invalid.values()) + sum(self.garbage.values())

    @property
    def total(self) -> int:
        """Every message published."""
        return self.valid + self.invalid_total

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view, for the CLI and the demo report."""
        return {
            "members": self.members,
            "agents": self.agents,
            "days": self.days,
            "total": self.total,
            "valid": self.valid,
            "by_type": dict(sorted(self.by_type.items())),
            "duplicates": self.duplicates,
            "delayed": self.delayed,
            "early_payments": self.early_payments,
            "invalid": dict(sorted(self.invalid.items())),
            "garbage": dict(sorted(self.garbage.items())),
            "dead_letters_expected": self.invalid_total,
        }
