"""Publish → visible in ClickHouse: latency of the whole pipeline under a steady workload.

A canary method. Each run is a private run on the local stack (`bench_run`) with one worker
and one sink. The deterministic simulator is published at a fixed rate as background
workload, and meanwhile a second producer sends a few *probe* enrolments per second under
member ids the simulator never uses (``P…``; its members are ``M…``). A poller asks
ClickHouse every few tens of milliseconds which probes have a row in ``members``. A probe's
latency is the time from just before its send to the start of the first query that
returned it; the start is used because the row was already visible when the query began,
so the figure is an upper bound that is at most one poll interval late.

Probes are ordinary valid enrolments dated the day after the workload's latest business-day
close, so the worker treats them as the newest members of the feed (status NEW) and not as
year-old enrolments that would pass through every status at once. Each probe is flushed on
its own producer, so it never waits for the workload's batches or for the producer's
linger. A probe that has not landed by the drain deadline fails the run: a lost event is a
bug to report, not a sample to drop.
"""

from __future__ import annotations

import itertools
import logging
import math
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from jamsos.bench.harness import BenchRun, bench_run
from jamsos.contracts.publisher import EventPublisher
from jamsos.settings import Settings
from jamsos.simulation import Item, SimulatedEvent, Simulation, SimulationConfig
from jamsos.simulation.publishing import PublishOutcome, publish_items
from jamsos.warehouse.client import make_client

log = logging.getLogger(__name__)

PERCENTILES = (50.0, 95.0, 99.0)
EVENTS_PER_MEMBER = 4
"""Messages a simulated member yields over 12 months is about 5.5 (6.1 for small runs);
sizing the simulation at 4 leaves a margin so the workload never runs dry."""
PROBE_SOURCE = "latency-probe"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks.

    The position is ``q/100 * (n-1)`` in the sorted values, the same definition as numpy's
    default ("linear"), so figures can be checked with any common tool; unlike nearest
    rank, it does not jump from one sample to the next when a few hundred probes are taken.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be between 0 and 100, got {q}")
    ordered = sorted(values)
    position = q / 100.0 * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _key(q: float) -> str:
    return f"p{q:g}"


@dataclass(frozen=True)
class LatencyRun:
    """One run: what the workload achieved and the latency of every probe (seconds)."""

    rate: float
    seconds: float
    messages: int
    publish_seconds: float
    latencies: list[float]
    startup_seconds: float
    drain_seconds: float

    @property
    def achieved_rate(self) -> float:
        """Workload messages per second actually handed to Kafka (final flush included)."""
        return self.messages / self.publish_seconds if self.publish_seconds > 0 else 0.0

    def percentiles_ms(self) -> dict[str, float]:
        return {_key(q): round(percentile(self.latencies, q) * 1000, 1) for q in PERCENTILES}

    def halves_p50(self) -> tuple[float, float]:
        """Median latency (s) of the probes of the first and of the second half of the run."""
        half = len(self.latencies) // 2
        return (
            percentile(self.latencies[:half] or self.latencies, 50),
            percentile(self.latencies[half:], 50),
        )

    @property
    def fell_behind(self) -> bool:
        """Latency rose markedly during the run: the pipeline did not keep up with the
        rate, so its percentiles grow with the run's length instead of settling."""
        first, second = self.halves_p50()
        return second > 1.5 * first + 0.5

    def as_dict(self) -> dict[str, Any]:
        first, second = self.halves_p50()
        return {
            "rate": self.rate,
            "seconds": self.seconds,
            "messages": self.messages,
            "publish_seconds": round(self.publish_seconds, 3),
            "achieved_rate": round(self.achieved_rate, 1),
            "probes": len(self.latencies),
            **{f"{name}_ms": value for name, value in self.percentiles_ms().items()},
            "min_ms": round(min(self.latencies) * 1000, 1),
            "max_ms": round(max(self.latencies) * 1000, 1),
            "p50_first_half_ms": round(first * 1000, 1),
            "p50_second_half_ms": round(second * 1000, 1),
            "fell_behind": self.fell_behind,
            "startup_seconds": round(self.startup_seconds, 1),
            "drain_seconds": round(self.drain_seconds, 2),
        }


@dataclass(frozen=True)
class LatencyFigures:
    """All runs at one rate; the reported figure per percentile is the median over runs."""

    rate: float
    runs: list[LatencyRun]

    def medians_ms(self) -> dict[str, float]:
        per_run = [run.percentiles_ms() for run in self.runs]
        return {
            _key(q): round(statistics.median(p[_key(q)] for p in per_run), 1) for q in PERCENTILES
        }

    @property
    def achieved_rate(self) -> float:
        return statistics.median(run.achieved_rate for run in self.runs)

    @property
    def drain_seconds(self) -> float:
        """Median time from the workload's end to its last probe landing: near the normal
        latency when the pipeline kept up, the size of its backlog when it did not."""
        return statistics.median(run.drain_seconds for run in self.runs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "achieved_rate": round(self.achieved_rate, 1),
            "drain_seconds": round(self.drain_seconds, 2),
            "runs_fell_behind": sum(run.fell_behind for run in self.runs),
            **{f"{name}_ms": value for name, value in self.medians_ms().items()},
            "runs": [run.as_dict() for run in self.runs],
        }


