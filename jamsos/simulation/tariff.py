"""Monthly contribution amounts: what a member owes per month, from income and programmes.

The amounts follow the agency's published rates so that contribution sums and agent
commissions have realistic magnitudes: BPU members pay 1 % of declared income for JKK plus
a flat Rp 6,800 for JKM (Rp 16,800 at the lowest income band), and 2 % for JHT (Rp 36,800
in total at that band). Wage earners (PU, and JAKON when an employer pays) pay percentages
of wages. Rates are in basis points so the arithmetic is exact integers, like the contract's
money fields.
"""

from __future__ import annotations

import random

from jamsos.simulation.weighted import Weighted

JKM_FLAT_BPU = 6_800
_BPU_BPS = {"JKK": 100, "JHT": 200}
"""Self-paying members: JKK 1 %, JHT 2 % of declared income."""
_WAGE_BPS = {"JKK": 24, "JKM": 30, "JHT": 570, "JP": 300, "JKP": 46}
"""Wage earners: JKK 0.24 %, JKM 0.30 %, JHT 5.7 %, JP 3 %, JKP 0.46 % of wages."""

_BPU_INCOMES = Weighted(
    zip(
        (1_000_000, 1_500_000, 2_000_000, 2_500_000, 3_000_000, 4_000_000, 5_000_000),
        (55, 12, 10, 8, 7, 5, 3),
        strict=True,
    )
)


def self_payer_income(rng: random.Random) -> int:
    """A declared income from the BPU bands; most informal workers declare the lowest."""
    return _BPU_INCOMES.pick(rng)


def wage(rng: random.Random) -> int:
    """A monthly wage between about the provincial minimum and Rp 12 M, in Rp 50,000 steps."""
    above_minimum = int((rng.paretovariate(2.5) - 1.0) * 1_000_000) // 50_000 * 50_000
    return min(12_000_000, 1_800_000 + above_minimum)


def monthly_rate(segment: str, programmes: tuple[str, ...], income: int) -> int:
    """Rupiah due per month for one member."""
    if segment in ("BPU", "PMI"):
        amount = JKM_FLAT_BPU
        for programme in programmes:
            amount += income * _BPU_BPS.get(programme, 0) // 10_000
        return amount
    return max(1, sum(income * _WAGE_BPS.get(programme, 0) // 10_000 for programme in programmes))
