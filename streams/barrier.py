"""A business-day tick waits for the member events published before it.

Ticks and member events reach the member inbox through two intake agents. The clock topic
is tiny and its intake never has a backlog, while the member inputs can be minutes behind
on a busy worker; left alone, a tick overtakes the payments made before it, closes days
for members whose payments are still on their way and emits arrears and lapse alerts
that the next payment takes back (the demo once counted 8 times the FINAL_WARNINGs of an
unhurried run). Holding rules make it worse: a payment held for its enrolment would expire
because a tick ran ahead of the enrolment.

So the clock intake forwards a tick only once the worker group has committed, on every
partition of the member input topics, past the last message published no later than the
tick (found by the tick's timestamp, `list_partition_offsets` with a timestamp spec).
The intake commits an input message only after its inbox copy is acknowledged, so at that
point every earlier member event is in the inbox ahead of the tick. The cost is that
ticks trail member events by about a commit interval; events published *after* a tick may
then overtake it by as much, which changes no final state (an event is evaluated on its
own date whichever side of the tick it lands).

The admin client is blocking and runs on one thread of its own; a failed probe is retried,
never turned into a forwarded tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kafka import TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec

from jamsos.topics import ADMIN_PROBE_ERRORS

log = logging.getLogger(__name__)
_T = TypeVar("_T")

POLL_SECONDS = 0.2
"""How often the group's committed offsets are read while a tick waits."""
REPORT_SECONDS = 30.0
"""How often a tick that is still waiting says so in the log."""
REQUEST_TIMEOUT_MS = 10_000
PROBE_TIMEOUT = 30.0
"""Longest one offsets probe may take before it is given up and asked again."""


def barrier_targets(
    at_tick: Mapping[TopicPartition, int], ends: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """Per partition, the offset the group must have committed before the tick may pass.

    `at_tick` is the first offset whose timestamp is later than the tick's (-1 when there is
    none yet: then every message there is older, and the partition's end is the target).
    """
    return {tp: offset if offset >= 0 else ends[tp] for tp, offset in at_tick.items()}


def still_behind(
    targets: Mapping[TopicPartition, int], committed: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """Messages still to be committed per partition; empty when the tick may pass. A
    partition the group never committed on counts from offset 0."""
    behind = {tp: target - committed.get(tp, 0) for tp, target in targets.items()}
    return {tp: count for tp, count in behind.items() if count > 0}


class TickBarrier:
    """Waits until the member events published before a tick are in the inbox."""

    def __init__(
        self,
        connection: dict[str, Any],
        group: str,
        topics: Iterable[str],
        partitions: int,
        *,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.connection = connection
        self.group = group
        self.partitions = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        self.poll_seconds = poll_seconds
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tick-barrier")
        self._admin: KafkaAdminClient | None = None

    async def wait(self, published_ms: int, label: str) -> None:
        """Return once the group has committed every member event published at or before
        `published_ms` (the tick's timestamp); `label` names the tick in the log."""
        loop = asyncio.get_running_loop()
        targets = await self._probe(lambda: self._targets(published_ms), label)
        reported = loop.time()
        while True:
            committed = await self._probe(self._committed, label)
            behind = still_behind(targets, committed)
            if not behind:
                return
            if loop.time() - reported >= REPORT_SECONDS:
                reported = loop.time()
                log.warning(
                    "tick %s still waits for %d member events published before it (%s)",
                    label,
                    sum(behind.values()),
                    ", ".join(
                        f"{tp.topic}:{tp.partition} {committed.get(tp, 0)}/{targets[tp]}"
                        for tp in sorted(behind)
                    ),
                )
            await asyncio.sleep(self.poll_seconds)

    async def _probe(self, call: Callable[[], _T], label: str) -> _T:
        """`call()` on the barrier's thread, repeated until the cluster answers. A call
        that hangs is given up after `PROBE_TIMEOUT` with its thread, never waited on."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                return await asyncio.wait_for(
                    loop.run_in_executor(self._thread, call), PROBE_TIMEOUT
                )
            except ADMIN_PROBE_ERRORS as error:
                log.warning("tick %s: reading offsets failed (%r); retrying", label, error)
                self._reset(hung=isinstance(error, TimeoutError))
                await asyncio.sleep(1.0)

    def _targets(self, published_ms: int) -> dict[TopicPartition, int]:
        admin = self._client()
        after = admin.list_partition_offsets(dict.fromkeys(self.partitions, published_ms + 1))
        ends = admin.list_partition_offsets(dict.fromkeys(self.partitions, OffsetSpec.LATEST))
        return barrier_targets(
            {tp: after[tp].offset for tp in self.partitions},
            {tp: ends[tp].offset for tp in self.partitions},
        )

    def _committed(self) -> dict[TopicPartition, int]:
        answer = self._client().list_group_offsets({self.group: self.partitions})[self.group]
        return {tp: meta.offset for tp, meta in answer.items() if meta.offset >= 0}

    def _client(self) -> KafkaAdminClient:
        if self._admin is None:
            self._admin = KafkaAdminClient(
                **self.connection,
                client_id="jamsos-tick-barrier",
                request_timeout_ms=REQUEST_TIMEOUT_MS,
            )
        return self._admin

    def _reset(self, *, hung: bool = False) -> None:
        """Drop a client whose connections may have gone bad; the next probe makes one.
        After a hung call its thread is left to it and a new one takes over."""
        admin, self._admin = self._admin, None
        if hung:
            self._thread.shutdown(wait=False)
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tick-barrier")
        elif admin is not None:
            self._thread.submit(admin.close)