@dataclass
class _BusinessDay:
    """The latest business day the workload has closed, as the publisher saw it."""

    day: date


def _watching_ticks(items: Iterable[Item], clock: _BusinessDay) -> Iterator[Item]:
    for item in items:
        if isinstance(item, SimulatedEvent) and item.record_name == "BusinessDayClosed":
            clock.day = item.record["business_date"]
        yield item


def _until(items: Iterable[Item], abort: threading.Event) -> Iterator[Item]:
    """Stop the workload early when another part of the run has failed."""
    for item in items:
        if abort.is_set():
            return
        yield item


def probe_record(member_id: str, on: date) -> dict[str, Any]:
    """A valid `MemberEnrolled` of an informal (BPU) worker, enrolled on the portal on `on`.

    No agent and no employer, so a probe adds no agent-tally work and lands through the same
    path as the simulator's portal enrolments.
    """
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": datetime.combine(on, clock_time(10), tzinfo=UTC),
        "source": PROBE_SOURCE,
        "member_id": member_id,
        "nik": f"3171{uuid.uuid4().int % 10**12:012d}",
        "full_name": "Probe",
        "phone": None,
        "segment": "BPU",
        "programmes": ["JKK", "JKM"],
        "declared_income": 2_000_000,
        "agent_id": None,
        "employer_id": None,
        "branch_code": "PROBE",
        "region_code": "31",
        "channel": "portal",
    }


@dataclass
class _Probes:
    """Send times and first-seen times of the probes, shared by the probe and poll threads."""

    sent: dict[str, float] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pending(self) -> list[str]:
        with self.lock:
            return [member for member in self.sent if member not in self.seen]

    def latencies(self) -> list[float]:
        """In send order, so halves of the list are halves of the run."""
        with self.lock:
            return [self.seen[m] - sent for m, sent in self.sent.items() if m in self.seen]


def _send_probes(
    publisher: EventPublisher,
    probes: _Probes,
    clock: _BusinessDay,
    per_second: float,
    stop: threading.Event,
) -> None:
    """Send probes evenly until `stop`; each is flushed and its delivery checked."""
    interval = 1.0 / per_second
    next_at = time.monotonic()
    for number in itertools.count():
        if stop.is_set():
            return
        member = f"P{number:09d}"
        record = probe_record(member, clock.day + timedelta(days=1))
        with probes.lock:
            probes.sent[member] = time.monotonic()
        future = publisher.publish("MemberEnrolled", record)
        publisher.flush()
        future.get(timeout=30)
        next_at += interval
        stop.wait(max(0.0, next_at - time.monotonic()))


class _Poller:
    """Asks ClickHouse which pending probes have landed, every `interval` seconds."""

    def __init__(self, run: BenchRun, probes: _Probes, interval: float) -> None:
        self.run = run
        self.probes = probes
        self.interval = interval
        self.deadline: float | None = None
        self.abort = threading.Event()

    def finish_by(self, deadline: float) -> None:
        """No more probes will be sent; every one must land before `deadline`."""
        self.deadline = deadline

    def poll(self) -> None:
        client = make_client(self.run.settings, database=self.run.settings.clickhouse_database)
        try:
            while not self.abort.is_set():
                _check_alive(self.run)
                pending = self.probes.pending()
                began = time.monotonic()
                if pending:
                    rows = client.execute(
                        "SELECT DISTINCT member_id FROM members WHERE member_id IN %(ids)s",
                        {"ids": tuple(pending)},
                    )
                    with self.probes.lock:
                        for (member,) in rows:
                            self.probes.seen.setdefault(member, began)
                    pending = self.probes.pending()
                if self.deadline is not None:
                    if not pending:
                        return
                    if time.monotonic() > self.deadline:
                        raise TimeoutError(
                            f"{len(pending)} of {len(self.probes.sent)} probes not in "
                            f"ClickHouse by the deadline (first: {pending[0]}); see the logs "
                            f"under {self.run.workdir}"
                        )
                time.sleep(max(0.0, began + self.interval - time.monotonic()))
        finally:
            client.disconnect()


def _check_alive(run: BenchRun) -> None:
    """A worker or sink that died would otherwise show up only as a probe timeout."""
    for process in run.processes:
        if process.poll() is not None:
            raise RuntimeError(
                f"a pipeline process (pid {process.pid}) exited with {process.returncode}; "
                f"see the logs under {run.workdir}"
            )


def _wait_until_landed(run: BenchRun, publisher: EventPublisher, on: date, timeout: float) -> float:
    """Send one enrolment and wait until ClickHouse has it: worker and sink are both in
    their groups and processing. Returns the seconds it took."""
    began = time.monotonic()
    member = "PWARMUP"
    publisher.publish("MemberEnrolled", probe_record(member, on)).get(timeout=30)
    client = make_client(run.settings, database=run.settings.clickhouse_database)
    try:
        while True:
            _check_alive(run)
            if client.execute("SELECT count() FROM members WHERE member_id = %(m)s", {"m": member})[
                0
            ][0]:
                return time.monotonic() - began
            if time.monotonic() - began > timeout:
                raise TimeoutError(
                    f"worker and sink not processing within {timeout:.0f}s; see the logs "
                    f"under {run.workdir}"
                )
            time.sleep(0.25)
    finally:
        client.disconnect()


