"""Sends whose delivery is checked: a batch's offsets are acknowledged only after Kafka
has confirmed every message the batch produced.

aiokafka's `flush()` waits for in-flight requests but never raises, and Faust's buffer
flush gives up after 0.1 s without progress; neither says whether a message arrived. Every
send here keeps the future aiokafka returns, and `confirm` awaits them all: a failed send
raises, the batch fails, and the worker stops before acknowledging it
(`streams.app.WorkerApp`). Nothing the worker writes goes through Faust's buffer, table
writes included (`streams.agent_store`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import faust


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
        value: bytes | None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Awaitable[Any]:
        """Hand one message to the producer; returns its delivery (a future, done once
        `confirm` has returned). Straight to the producer, not `Topic.send`: Faust's
        per-message bookkeeping there was a tenth of the worker's time."""
        future = await self.app.producer.send(topic, key, value, partition, None, headers)
        self._futures.append(future)
        return future

    async def confirm(self) -> int:
        """Wait until Kafka has acknowledged every message sent since the last call;
        raises if any of them failed. Returns how many messages were confirmed."""
        futures, self._futures = self._futures, []
        await asyncio.gather(*futures)
        return len(futures)
