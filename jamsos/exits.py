"""Exit statuses the pipeline's processes end with on purpose, shared by who starts them."""

from __future__ import annotations

EXIT_AGENT_FAILED = 70
"""A worker stopped by an agent failure (EX_SOFTWARE), before committing the failed batch:
starting it again re-reads that batch, so whatever runs it (a service manager with
Restart=on-failure, the demo) starts it again."""