def simulation_for(rate: float, seconds: float, seed: int = 1) -> tuple[Simulation, int]:
    """A simulation large enough for `rate` * `seconds` messages, and that message count."""
    messages = math.ceil(rate * seconds)
    members = max(1000, math.ceil(messages / EVENTS_PER_MEMBER))
    config = SimulationConfig(members=members, agents=max(20, members // 250), months=12, seed=seed)
    return Simulation(config), messages


def measure_run(
    base: Settings,
    rate: float,
    seconds: float,
    *,
    probes_per_second: float = 10.0,
    poll_interval: float = 0.05,
    startup_timeout: float = 180.0,
    drain_timeout: float | None = None,
    seed: int = 1,
    workers: int = 1,
) -> LatencyRun:
    """One run at `rate` workload messages/s for `seconds`, on a fresh private run.

    `drain_timeout` (default: 5 x `seconds`, at least 180 s) is how long after the workload
    every probe may take to land; a rate above what the pipeline sustains leaves a backlog
    that grows with the run, so the allowance does too.
    """
    if drain_timeout is None:
        drain_timeout = max(180.0, 5 * seconds)
    simulation, target = simulation_for(rate, seconds, seed)
    clock = _BusinessDay(simulation.config.start)
    with bench_run(base, "lat") as run:
        run.start_sink()
        for number in range(1, workers + 1):
            run.start_worker(f"w{number}")
        workload = EventPublisher(run.settings)
        prober = EventPublisher(run.settings, workload.serde)
        try:
            startup = _wait_until_landed(run, prober, clock.day, startup_timeout)
            log.info("rate %s: pipeline ready after %.1fs", rate, startup)
            probes = _Probes()
            poller = _Poller(run, probes, poll_interval)
            stop = threading.Event()
            items = _until(
                _watching_ticks(itertools.islice(simulation.events(), target), clock),
                poller.abort,
            )
            with ThreadPoolExecutor(max_workers=3, thread_name_prefix="latency") as pool:
                polling = pool.submit(poller.poll)
                sending = pool.submit(_send_probes, prober, probes, clock, probes_per_second, stop)
                publishing = pool.submit(publish_items, workload, items, rate)
                try:
                    outcome = _result_unless_failed(publishing, [polling, sending])
                    stop.set()
                    sending.result()
                    finished = time.monotonic()
                    poller.finish_by(finished + drain_timeout)
                    polling.result()
                except BaseException:
                    stop.set()
                    poller.abort.set()
                    raise
        finally:
            prober.close()
            workload.close()
    if outcome.failed:
        raise RuntimeError(f"{outcome.failed} of {outcome.sent} workload messages not delivered")
    if outcome.sent < target:
        raise RuntimeError(f"the simulation ran dry after {outcome.sent} of {target} messages")
    latencies = probes.latencies()
    if not latencies:
        raise RuntimeError(f"no probe was sent in {seconds}s; run for longer")
    last_seen = max(probes.seen.values())
    return LatencyRun(
        rate=rate,
        seconds=seconds,
        messages=outcome.sent,
        publish_seconds=outcome.elapsed,
        latencies=latencies,
        startup_seconds=startup,
        drain_seconds=max(0.0, last_seen - finished),
    )


def _result_unless_failed(
    main: Future[PublishOutcome], others: list[Future[None]]
) -> PublishOutcome:
    """Wait for `main`, but raise as soon as one of `others` fails (they run until told)."""
    while True:
        for other in others:
            if other.done():
                other.result()
                raise RuntimeError("a probe thread stopped before the workload ended")
        try:
            return main.result(timeout=0.5)
        except TimeoutError:
            continue


def measure_latency(
    settings: Settings,
    rates: Sequence[float],
    runs: int,
    seconds: float,
    *,
    progress: Callable[[str], None] | None = None,
    **options: Any,
) -> list[LatencyFigures]:
    """`runs` runs at each rate, each on its own fresh run (topics, database, worker state)."""
    if runs < 1 or seconds <= 0 or not rates or min(rates) <= 0:
        raise ValueError("need runs >= 1, seconds > 0 and rates > 0")
    figures = []
    for rate in rates:
        done = []
        for number in range(1, runs + 1):
            result = measure_run(settings, rate, seconds, **options)
            done.append(result)
            if progress is not None:
                p = result.percentiles_ms()
                progress(
                    f"rate {rate:,.0f}/s run {number}/{runs}: achieved "
                    f"{result.achieved_rate:,.0f}/s, {len(result.latencies)} probes, "
                    f"p50 {p['p50']:,.0f} ms, p95 {p['p95']:,.0f} ms, p99 {p['p99']:,.0f} ms"
                )
        figures.append(LatencyFigures(rate, done))
    return figures
