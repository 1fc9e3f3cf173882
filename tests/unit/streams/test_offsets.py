"""The offset guard stops a batch that skips offsets, and lets re-reads through."""

from __future__ import annotations

import pytest
from faust.types import TP

from streams.offsets import OffsetGuard, SkippedOffsetsError, StallWatch

ENROLMENTS_3 = TP("enrolments", 3)
CONTRIBUTIONS_3 = TP("contributions", 3)
READERS = {"clock": "intake-clock", "inbox": "members"}


def guard(committed: dict[TP, int] | None = None) -> OffsetGuard:
    known = committed or {}
    return OffsetGuard(known.get)


def test_dense_offsets_pass_across_batches_and_partitions() -> None:
    g = guard()
    g.check([(ENROLMENTS_3, 0), (ENROLMENTS_3, 1), (CONTRIBUTIONS_3, 7)])
    g.check([(CONTRIBUTIONS_3, 8), (ENROLMENTS_3, 2)])


def test_a_jump_after_a_handled_offset_is_refused() -> None:
    """The demo's loss: 957 handled, 958-961 dropped by Faust, 962 next."""
    g = guard()
    g.check([(ENROLMENTS_3, 956), (ENROLMENTS_3, 957)])
    with pytest.raises(SkippedOffsetsError, match="enrolments:3: offsets 958-961"):
        g.check([(ENROLMENTS_3, 962)])


def test_a_jump_past_the_committed_offset_is_refused() -> None:
    g = guard({ENROLMENTS_3: 958})
    with pytest.raises(SkippedOffsetsError):
        g.check([(ENROLMENTS_3, 962)])


def test_a_partition_starts_at_its_committed_offset_or_anywhere_when_unknown() -> None:
    guard({ENROLMENTS_3: 5_000}).check([(ENROLMENTS_3, 5_000)])
    guard().check([(ENROLMENTS_3, 12_345)])  # nothing committed: the log may start late


def test_a_re_read_from_the_committed_offset_after_a_rebalance_passes() -> None:
    committed = {ENROLMENTS_3: 100}
    g = OffsetGuard(committed.get)
    g.check([(ENROLMENTS_3, o) for o in range(100, 200)])
    g.check([(ENROLMENTS_3, o) for o in range(100, 150)])  # read again from 100
    with pytest.raises(SkippedOffsetsError):
        g.check([(ENROLMENTS_3, 152)])


def test_a_partition_that_left_and_came_back_continues_from_its_committed_offset() -> None:
    """Another worker moved it on meanwhile; Faust re-read the committed offset."""
    committed: dict[TP, int] = {}
    g = OffsetGuard(committed.get)
    g.check([(ENROLMENTS_3, 0), (ENROLMENTS_3, 1)])
    committed[ENROLMENTS_3] = 900
    g.check([(ENROLMENTS_3, 900), (ENROLMENTS_3, 901)])
    with pytest.raises(SkippedOffsetsError):
        g.check([(ENROLMENTS_3, 903)])


def test_a_quiet_partition_with_fetched_but_unhanded_messages_is_found_stalled() -> None:
    """Faust dropped ticks 78-89 around a rebalance; no later tick comes to reveal it."""
    clock = TP("clock", 0)
    committed = {clock: 78}
    guard = OffsetGuard(committed.get)
    guard.check([(clock, 77)])  # handed up to 78, and 78 committed
    settling = [False]
    watch = StallWatch(
        guard,
        highwater={clock: 90}.get,
        assigned=lambda: {clock},
        settling=lambda: settling[0],
        readers=READERS,
        limit=60,
    )
    watch.check(0.0)
    watch.check(59.0)
    settling[0] = True  # a rebalance restarts the count
    watch.check(61.0)
    settling[0] = False
    watch.check(70.0)
    with pytest.raises(SkippedOffsetsError, match="clock:0: offsets 78-89 were fetched"):
        watch.check(130.0)


