"""The due-date index: members move between dates; a date is taken whole, once."""

from __future__ import annotations

from datetime import date

from streams.due_index import DueIndex

FEB_16, MAR_16 = date(2019, 2, 16), date(2019, 3, 16)


def test_members_are_taken_on_their_date_only_once() -> None:
    table: dict[str, bytes] = {}
    index = DueIndex(table)
    for i in range(5000):
        index.move(f"M{i}", None, FEB_16 if i % 100 else MAR_16)

    february = index.take(FEB_16)

    assert len(february) == 4950
    assert index.take(FEB_16) == []
    assert index.take(MAR_16) == sorted(f"M{i}" for i in range(0, 5000, 100))
    assert table == {}  # nothing left behind once every date was taken


def test_moving_a_member_removes_it_from_its_old_date() -> None:
    table: dict[str, bytes] = {}
    index = DueIndex(table)
    index.move("M1", None, FEB_16)
    index.move("M2", None, FEB_16)
    index.move("M1", FEB_16, MAR_16)
    index.move("M2", FEB_16, None)

    assert index.take(FEB_16) == []
    assert index.take(MAR_16) == ["M1"]
    assert table == {}
