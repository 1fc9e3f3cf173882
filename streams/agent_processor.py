"""Per-agent tallies from the agent inbox, without Faust.

The agent inbox carries two kinds of message, both keyed by `agent_id`: the agent's own
events (`AgentRegistered`, `AgentStatusChanged`, Avro as published upstream) and *share
updates* from the member side (JSON: one member's whole contribution to this agent, with
the member's sequence number; a list of them when a batch of member events changed
several of the agent's members, so the agent's figures are published once per batch).
Shares are absolute, not deltas, and older sequence numbers are ignored, so re-delivery
and replays can never double-count.

Every message re-publishes the agent's figures (current, and the periods it touched) as
`AgentTally` records with an increasing `version`; a re-delivered message therefore also
repairs a tally lost in a crash.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from jamsos.contracts.serde import AvroSerde
from jamsos.rules.agent import AgentBook, share_from_list
from jamsos.rules.events import AgentRegistered, AgentStatusChanged, event_from_record
from jamsos.rules.member import stable_id
from jamsos.rules.periods import Month, first_day
from streams.emission import Emission


@dataclass
class StoredAgent:
    """The agent record: registration facts, running totals, tally version.

    Members' shares are stored apart, one record per (agent, member), so an update reads
    and writes two small records however many recruits the agent has.
    """

    book: AgentBook
    version: int = 0

    def dumps(self) -> bytes:
        return json.dumps(
            {"b": self.book.to_dict(), "t": self.book.totals_to_list(), "v": self.version},
            separators=(",", ":"),
        ).encode()

    @classmethod
    def loads(cls, data: bytes) -> StoredAgent:
        raw = json.loads(data)
        book = AgentBook.from_dict(raw["b"])
        book.restore_totals(raw["t"])
        return cls(book, raw["v"])


def share_key(agent_id: str, member_id: str) -> str:
    return f"share:{agent_id}:{member_id}"


class AgentProcessor:
    """Applies agent-inbox messages to the agents' books and emits their tallies."""

    def __init__(self, serde: AvroSerde, agents: MutableMapping[str, bytes]) -> None:
        self.serde = serde
        self.agents = agents

    def handle(self, key: bytes, value: bytes) -> list[Emission]:
        agent_id = key.decode()
        stored = self._load(agent_id)
        if value[:1] == b"\x00":
            periods, as_of = self._agent_event(stored, value)
        else:
            updates = json.loads(value)
            periods, as_of = set(), date.min
            for update in updates if isinstance(updates, list) else [updates]:
                touched, on = self._share_update(stored, update)
                periods |= touched
                as_of = max(as_of, on)
        emissions = self._tallies(stored, sorted(periods), as_of)
        self.agents[agent_id] = stored.dumps()
        return emissions

    def _agent_event(self, stored: StoredAgent, value: bytes) -> tuple[set[Month], date]:
        decoded = self.serde.decode(value, "agents")
        event = event_from_record(decoded.record_name, decoded.record)
        assert isinstance(event, AgentRegistered | AgentStatusChanged)
        stored.book.apply_event(event)
        return set(), event.occurred_on

    def _share_update(self, stored: StoredAgent, update: dict[str, Any]) -> tuple[set[Month], date]:
        member_id, seq = update["member_id"], int(update["seq"])
        as_of = date.fromisoformat(update["as_of"])
        share = None if update["share"] is None else share_from_list(update["share"])
        touched = {period for period, _ in share.periods} if share is not None else set()
        key = share_key(stored.book.agent_id, member_id)
        previous = self.agents.get(key)
        old_seq, old_share = json.loads(previous) if previous else (-1, None)
        if seq <= old_seq:
            # Re-delivered: re-publish the current figures only, and write the share again
            # for a changelog that may have missed it (a kill -9 before its delivery).
            if previous is not None:
                self.agents[key] = previous
            return touched, as_of
        old = None if old_share is None else share_from_list(old_share)
        change = stored.book.replace_share(old, share)
        self.agents[key] = json.dumps([seq, update["share"]], separators=(",", ":")).encode()
        return set(change.periods) | touched, as_of

    def _tallies(self, stored: StoredAgent, periods: list[Month], as_of: date) -> list[Emission]:
        book = stored.book
        current = book.current_figures()
        emissions = []
        targets: list[Month | None] = [*periods] or [None]
        for period in targets:
            stored.version += 1
            figures = None if period is None else book.period_figures(period)
            record = {
                "agent_id": book.agent_id,
                "branch_code": book.branch_code,
                "region_code": book.region_code,
                "agent_status": book.status,
                "recruits_total": current.recruits_total,
                "recruits_new": current.recruits_new,
                "recruits_active": current.recruits_active,
                "recruits_grace": current.recruits_grace,
                "recruits_lapsed": current.recruits_lapsed,
                "recruits_exited": current.recruits_exited,
                "last_activity_on": current.last_activity_on,
                "period": None if figures is None else first_day(figures.period),
                "new_recruits": 0 if figures is None else figures.new_recruits,
                "contributions_amount": 0 if figures is None else figures.contributions_amount,
                "contribution_months": 0 if figures is None else figures.contribution_months,
                "commission_amount": 0 if figures is None else figures.commission_amount,
                "bonus_amount": 0 if figures is None else figures.bonus_amount,
                "payout_amount": 0 if figures is None else figures.payout_amount,
                "as_of": as_of,
                "version": stored.version,
                "tally_id": stable_id("tally", book.agent_id, stored.version),
            }
            emissions.append(
                Emission(
                    "agent-tallies",
                    book.agent_id.encode(),
                    self.serde.encode("agent-tallies", "AgentTally", record),
                )
            )
        return emissions

    def _load(self, agent_id: str) -> StoredAgent:
        data = self.agents.get(agent_id)
        return StoredAgent.loads(data) if data else StoredAgent(AgentBook(agent_id))