def test_a_partition_whose_agent_still_holds_messages_is_not_stalled() -> None:
    """A tick waiting for the member events before it: handed, not yet committed."""
    clock = TP("clock", 0)
    guard = OffsetGuard({clock: 78}.get)
    guard.check([(clock, 78), (clock, 79)])
    watch = StallWatch(guard, {clock: 90}.get, lambda: {clock}, lambda: False, READERS, limit=60)
    for now in (0.0, 100.0, 1000.0):
        watch.check(now)
    caught_up = StallWatch(
        guard, {clock: 80}.get, lambda: {clock}, lambda: False, READERS, limit=60
    )
    guard.committed = {clock: 80}.get
    for now in (0.0, 100.0):
        caught_up.check(now)


def test_a_partition_no_longer_assigned_is_not_asked_for_its_end() -> None:
    """aiokafka asserts when asked for the end offset of a partition it does not hold."""
    moved = TP("clock", 0)
    guard = OffsetGuard({moved: 78}.get)
    guard.check([(moved, 77)])

    def highwater(tp: TP) -> int:
        raise AssertionError("Partition is not assigned")

    watch = StallWatch(guard, highwater, lambda: set(), lambda: False, READERS, limit=0)
    watch.check(0.0)
    watch.check(100.0)


def test_a_partition_never_handed_to_this_worker_is_found_when_its_agent_is_idle() -> None:
    """The clock moved to the worker that had just joined, which fetched ticks and was
    never handed one."""
    clock = TP("clock", 0)
    guard = OffsetGuard({clock: 78}.get)
    watch = StallWatch(guard, {clock: 90}.get, lambda: {clock}, lambda: False, READERS, limit=60)
    watch.check(0.0)
    with pytest.raises(SkippedOffsetsError, match="clock:0: offsets 78-89"):
        watch.check(60.0)


def test_an_agent_busy_on_one_partition_is_not_stalled_on_the_others() -> None:
    """A batch of inbox partition 1 waits out a registry outage; partition 2's messages
    wait in the agent's queue behind it."""
    one, two = TP("inbox", 1), TP("inbox", 2)
    committed = {one: 10, two: 40}
    guard = OffsetGuard(committed.get)
    guard.check([(one, 10), (one, 11)])  # handed, not yet committed
    ends = {one: 50, two: 70}
    watch = StallWatch(guard, ends.get, lambda: {one, two}, lambda: False, READERS, limit=60)
    for now in (0.0, 100.0, 1000.0):
        watch.check(now)
    committed[one] = ends[one] = 12  # done: the agent waits, and partition 2 is stuck
    watch.check(1010.0)
    with pytest.raises(SkippedOffsetsError, match="inbox:2: offsets 40-69"):
        watch.check(1070.0)


def test_topics_no_agent_reads_are_not_watched() -> None:
    """A table's changelog is assigned to the worker, but no agent is handed it."""
    changelog = TP("jamsos-members-changelog", 0)
    guard = OffsetGuard({changelog: 0}.get)
    ends = {changelog: 500}

    def highwater(tp: TP) -> int:
        return ends[tp]

    watch = StallWatch(guard, highwater, lambda: {changelog}, lambda: False, READERS, limit=0)
    watch.check(0.0)
    watch.check(100.0)


def test_a_partition_never_committed_counts_from_its_start() -> None:
    """A worker that joined as second had Faust drop what it had fetched of its first
    partitions: nothing was ever committed there, nothing handed, and the stall watch,
    which skipped partitions without a committed offset, never saw it."""
    enrolments = TP("inbox", 2)
    guard = OffsetGuard({}.get)
    watch = StallWatch(
        guard, {enrolments: 46}.get, lambda: {enrolments}, lambda: False, READERS, limit=60
    )
    watch.check(0.0)
    with pytest.raises(SkippedOffsetsError, match="inbox:2: offsets 0-45") as stalled:
        watch.check(60.0)
    assert (stalled.value.partition, stalled.value.offset) == (enrolments, 0)
