"""The demo's proof: ClickHouse agrees with `jamsos replay` over the same events.

Members (status, paid-through month, arrears), agents' current figures and every non-zero
agent period are compared one by one; any difference is listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clickhouse_driver import Client

from jamsos.warehouse.kpi import kpi_disagreements

AGENT_FIELDS = (
    "recruits_total",
    "recruits_new",
    "recruits_active",
    "recruits_grace",
    "recruits_lapsed",
    "recruits_exited",
    "last_activity_on",
)
PERIOD_FIELDS = (
    "new_recruits",
    "contributions_amount",
    "contribution_months",
    "commission_amount",
    "bonus_amount",
    "payout_amount",
)


@dataclass(frozen=True)
class AlertComparison:
    """Alert ids raised live (`lapse_alerts`) against those `jamsos replay` raises with the
    file's lines in publish order. Judged like the final states: each member partition
    applies a tick after exactly the member events appended before it (`streams.merge`),
    and the simulator appends each tick between the events published around it, so the
    live alerts are the replay's."""

    both: int
    only_live: int
    only_replay: int

    @property
    def equal(self) -> bool:
        return self.only_live == self.only_replay == 0


@dataclass
class CrossCheck:
    members: int = 0
    agents: int = 0
    periods: int = 0
    differences: list[str] = field(default_factory=list)
    total_differences: int = 0
    alerts: AlertComparison | None = None

    @property
    def passed(self) -> bool:
        """Final states equal and, where they were compared, the alerts too."""
        return self.states_equal and (self.alerts is None or self.alerts.equal)

    @property
    def states_equal(self) -> bool:
        return self.total_differences == 0


def expected_by_kind(lines: list[dict[str, Any]]) -> dict[str, dict[Any, tuple[Any, ...]]]:
    """Replay lines as comparable tuples, by kind and key."""
    members = {
        line["member_id"]: (line["status"], line["paid_through"], line["arrears_months"])
        for line in lines
        if line["kind"] == "member"
    }
    agents = {
        line["agent_id"]: tuple(line[f] for f in AGENT_FIELDS)
        for line in lines
        if line["kind"] == "agent"
    }
    periods = {
        (line["agent_id"], line["period"]): tuple(line[f] for f in PERIOD_FIELDS)
        for line in lines
        if line["kind"] == "agent_period"
    }
    return {"member": members, "agent": agents, "agent_period": periods}


def landed_by_kind(client: Client) -> dict[str, dict[Any, tuple[Any, ...]]]:
    """The same figures as ClickHouse holds them (latest row per key)."""
    members = {
        member_id: (status, None if paid is None else paid.strftime("%Y-%m"), arrears)
        for member_id, status, paid, arrears in client.execute(
            "SELECT member_id, status, paid_through, arrears_months FROM members FINAL"
        )
    }
    agents = {
        row[0]: (*row[1:7], None if row[7] is None else row[7].isoformat())
        for row in client.execute(
            "SELECT agent_id, " + ", ".join(AGENT_FIELDS) + " FROM agents FINAL"
        )
    }
    periods = {
        (row[0], row[1].strftime("%Y-%m")): tuple(row[2:])
        for row in client.execute(
            "SELECT agent_id, period, " + ", ".join(PERIOD_FIELDS) + " FROM agent_periods FINAL"
        )
        if any(row[2:])
    }
    return {"member": members, "agent": agents, "agent_period": periods}


def cross_check(
    client: Client, replay_lines: list[dict[str, Any]], database: str, limit: int = 20
) -> CrossCheck:
    """Final states against the replay, and the KPI views (just refreshed) against the
    register they count."""
    expected = expected_by_kind(replay_lines)
    landed = landed_by_kind(client)
    result = CrossCheck(
        len(expected["member"]), len(expected["agent"]), len(expected["agent_period"])
    )
    zero_agent = (0, 0, 0, 0, 0, 0, None)
    for kind in ("member", "agent", "agent_period"):
        keys = set(expected[kind]) | set(landed[kind])
        for key in sorted(keys, key=str):
            want = expected[kind].get(key)
            got = landed[kind].get(key)
            if kind == "agent":
                want, got = want or zero_agent, got or zero_agent
            if want != got:
                result.differences.append(f"{kind} {key}: replay {want}, ClickHouse {got}")
    result.differences += [
        f"KPI view {view}: its figures differ from the register's"
        for view in kpi_disagreements(client, database)
    ]
    result.total_differences = len(result.differences)
    del result.differences[limit:]
    result.alerts = compare_alerts(client, replay_lines)
    return result


def compare_alerts(client: Client, replay_lines: list[dict[str, Any]]) -> AlertComparison:
    offline = {line["alert_id"] for line in replay_lines if line["kind"] == "alert"}
    live = {row[0] for row in client.execute("SELECT DISTINCT alert_id FROM lapse_alerts")}
    return AlertComparison(len(live & offline), len(live - offline), len(offline - live))
