"""The demo's report to look at: one self-contained HTML file of charts (plotly, its
JavaScript inlined, so it opens without a network), drawn from the same queries as the
Grafana dashboards (`jamsos.dashboards.queries`, over every province and branch and all
time)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from clickhouse_driver import Client

from jamsos.dashboards import queries as q
from jamsos.dashboards.macros import expand

ALL_TIME = (datetime(1970, 1, 2), datetime(2100, 1, 1))
CHART_IDS = (
    "active-vs-target",
    "active-by-segment",
    "active-by-province",
    "daily-movements",
    "alerts-per-day",
    "agent-leaderboard",
    "payout-per-period",
    "dead-letters",
)
"""The charts, in page order (a test checks that each is drawn)."""


class _Reader:
    """Runs a dashboard query with its variables set to everything, as columns."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.variables = q.every_place(client.execute, *ALL_TIME)

    def columns(self, query: q.Query) -> dict[str, list[Any]]:
        rows = self.client.execute(expand(query.sql, *ALL_TIME, self.variables))
        return {name: [row[i] for row in rows] for i, name in enumerate(query.columns)}


def _bars(title: str, x: Sequence[Any], series: dict[str, Sequence[Any]], **layout: Any) -> Any:
    figure = go.Figure([go.Bar(name=name, x=list(x), y=list(y)) for name, y in series.items()])
    figure.update_layout(title=title, **layout)
    return figure


def _figures(reader: _Reader, scale_target: int) -> list[Any]:
    total = reader.columns(q.ACTIVE_VS_TARGET)
    active = total["active"][0] if total["active"] else 0
    gauge = go.Figure(
        go.Indicator(
            mode="gauge+number+delta",
            value=active,
            number={"valueformat": ","},
            delta={"reference": scale_target, "valueformat": ","},
            gauge={"axis": {"range": [0, max(scale_target, active) * 1.1]}},
            title={"text": f"Active members (ACTIVE + GRACE) against {scale_target:,}"},
        )
    )
    segment = reader.columns(q.ACTIVE_BY_SEGMENT)
    province = reader.columns(q.ACTIVE_BY_PROVINCE)
    daily = reader.columns(q.DAILY_MOVEMENTS)
    movements = go.Figure(
        [
            go.Scatter(x=daily["time"], y=daily[name], name=name, mode="lines")
            for name in ("new_members", "activated", "reactivated", "lapsed", "exited")
        ]
        + [go.Bar(x=daily["time"], y=daily["active_net"], name="active_net", opacity=0.4)]
    )
    movements.update_layout(title="Daily movements (per business day)")
    alerts = reader.columns(q.ALERTS_PER_DAY)
    by_type: dict[str, dict[Any, int]] = {}
    for day, kind, count in zip(
        alerts["time"], alerts["alert_type"], alerts["alerts"], strict=True
    ):
        by_type.setdefault(kind, {})[day] = count
    alert_chart = go.Figure(
        [go.Bar(name=kind, x=list(days), y=list(days.values())) for kind, days in by_type.items()]
    )
    alert_chart.update_layout(title="Lapse alerts per day by type", barmode="stack")
    board = reader.columns(q.LEADERBOARD)
    payout = reader.columns(q.PAYOUT_PER_PERIOD)
    letters = reader.columns(q.DEAD_LETTERS_BY_REASON)
    return [
        gauge,
        _bars(
            "Active and inactive members by segment",
            segment["segment"],
            {"active": segment["active"], "inactive": segment["inactive"]},
            barmode="stack",
        ),
        _bars(
            "Active members by province",
            province["region_code"],
            {"active": province["active"], "inactive": province["inactive"]},
            barmode="stack",
            xaxis={"type": "category"},  # province codes are names, not numbers
        ),
        movements,
        alert_chart,
        _bars(
            "Agent leaderboard: active recruits of the top 20",
            board["agent_id"][:20],
            {"active recruits": board["active_recruits"][:20]},
        ),
        _bars(
            "Agent payout per period",
            payout["time"],
            {"commission": payout["commission"], "bonus": payout["bonus"]},
            barmode="stack",
        ),
        _bars(
            "Dead letters by reason",
            letters["error_type"],
            {"dead letters": letters["dead_letters"]},
        ),
    ]


def write_html_report(client: Client, path: Path, *, title: str, scale_target: int) -> Path:
    """Write the charts of the database `client` reads to `path`; returns `path`."""
    figures = _figures(_Reader(client), scale_target)
    parts = []
    for index, (chart_id, figure) in enumerate(zip(CHART_IDS, figures, strict=True)):
        figure.update_layout(template="plotly_white", height=420, margin={"t": 60})
        parts.append(
            pio.to_html(
                figure,
                full_html=False,
                include_plotlyjs=index == 0,  # inlined once: opens with no network
                div_id=chart_id,
                config={"displaylogo": False},
            )
        )
    body = "\n".join(f'<section class="chart">{part}</section>' for part in parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:1200px}"
        ".chart{margin-bottom:1.5em}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n",
        encoding="utf-8",
    )
    return path
