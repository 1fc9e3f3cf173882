"""The recovery benchmark's pure parts: process memory, sizes per million, partitions."""

from __future__ import annotations

from pathlib import Path

import pytest

from jamsos.bench.recovery import (
    disk_usage,
    member_id_of,
    member_partition,
    per_million,
    status_bytes,
)

STATUS = """\
Name:\tpython
Umask:\t0022
State:\tS (sleeping)
VmPeak:\t  612480 kB
VmHWM:\t  140212 kB
VmRSS:\t  111980 kB
RssAnon:\t    8508 kB
Threads:\t5
"""


def test_status_bytes_reads_kib_fields_as_bytes() -> None:
    assert status_bytes(STATUS, "VmRSS") == 111_980 * 1024
    assert status_bytes(STATUS, "VmHWM") == 140_212 * 1024


def test_status_bytes_does_not_take_a_field_for_its_prefix() -> None:
    assert status_bytes("VmRSSX:\t1 kB\nVmRSS:\t2 kB\n", "VmRSS") == 2048


def test_status_bytes_fails_on_a_missing_field() -> None:
    with pytest.raises(ValueError, match="VmSwap"):
        status_bytes(STATUS, "VmSwap")


def test_per_million_scales_to_a_million_members() -> None:
    assert per_million(87_000_000, 50_000) == 1_740_000_000
    assert per_million(1_234, 1_000_000) == 1_234
    with pytest.raises(ValueError, match="positive"):
        per_million(1, 0)


def test_member_partition_is_the_partition_the_worker_wrote_these_members_to() -> None:
    # Seen on a 4-partition run: the worker's changelog partitions of these members.
    seen = {"PROBE-0": 3, "PROBE-1": 2, "PROBE-2": 2, "PROBE-3": 2, "PROBE-4": 0, "PROBE-5": 3}

    assert {member: member_partition(member, 4) for member in seen} == seen


def test_member_partition_spreads_seeded_ids_evenly() -> None:
    counts = [0] * 4
    for i in range(10_000):
        counts[member_partition(member_id_of(i), 4)] += 1

    assert min(counts) > 2_300


def test_member_ids_have_the_simulator_form() -> None:
    assert member_id_of(42) == "M000000042"


def test_disk_usage_counts_allocated_blocks_of_every_file(tmp_path: Path) -> None:
    (tmp_path / "a.db").mkdir()
    (tmp_path / "a.db" / "000004.log").write_bytes(b"x" * 10_000)
    (tmp_path / "CURRENT").write_bytes(b"y")

    used = disk_usage(tmp_path)

    assert used >= 10_001
    assert used % 512 == 0
