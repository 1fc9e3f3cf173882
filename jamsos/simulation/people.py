"""Synthetic personal data: names, NIKs and phone numbers that belong to nobody.

The NIK follows the real layout (province, regency, district, birth date with +40 on the
day for women, serial) so that code parsing it sees realistic values, but every one is
drawn at random. Phone numbers are ``+62 0…``: Indonesian numbers never continue with a
0 after the country code, so these can never reach a real subscriber.
"""

from __future__ import annotations

import random

_MALE = (
    "Agus", "Budi", "Made", "Wayan", "Ketut", "Putu", "Joko", "Slamet", "Andi", "Rizki",
    "Dedi", "Hendra", "Yusuf", "Ahmad", "Bambang", "Eko", "Fajar", "Gede", "Hadi", "Imam",
)  # fmt: skip
_FEMALE = (
    "Siti", "Sri", "Dewi", "Ni Luh", "Ayu", "Rina", "Wulan", "Fitri", "Nur", "Ratna",
    "Yuni", "Indah", "Lestari", "Putri", "Kartika", "Ani", "Wati", "Maria", "Desi", "Eka",
)  # fmt: skip
_FAMILY = (
    "Santoso", "Wijaya", "Saputra", "Hidayat", "Pratama", "Nugroho", "Kusuma", "Setiawan",
    "Siregar", "Nasution", "Simanjuntak", "Lubis", "Harahap", "Manurung", "Tanjung",
    "Sihombing", "Purba", "Rahman", "Wibowo", "Susanto", "Halim", "Gunawan", "Daeng", "Sari",
)  # fmt: skip


def full_name(rng: random.Random, female: bool) -> str:
    """A two-part Indonesian-sounding name."""
    given = _FEMALE if female else _MALE
    return f"{given[int(rng.random() * len(given))]} {_FAMILY[int(rng.random() * len(_FAMILY))]}"


def nik(rng: random.Random, province_code: str, female: bool) -> str:
    """A random 16-digit NIK laid out like a real one, for a person born 1960-2003."""
    regency = 1 + int(rng.random() * 30)
    district = 1 + int(rng.random() * 20)
    day = 1 + int(rng.random() * 28) + (40 if female else 0)
    month = 1 + int(rng.random() * 12)
    year = (60 + int(rng.random() * 44)) % 100
    serial = 1 + int(rng.random() * 9_999)
    return f"{province_code}{regency:02d}{district:02d}{day:02d}{month:02d}{year:02d}{serial:04d}"


def phone(rng: random.Random) -> str:
    """A phone number in the never-allocated ``+62 0`` range."""
    return f"+620{int(rng.random() * 1_000_000_000):09d}"


class EventIds:
    """Unique UUID-shaped event ids: a random per-run prefix and a 48-bit counter.

    Drawing 128 random bits per event would cost more than building the event; a seeded
    prefix keeps runs with different seeds apart and the counter keeps ids unique in a run.
    """

    def __init__(self, rng: random.Random) -> None:
        text = f"{rng.getrandbits(80):020x}"
        self._prefix = (
            f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{'89ab'[int(text[16], 16) & 3]}{text[17:20]}-"
        )
        self._count = 0

    def __call__(self) -> str:
        self._count += 1
        return f"{self._prefix}{self._count:012x}"


def member_id(number: int) -> str:
    """The participant number of the ``number``-th enrolment (increasing, like KPJ numbers)."""
    return f"M{number:09d}"


def agent_id(number: int) -> str:
    """The id of the ``number``-th Perisai agent."""
    return f"AG{number:05d}"


def employer_id(number: int) -> str:
    """The id of an employer paying for PU workers."""
    return f"EMP{number:06d}"
