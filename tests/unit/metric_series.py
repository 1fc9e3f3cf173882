"""The `jamsos_*` series the worker and the sink export, read from their metrics modules
(for the tests of what dashboards and alert rules may read)."""

from __future__ import annotations

import re

from jamsos.settings import PROJECT_ROOT

METRICS_MODULES = ("streams/metrics.py", "consumers/metrics.py")


def exported_series() -> set[str]:
    """Names as declared (`"jamsos_…"`), and the sink's `("name", "help", …)` counters."""
    code = "".join((PROJECT_ROOT / name).read_text() for name in METRICS_MODULES)
    declared = set(re.findall(r'"(jamsos_[a-z_]+)"', code))
    sink_counters = {f"jamsos_sink_{name}" for name in re.findall(r'\("([a-z_]+)", "', code)}
    return declared | sink_counters
