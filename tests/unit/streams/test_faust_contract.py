"""What the worker relies on in Faust's private code, checked against the installed Faust.

`streams.app.WorkerApp` stops the process from `App._on_agent_error`. That only keeps a
failed batch uncommitted if Faust hands that hook to every agent as `on_error` and calls
it before it marks the agent crashed (after which it restarts the agent and the failed
batch is acknowledged). An upgrade of Faust that changes either fails here, not in a run.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

import faust
from faust.agents.agent import Agent
from faust.transport.consumer import Consumer


def test_every_agent_gets_the_apps_error_hook() -> None:
    assert "on_error=self._on_agent_error" in inspect.getsource(faust.App.agent)


def test_the_consumer_keeps_the_committed_offsets_the_offset_guard_reads() -> None:
    """`streams.offsets.OffsetGuard` reads `Consumer._committed_offset` (by partition)."""
    assert "self._committed_offset = defaultdict(" in inspect.getsource(Consumer.__init__)
    assert "self._committed_offset.update(" in inspect.getsource(Consumer.perform_seek)
    assert "self._committed_offset.update(" in inspect.getsource(Consumer._commit_offsets)


def test_the_error_hook_runs_before_the_agent_is_marked_crashed() -> None:
    source = inspect.getsource(Agent._execute_actor)
    handler = source.index("except Exception")
    hook = source.index("await self._on_error(self, exc)", handler)
    crash = source.index("await aref.crash(exc)", handler)
    assert hook < crash


def test_an_agent_failure_ends_the_worker_process_with_its_own_status() -> None:
    """The hook itself, in a child process (it ends the process it runs in)."""
    script = textwrap.dedent(
        """
        import asyncio
        import logging
        from streams.app import WorkerApp

        logging.basicConfig()

        class Agent:
            name = "members"

        app = WorkerApp("contract-test", web_enabled=False)
        asyncio.run(app._on_agent_error(Agent(), RuntimeError("boom")))
        print("still running")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    from jamsos.exits import EXIT_AGENT_FAILED

    assert result.returncode == EXIT_AGENT_FAILED, result.stderr
    assert "still running" not in result.stdout
    assert "agent members failed; stopping the worker without committing" in result.stderr


def test_the_rocksdb_store_applies_changelog_messages_as_the_agent_store_hands_them() -> None:
    """`streams.agent_store.ConfirmedTable` applies its confirmed writes through
    `Store.apply_changelog_batch` with events carrying only `message.tp`, `.partition`,
    `.offset`, `.key` and `.value`; the store must read nothing else, write the partition's
    keys raw, and keep the offset as the partition's persisted one."""
    from faust.stores.rocksdb import Store

    source = inspect.getsource(Store.apply_changelog_batch)
    assert "tp, offset = event.message.tp, event.message.offset" in source
    assert "msg = event.message" in source
    assert "batches[msg.partition].put(msg.key, msg.value)" in source
    assert "self.set_persisted_offset(tp, offset)" in source
    assert "to_key(" not in source
    assert "event.key" not in source


def test_a_revocation_awaits_its_signal_before_the_new_assignment() -> None:
    """`streams.agent_store.RevocationFence` waits for the batch in flight from the
    `on_partitions_revoked` signal: Faust must await it inside its revocation, and end the
    rebalance (`app.rebalancing`) only after recovery."""
    from faust.tables.recovery import Recovery

    revoked = inspect.getsource(faust.App._on_partitions_revoked)
    assert "await T(self.on_partitions_revoked.send)(revoked)" in revoked
    assert "app.on_rebalance_end()" in inspect.getsource(Recovery._resume_streams)
