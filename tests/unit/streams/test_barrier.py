"""The tick barrier's arithmetic: which offsets a tick waits for, and when it may pass."""

from __future__ import annotations

from kafka import TopicPartition

from streams.barrier import barrier_targets, still_behind

A0, A1 = TopicPartition("contributions", 0), TopicPartition("contributions", 1)


def test_a_tick_waits_for_the_messages_older_than_it_and_no_others() -> None:
    # On partition 0 the first message newer than the tick is offset 40; partition 1 has
    # none newer yet, so everything up to its end (25) is older than the tick.
    targets = barrier_targets({A0: 40, A1: -1}, {A0: 90, A1: 25})
    assert targets == {A0: 40, A1: 25}


def test_a_tick_passes_only_once_every_partition_is_committed_up_to_its_target() -> None:
    targets = {A0: 40, A1: 25}
    assert still_behind(targets, {A0: 39, A1: 30}) == {A0: 1}
    assert still_behind(targets, {A0: 40, A1: 25}) == {}
    assert still_behind(targets, {A0: 100, A1: 26}) == {}


def test_a_partition_never_committed_on_counts_as_wholly_behind() -> None:
    assert still_behind({A0: 3, A1: 0}, {}) == {A0: 3}
