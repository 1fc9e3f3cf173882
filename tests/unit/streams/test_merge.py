"""The member partition's merge: broker-timestamp order, and nothing taken early."""

from __future__ import annotations

import random

from streams.merge import Arrival, FetchTimes, PartitionMerge, Source, closed_until, merged

E, C, T = Source.ENROLMENTS, Source.CONTRIBUTIONS, Source.CLOCK


def arrival(source: Source, offset: int, timestamp: int) -> Arrival:
    return Arrival(source, 0, offset, timestamp, None, b"")


def labels(arrivals: list[Arrival]) -> list[str]:
    letter = {E: "E", C: "C", T: "T"}
    return [f"{letter[a.source]}{a.offset}" for a in arrivals]


def test_a_tick_comes_after_every_member_event_of_its_millisecond_and_before_later_ones() -> None:
    enrolments = [arrival(E, 0, 10), arrival(E, 1, 20), arrival(E, 2, 21)]
    contributions = [arrival(C, 0, 15), arrival(C, 1, 20), arrival(C, 2, 30)]
    ticks = [arrival(T, 0, 20)]
    order = ["E0", "C0", "E1", "C1", "T0", "E2", "C2"]
    assert labels(merged([enrolments, contributions, ticks])) == order


def test_nothing_is_taken_while_another_source_could_still_deliver_something_earlier() -> None:
    merge = PartitionMerge()
    merge.add([arrival(C, 0, 100), arrival(C, 1, 200)])
    # Enrolments not known to be closed: a payment cannot pass them.
    assert merge.take({E: None, T: 10_000}, 10) == []
    # Enrolments closed up to 150: the first payment may go, the second may not.
    assert labels(merge.take({E: 150, T: 10_000}, 10)) == ["C0"]
    # The clock is closed only up to 150: the second payment waits for it too.
    assert merge.take({E: 10_000, T: 150}, 10) == []
    assert labels(merge.take({E: 10_000, T: 201}, 10)) == ["C1"]


def test_a_head_of_another_source_is_as_good_as_its_closing() -> None:
    merge = PartitionMerge()
    merge.add([arrival(E, 0, 5), arrival(C, 0, 7), arrival(T, 0, 9)])
    # Every source has a head: the earliest can go without knowing anything more.
    assert labels(merge.take({}, 10)) == ["E0"]
    assert labels(merge.take({E: 8}, 10)) == ["C0"]
    assert labels(merge.take({E: 10, C: 10}, 10)) == ["T0"]


def test_the_order_does_not_depend_on_how_the_sources_were_read() -> None:
    """Fetches in any sizes and interleavings, closings as a consumer would see them:
    the same order every time (what makes a re-run after a crash repeat its outputs)."""
    rng = random.Random(7)
    streams: dict[Source, list[Arrival]] = {s: [] for s in Source}
    now = 0
    for _ in range(600):
        now += rng.choice([0, 0, 1, 3])
        source = rng.choice([E, E, C, C, C, T])
        streams[source].append(arrival(source, len(streams[source]), now))
    expected = labels(merged(list(streams.values())))
    for _ in range(20):
        merge = PartitionMerge()
        read = dict.fromkeys(Source, 0)
        got: list[Arrival] = []
        while len(got) < 600:
            source = rng.choice(list(Source))
            step = rng.randint(0, 40)
            chunk = streams[source][read[source] : read[source] + step]
            merge.add(chunk)
            read[source] += len(chunk)
            closed = {
                s: (10**9 if read[s] == len(streams[s]) else None)
                if rng.random() < 0.5
                else (streams[s][read[s]].timestamp if read[s] < len(streams[s]) else None)
                for s in Source
            }
            got += merge.take(closed, rng.randint(1, 50))
        assert labels(got) == expected


def test_a_partition_is_closed_only_once_read_up_to_its_last_highwater() -> None:
    assert closed_until(10, 12, 5_000, 20) is None
    assert closed_until(12, 12, 5_000, 20) == 4_980
    assert closed_until(12, None, None, 20) is None


def test_a_closing_dates_from_before_the_latest_fetch_was_asked_for() -> None:
    """The stamp of a fetch is when its answer was handled; the closing uses the stamp
    before it, a time before the latest fetch was even asked for."""
    times = FetchTimes()
    assert times.asked_after("p0", 1_000) is None
    assert times.asked_after("p0", 1_000) is None  # no new fetch yet
    assert times.asked_after("p0", 1_600) == 1_000
    assert times.asked_after("p0", 1_600) == 1_000
    assert times.asked_after("p1", 1_700) is None
    assert times.asked_after("p0", 2_000) == 1_600
