"""Metrics and health over HTTP: `/metrics` (Prometheus), `/healthz`, `/readyz`.

Each long-running process (worker, sink) serves them on `JAMSOS_METRICS_PORT` when it is
set (0, the default, serves nothing): a Kubernetes probe asks `/healthz` (the process's main
loop is turning) and `/readyz` (it holds partitions and is not rebalancing or recovering),
Prometheus scrapes `/metrics`. The server is `prometheus-client`'s registry behind the
standard library's threading HTTP server, on a daemon thread: a scrape never waits on the
pipeline, and reading a counter is all it costs the pipeline.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger(__name__)

STALE_AFTER_SECONDS = 120.0
"""A process whose main loop has not turned for this long answers `/healthz` with 503."""


class Health:
    """What `/healthz` and `/readyz` answer: when the main loop last turned
    (`time.monotonic()`), and a readiness question, both asked at each probe."""

    def __init__(
        self,
        last_turn: Callable[[], float],
        ready: Callable[[], tuple[bool, str]] | None = None,
    ) -> None:
        self._last_turn = last_turn
        self._ready = ready or (lambda: (True, "ready"))

    def alive(self) -> tuple[bool, str]:
        quiet = time.monotonic() - self._last_turn()
        if quiet > STALE_AFTER_SECONDS:
            return False, f"main loop quiet for {quiet:.0f}s"
        return True, "alive"

    def ready(self) -> tuple[bool, str]:
        try:
            return self._ready()
        except Exception as error:  # a probe must answer, whatever the process is doing
            return False, f"readiness unknown: {type(error).__name__}"


def serve(host: str, port: int, registry: CollectorRegistry, health: Health) -> ThreadingHTTPServer:
    """Serve `/metrics`, `/healthz` and `/readyz` on `host`:`port` (0: any free port) from
    a daemon thread; returns the server (its `server_address` has the port)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._answer(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif self.path in ("/healthz", "/readyz"):
                good, why = health.alive() if self.path == "/healthz" else health.ready()
                self._answer(200 if good else 503, f"{why}\n".encode(), "text/plain")
            else:
                self._answer(404, b"not found\n", "text/plain")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Probes every few seconds are not worth a log line each."""

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="metrics", daemon=True)
    thread.start()
    log.info("metrics and health on port %d", server.server_address[1])
    return server


def free_port() -> int:
    """A TCP port nothing listens on now (for a child process's metrics)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int, timeout: float = 5.0) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """The samples `/metrics` on 127.0.0.1:`port` answers with: name -> labels -> value,
    parsed with prometheus-client's own parser."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as answer:
        text = answer.read().decode()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples
