"""The operations dashboard: how the pipeline itself is doing, from Prometheus.

Its panels read the worker's and sink's `/metrics` (`streams.metrics`, `consumers.metrics`)
as a Prometheus server scrapes them (`deploy/k8s/prometheus-rules.yaml` alerts on the same
series): throughput and batch time per agent, outputs and dead letters, how far the
business date trails the calendar, rows landed, the sinks' lag, errors and pauses.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.models.dashboard import Dashboard, DataSourceRef

PROMETHEUS_UID = "jamsos-prometheus"
PROMETHEUS = DataSourceRef(type_val="prometheus", uid=PROMETHEUS_UID)

PANELS: tuple[tuple[str, str, str, str], ...] = (
    # title, PromQL, unit, legend
    (
        "Messages handled per second, by agent",
        "sum by (agent) (rate(jamsos_worker_events_total[5m]))",
        "ops",
        "{{agent}}",
    ),
    (
        "Batch time, 95th percentile, by agent",
        "histogram_quantile(0.95, sum by (le, agent) "
        "(rate(jamsos_worker_batch_seconds_bucket[5m])))",
        "s",
        "{{agent}}",
    ),
    (
        "Messages sent per second, by topic",
        "sum by (topic) (rate(jamsos_worker_emitted_total[5m]))",
        "ops",
        "{{topic}}",
    ),
    (
        "Dead letters per second, by error type",
        "sum by (error_type) (rate(jamsos_worker_dead_letters_total[5m]))",
        "ops",
        "{{error_type}}",
    ),
    (
        "Business date behind the calendar (oldest partition)",
        "(time() - min(jamsos_worker_business_date_seconds)) / 86400",
        "d",
        "days",
    ),
    (
        "Rows landed per second, by table",
        "sum by (table) (rate(jamsos_sink_rows_total[5m]))",
        "ops",
        "{{table}}",
    ),
    (
        "Sink lag (messages past the committed offsets)",
        "sum(jamsos_sink_committed_lag)",
        "short",
        "lag",
    ),
    (
        "Sink insert errors and paused time per second",
        "sum(rate(jamsos_sink_insert_errors_total[5m])) "
        "or sum(rate(jamsos_sink_paused_seconds_total[5m]))",
        "short",
        "errors / paused",
    ),
)
WORKERS_UP = 'sum(up{job="jamsos-worker"})'


def operations() -> Dashboard:
    board = (
        dashboard.Dashboard("jamsos — pipeline operations")
        .uid("jamsos-operations")
        .description("Workers and sinks, from their /metrics: throughput, lag, errors.")
        .tags(["jamsos"])
        .timezone("browser")
        .time("now-6h", "now")
        .refresh("30s")
        .readonly()
        .with_panel(
            stat.Panel()
            .datasource(PROMETHEUS)
            .title("Workers up")
            .with_target(prometheus.Dataquery().expr(WORKERS_UP).instant())
            .height(4)
            .span(24)
        )
    )
    for title, expr, unit, legend in PANELS:
        board = board.with_panel(
            timeseries.Panel()
            .datasource(PROMETHEUS)
            .title(title)
            .with_target(prometheus.Dataquery().expr(expr).legend_format(legend).range())
            .unit(unit)
            .height(8)
            .span(12)
        )
    return board.build()


def expressions() -> list[str]:
    """Every PromQL expression of the dashboard."""
    return [WORKERS_UP, *(expr for _, expr, _, _ in PANELS)]
