"""The demo's report, read from ClickHouse through the dashboard views."""

from __future__ import annotations

from clickhouse_driver import Client

from jamsos.demo.crosscheck import CrossCheck


def _table(headers: list[str], rows: list[tuple[object, ...]]) -> list[str]:
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells
    ]
    lines.insert(1, "  " + "  ".join("-" * w for w in widths))
    return lines


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if value < 1 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def build_report(
    client: Client,
    *,
    members: int,
    scale_target: int,
    check: CrossCheck,
    dead_letters_expected: int,
) -> list[str]:
    """The report lines: KPI against the (scaled) target, movements, agents, alerts."""
    out: list[str] = []
    active, registered, exited = client.execute(
        "SELECT active, registered, exited FROM kpi_active_total"
    )[0]
    out += ["", "== Active members (ACTIVE + GRACE) against the target =="]
    out += [
        f"  active {active:,} of {registered:,} registered ({exited:,} exited); "
        f"target scaled to this run: {scale_target:,} -> "
        f"{active / scale_target:.1%} of target"
    ]
    out += ["", "== By segment =="]
    out += _table(
        ["segment", "active", "inactive", "exited"],
        client.execute(
            "SELECT segment, sum(active), sum(inactive), sum(exited) FROM kpi_active_members "
            "GROUP BY segment ORDER BY segment"
        ),
    )
    out += ["", "== By province (top 8 by active members) =="]
    out += _table(
        ["province", "active", "inactive", "active share"],
        client.execute(
            "SELECT region_code, sum(active) AS a, sum(inactive) AS i, "
            "round(a / (a + i), 4) FROM kpi_active_members GROUP BY region_code "
            "ORDER BY a DESC LIMIT 8"
        ),
    )
    out += ["", "== Last month's movements (kpi_status_daily) =="]
    out += _table(
        ["month", "new", "activated", "reactivated", "lapsed", "exited", "active net"],
        client.execute(
            "SELECT toStartOfMonth(as_of) AS month, sum(new_members), sum(activated), "
            "sum(reactivated), sum(lapsed), sum(exited), sum(active_net) FROM kpi_status_daily "
            "GROUP BY month ORDER BY month DESC LIMIT 2"
        ),
    )
    out += ["", "== Top agents by active recruits =="]
    out += _table(
        ["rank", "agent", "province", "active", "recruits", "retention", "payout Rp"],
        client.execute(
            "SELECT rank, agent_id, region_code, active_recruits, recruits_total, retention, "
            "payout_total FROM agent_leaderboard ORDER BY rank LIMIT 5"
        ),
    )
    out += ["", "== Top agents by payout (commission + bonus) =="]
    out += _table(
        ["agent", "payout Rp", "commission Rp", "bonus Rp"],
        client.execute(
            "SELECT agent_id, payout_total, commission_total, bonus_total FROM agent_leaderboard "
            "ORDER BY payout_total DESC LIMIT 5"
        ),
    )
    alerts = client.execute(
        "SELECT alert_type, count() FROM lapse_alerts FINAL GROUP BY alert_type ORDER BY 1"
    )
    grace = client.execute("SELECT count() FROM lapsing_members")[0][0]
    out += ["", "== Lapse alerts =="]
    out += _table(["alert type", "count"], alerts)
    out += [f"  members in GRACE to follow up now (lapsing_members): {grace:,}"]
    letters = client.execute(
        "SELECT error_type, count() FROM dead_letters FINAL GROUP BY error_type ORDER BY 1"
    )
    out += ["", "== Dead letters by reason =="]
    out += _table(["error type", "count"], letters)
    landed = sum(count for _, count in letters)
    out += [f"  {landed} landed; the simulator sent {dead_letters_expected} bad messages"]
    out += ["", "== Cross-check: ClickHouse against `jamsos replay` of the same events =="]
    out += [
        f"  {check.members:,} members, {check.agents:,} agents, {check.periods:,} agent "
        f"periods compared: "
        + ("all equal" if check.states_equal else f"{check.total_differences} differ")
    ]
    out += [f"  {line}" for line in check.differences]
    if check.alerts is not None:
        alerts = check.alerts
        out += [
            f"  lapse alerts: {alerts.both:,} raised live and by the replay in publish order, "
            f"{alerts.only_live:,} only live, {alerts.only_replay:,} only by the replay"
            + ("" if alerts.equal else " (they must be equal)")
        ]
    return out
