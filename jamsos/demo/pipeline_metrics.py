"""The demo report's section on the pipeline's own metrics, scraped from its processes.

Each worker and the sink serve `/metrics` during the run (the demo gives each a port); at
the end, before they stop, the demo reads them and sets the input messages the workers handled
beside what was published: at least as many, when no worker was restarted (a restarted
process counts from zero again), and more by what the workers read again after a
rebalance (processing is at least once; the outputs' ids make it count once downstream).
"""

from __future__ import annotations

from collections.abc import Sequence

from jamsos.demo.processes import Child
from jamsos.metrics import scrape

TOPICS = ("member-status", "lapse-alerts", "agent-tallies", "dead-letters")


def metrics_section(children: Sequence[Child], published: int) -> list[str]:
    lines = ["== Pipeline metrics (the workers' and the sink's /metrics) =="]
    inputs = 0.0
    sent: dict[str, float] = dict.fromkeys(TOPICS, 0.0)
    rows = flushes = errors = 0.0
    for child in children:
        if not child.metrics_port:
            continue
        try:
            samples = scrape(child.metrics_port)
        except OSError as error:
            lines.append(f"  the {child.role}'s metrics did not answer ({error})")
            continue
        inputs += sum(samples.get("jamsos_worker_inputs_total", {}).values())
        for labels, value in samples.get("jamsos_worker_emitted_total", {}).items():
            topic = dict(labels).get("topic", "")
            if topic in sent:
                sent[topic] += value
        rows += sum(samples.get("jamsos_sink_rows_total", {}).values())
        flushes += sum(samples.get("jamsos_sink_flushes_total", {}).values())
        errors += sum(samples.get("jamsos_sink_insert_errors_total", {}).values())
    lines += [
        f"  input messages the workers handled: {inputs:,.0f} (published: {published:,};"
        " one read again after a rebalance counts again)",
        "  messages the workers sent: "
        + ", ".join(f"{topic} {count:,.0f}" for topic, count in sent.items()),
        f"  rows the sink landed: {rows:,.0f} in {flushes:,.0f} flushes, "
        f"{errors:,.0f} failed insert attempts",
    ]
    return lines
