"""Sends whose delivery is checked: a batch's offsets are acknowledged only after Kafka
has confirmed every message the batch produced.

aiokafka's `flush()` waits for in-flight requests but never raises, and Faust's buffer
flush gives up after 0.1 s without progress; neither says whether a message arrived. Every
send here keeps the future aiokafka returns, and `confirm` awaits them all: a failed send
raises, the batch fails, and the worker stops before acknowledging it
(`streams.app.WorkerApp`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import faust

DRAIN_SECONDS = 5.0
"""Longest a batch waits for Faust's table-write buffer to drain before going on."""


class Deliveries:
    """The sends of one agent's batch in flight (one instance per agent: agents run
    concurrently, and each confirms only its own batch)."""

    def __init__(self, app: faust.App) -> None:
        self.app = app
        self._futures: list[Awaitable[Any]] = []

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:
        """Hand one message to the producer. Straight to the producer, not `Topic.send`:
        Faust's per-message bookkeeping there was a tenth of the worker's time."""
        self._futures.append(
            await self.app.producer.send(topic, key, value, partition, None, headers)
        )

    async def confirm(self) -> int:
        """Wait until Kafka has acknowledged the table writes queued in Faust's buffer and
        every message sent since the last call; raises if any of them failed. Returns how
        many messages were confirmed."""
        producer = self.app.producer
        # Faust's buffer flush gives up after 0.1 s without progress; try again while it
        # moves, but never wait on it for ever: around a rebalance Faust can hold the
        # buffer still, and waiting here would hold the rebalance up in turn.
        deadline = asyncio.get_running_loop().time() + DRAIN_SECONDS
        while producer.buffer.size and asyncio.get_running_loop().time() < deadline:
            await producer.buffer.flush()
        await producer.flush()
        futures, self._futures = self._futures, []
        await asyncio.gather(*futures)
        return len(futures)
