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

A crash can cut a batch's table writes anywhere: the changelog then holds any prefix of
them. (The local store is written only once the changelog has acknowledged the batch,
`streams.agent_store`; a store written by an older worker may still be ahead of its
changelog.) The agent record and its
members' shares must agree in every such state. So every share a batch changes is written
to its own record *and* to the agent record's *journal*, in the same put as the totals it
changed, and agent records are flushed before share records (`is_agent_record`): a share
record newer than its agent's totals can then not exist, and the journal, where it has an
entry, is the member's share. A journal is dropped at the agent's first load in a later
batch of the same worker run (the earlier batch was acknowledged whole); a journal from
another run is kept and its shares written again, so whoever takes the messages of a
crashed batch also re-sends every share it may have left only on a dead worker's disk.
"""

from __future__ import annotations

import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from jamsos.contracts.serde import AvroSerde
from jamsos.rules.agent import AgentBook, share_from_list
from jamsos.rules.events import AgentRegistered, AgentStatusChanged, event_from_record
from jamsos.rules.member import stable_id
from jamsos.rules.periods import Month, first_day
from streams.emission import Emission


@dataclass
class StoredAgent:
    """The agent record: registration facts, running totals, tally version, and the
    journal of the shares its latest batch changed (see the module docstring).

    Members' shares are otherwise stored apart, one record per (agent, member), so an
    update reads and writes a few small records however many recruits the agent has.
    """

    book: AgentBook
    version: int = 0
    journal: dict[str, list[Any]] = field(default_factory=dict)
    """member_id -> [seq, share as a list or None], newer than the member's share record."""
    batch: str = ""
    """The batch that wrote the journal."""

    def dumps(self) -> bytes:
        raw: dict[str, Any] = {
            "b": self.book.to_dict(),
            "t": self.book.totals_to_list(),
            "v": self.version,
        }
        if self.journal:
            raw["j"] = self.journal
            raw["k"] = self.batch
        return orjson.dumps(raw, option=orjson.OPT_NON_STR_KEYS)  # the book keys periods by number

    @classmethod
    def loads(cls, data: bytes) -> StoredAgent:
        raw = orjson.loads(data)
        book = AgentBook.from_dict(raw["b"])
        book.restore_totals(raw["t"])
        return cls(book, raw["v"], raw.get("j", {}), raw.get("k", ""))


SHARE_PREFIX = "share:"


def share_key(agent_id: str, member_id: str) -> str:
    """Agent ids cannot contain ':' (`jamsos.contracts`), so no agent record has this form."""
    return f"{SHARE_PREFIX}{agent_id}:{member_id}"


def is_agent_record(key: str) -> bool:
    """Agent records are flushed before share records (see the module docstring)."""
    return not key.startswith(SHARE_PREFIX)


class AgentProcessor:
    """Applies agent-inbox messages to the agents' books and emits their tallies."""

    def __init__(self, serde: AvroSerde, agents: MutableMapping[str, bytes]) -> None:
        self.serde = serde
        self.agents = agents
        self._run = uuid.uuid4().hex[:12]
        self._batches = 0
        self.batch = f"{self._run}-0"

    def begin_batch(self) -> None:
        """Start a batch (a batch is flushed and acknowledged whole before the next one
        begins)."""
        self._batches += 1
        self.batch = f"{self._run}-{self._batches}"

    def handle(self, key: bytes, value: bytes) -> list[Emission]:
        agent_id = key.decode()
        stored = self._load(agent_id)
        if value[:1] == b"\x00":
            periods, as_of = self._agent_event(stored, value)
        else:
            updates = orjson.loads(value)
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
        entry = stored.journal.get(member_id)
        if entry is None:
            previous = self.agents.get(share_key(stored.book.agent_id, member_id))
            entry = orjson.loads(previous) if previous else [-1, None]
        old_seq, old_share = entry
        if seq <= old_seq:  # re-delivered: re-publish the current figures only
            return touched, as_of
        old = None if old_share is None else share_from_list(old_share)
        change = stored.book.replace_share(old, share)
        entry = [seq, update["share"]]
        stored.journal[member_id] = entry
        self._write_share(stored.book.agent_id, member_id, entry)
        return set(change.periods) | touched, as_of

    def _write_share(self, agent_id: str, member_id: str, entry: list[Any]) -> None:
        self.agents[share_key(agent_id, member_id)] = orjson.dumps(entry)

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
        """The agent as stored, its journal settled for this batch (module docstring)."""
        data = self.agents.get(agent_id)
        stored = StoredAgent.loads(data) if data else StoredAgent(AgentBook(agent_id))
        if stored.batch != self.batch:
            if stored.batch.startswith(f"{self._run}-"):
                stored.journal = {}
            else:
                for member_id, entry in stored.journal.items():
                    self._write_share(agent_id, member_id, entry)
            stored.batch = self.batch
        return stored
