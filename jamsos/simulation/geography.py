"""Provinces and branches the simulated members and agents belong to.

Weights follow population roughly (Java dominates), so dashboards grouped by region look
like the agency's rather than uniform. Branch codes are ``{province}{01..05}``, with more
branches where more people live.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from jamsos.simulation.weighted import Weighted


@dataclass(frozen=True, slots=True)
class Province:
    """A province code (as in the NIK and ``region_code``), its weight and its branches."""

    code: str
    name: str
    weight: float
    branches: tuple[str, ...]


def _province(code: str, name: str, weight: float, branch_count: int) -> Province:
    branches = tuple(f"{code}{number:02d}" for number in range(1, branch_count + 1))
    return Province(code, name, weight, branches)


PROVINCES: tuple[Province, ...] = (
    _province("11", "Aceh", 2.0, 2),
    _province("12", "Sumatera Utara", 5.5, 4),
    _province("31", "DKI Jakarta", 4.0, 5),
    _province("32", "Jawa Barat", 18.0, 5),
    _province("33", "Jawa Tengah", 13.0, 5),
    _province("35", "Jawa Timur", 15.0, 5),
    _province("51", "Bali", 1.6, 3),
    _province("52", "Nusa Tenggara Barat", 1.9, 2),
    _province("61", "Kalimantan Barat", 1.8, 2),
    _province("64", "Kalimantan Timur", 1.4, 2),
    _province("71", "Sulawesi Utara", 0.9, 1),
    _province("73", "Sulawesi Selatan", 3.3, 3),
    _province("91", "Papua Barat", 0.4, 1),
    _province("94", "Papua", 1.2, 1),
)

_BY_POPULATION = Weighted((p, p.weight) for p in PROVINCES)


def pick_province(rng: random.Random) -> Province:
    """A province, weighted by population."""
    return _BY_POPULATION.pick(rng)


def pick_branch(rng: random.Random, province: Province) -> str:
    """One of the province's branches, uniformly."""
    branches = province.branches
    return branches[int(rng.random() * len(branches))]
