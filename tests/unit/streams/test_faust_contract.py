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
