"""`jamsos replay FILE.jsonl`: the output lines of spec/cli.md, invalid lines on stderr."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from jamsos.cli import cli

EVENTS = [
    {
        "type": "MemberEnrolled",
        "event_id": "e1",
        "occurred_at": "2019-01-10T08:00:00Z",
        "source": "portal",
        "member_id": "M1",
        "nik": "5171012345678901",
        "full_name": "Made",
        "segment": "BPU",
        "programmes": ["JKK", "JKM", "JHT"],
        "declared_income": 2_000_000,
        "agent_id": "AG1",
        "branch_code": "DPS01",
        "region_code": "51",
        "channel": "agent",
    },
    {
        "type": "ContributionPaid",
        "event_id": "e2",
        "occurred_at": "2019-01-12T08:00:00Z",
        "source": "bank:BNI",
        "payment_id": "P1",
        "member_id": "M1",
        "months": 1,
        "amount": 36_800,
        "channel": "agent",
        "collecting_agent_id": "AG1",
    },
    {
        "type": "ContributionPaid",
        "event_id": "e3",
        "occurred_at": "2019-01-13T08:00:00Z",
        "source": "bank:BNI",
        "payment_id": "P2",
        "member_id": "M1",
        "months": 0,
        "amount": 36_800,
        "channel": "bank",
    },
    {
        "type": "BusinessDayClosed",
        "event_id": "t1",
        "occurred_at": "2019-02-16T23:00:00Z",
        "source": "scheduler",
        "business_date": "2019-02-16",
    },
]


def test_replay_prints_members_agents_periods_and_alerts(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n")

    result = CliRunner().invoke(cli, ["replay", str(events)])

    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["kind"] for line in lines] == ["agent", "agent_period", "alert", "member"]
    alert = lines[2]
    assert (alert["alert_type"], alert["member_id"], alert["as_of"]) == (
        "ARREARS_STARTED",
        "M1",
        "2019-02-16",
    )
    assert len(alert["alert_id"]) == 32
    assert lines[3] == {
        "kind": "member",
        "member_id": "M1",
        "status": "GRACE",
        "paid_through": "2019-01",
        "arrears_months": 1,
    }
    assert lines[0]["recruits_grace"] == 1
    assert lines[1]["period"] == "2019-01"
    assert lines[1]["commission_amount"] == 36_800 * 15 // 100
    assert "line 3: VALIDATION_ERROR: months" in result.stderr


def test_replay_as_of_an_earlier_date(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n")
    result = CliRunner().invoke(cli, ["replay", str(events), "--as-of", "2019-01-31"])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert (lines[-1]["status"], lines[-1]["arrears_months"]) == ("ACTIVE", 0)
    assert "alert" not in {line["kind"] for line in lines}  # the tick is after --as-of
