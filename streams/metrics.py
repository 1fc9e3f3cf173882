"""The worker's Prometheus metrics and health.

Counted where the worker already handles each batch (`streams.agents`): batches, events
and batch time per agent, messages emitted per output topic (member status changes, lapse
alerts, agent tallies, dead letters), dead letters by error type, and the business date of
each member partition. `/healthz` is alive while the stall watch's timer keeps running on
the event loop (a loop that hangs stops it); `/readyz` is ready while the worker holds
partitions and is neither rebalancing nor restoring state (Faust's agent table, or the
member state `streams.member_state` reads from its state topic).
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from jamsos.metrics import Health


class WorkerMetrics:
    """One worker process's metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.batches = Counter(
            "jamsos_worker_batches", "Batches handled", ["agent"], registry=self.registry
        )
        self.events = Counter(
            "jamsos_worker_events", "Messages handled", ["agent"], registry=self.registry
        )
        self.inputs = Counter(
            "jamsos_worker_inputs",
            "Input messages handled, by contract topic (a tick once, not once per partition)",
            ["topic"],
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "jamsos_worker_batch_seconds",
            "Time to handle a batch, outputs acknowledged",
            ["agent"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.emitted = Counter(
            "jamsos_worker_emitted",
            "Messages sent, by contract topic",
            ["topic"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "jamsos_worker_dead_letters",
            "Dead letters sent, by error type",
            ["error_type"],
            registry=self.registry,
        )
        self.business_date = Gauge(
            "jamsos_worker_business_date_seconds",
            "Business date of a member partition (its midnight, UTC, as a Unix time)",
            ["partition"],
            registry=self.registry,
        )
        self.restored_members = Counter(
            "jamsos_worker_restored_members",
            "Members read back from the member state topic",
            registry=self.registry,
        )
        self.restoring: set[int] = set()
        """Member partitions whose state is being read back right now."""
        self.last_turn = time.monotonic()

    def beat(self) -> None:
        """The event loop is turning (called from a Faust timer)."""
        self.last_turn = time.monotonic()

    def health(self, app: Any) -> Health:
        """Alive while the loop turns; ready while assigned, not rebalancing or recovering."""

        def ready() -> tuple[bool, str]:
            if app.rebalancing:
                return False, "rebalancing"
            if app.in_recovery:
                return False, "restoring tables from their changelogs"
            if self.restoring:
                return False, f"restoring member partitions {sorted(self.restoring)}"
            assigned = len(app.consumer.assignment())
            if not assigned:
                return False, "no partitions assigned"
            return True, f"{assigned} partitions assigned"

        return Health(lambda: self.last_turn, ready)
