"""Batch handling in the worker: staged table writes and share updates merged per agent."""

from __future__ import annotations

import json

from streams.emission import MERGED_BYTES, Emission, merge_by_key
from streams.staging import StagedTable


def test_staged_writes_are_read_back_and_reach_the_table_only_on_flush() -> None:
    table: dict[str, bytes] = {"kept": b"1", "dropped": b"2"}
    staged = StagedTable(table)
    staged.partition = 3
    staged["new"] = b"a"
    staged["new"] = b"b"
    del staged["dropped"]

    assert staged["new"] == b"b"
    assert staged.get("dropped") is None
    assert "dropped" not in staged
    assert staged["kept"] == b"1"
    assert table == {"kept": b"1", "dropped": b"2"}

    assert staged.partitions() == {3}
    assert staged.flush(3) == 2
    assert table == {"kept": b"1", "new": b"b"}
    assert staged.partitions() == set()


def test_flush_writes_only_the_keys_staged_for_that_partition() -> None:
    table: dict[str, bytes] = {}
    staged = StagedTable(table)
    staged.partition = 0
    staged["a"] = b"0"
    staged.partition = 1
    staged["b"] = b"1"

    staged.flush(1)
    assert table == {"b": b"1"}
    assert staged["a"] == b"0"
    staged.flush(0)
    assert table == {"a": b"0", "b": b"1"}


def test_deleting_a_key_the_table_never_had_is_harmless() -> None:
    table: dict[str, bytes] = {}
    staged = StagedTable(table)
    staged["ghost"] = b"x"
    del staged["ghost"]
    staged.flush(0)
    assert table == {}


def _emission(n: int) -> Emission:
    return Emission("member-status", b"M1", bytes([n]))


def test_share_updates_for_one_agent_travel_as_one_list_in_order() -> None:
    first = Emission("agent-inbox", b"AG1", b'{"member_id":"M1","seq":1}')
    other = Emission("agent-inbox", b"AG2", b'{"member_id":"M2","seq":1}')
    second = Emission("agent-inbox", b"AG1", b'{"member_id":"M1","seq":2}')
    status = Emission("member-status", b"M1", b"\x00avro")

    merged = merge_by_key([first, status, other, second], "agent-inbox")

    assert merged[0] == status
    by_agent = {e.key: json.loads(e.value) for e in merged[1:]}
    assert by_agent == {
        b"AG1": [{"member_id": "M1", "seq": 1}, {"member_id": "M1", "seq": 2}],
        b"AG2": [{"member_id": "M2", "seq": 1}],
    }


def test_messages_to_an_explicit_partition_are_not_merged() -> None:
    tick = Emission("agent-inbox", None, b"{}", partition=1)
    assert merge_by_key([tick, tick], "agent-inbox") == [tick, tick]


def test_undo_event_drops_exactly_the_writes_of_the_failed_event() -> None:
    table: dict[str, bytes] = {"kept": b"1", "member": b"old"}
    staged = StagedTable(table)
    staged.begin_event()
    staged["member"] = b"first event"
    staged.begin_event()
    staged["member"] = b"half-applied"
    staged["bucket"] = b"x"
    del staged["kept"]
    staged.undo_event()

    assert staged["member"] == b"first event"
    assert staged.get("bucket") is None
    assert staged["kept"] == b"1"
    staged.flush(0)
    assert table == {"kept": b"1", "member": b"first event"}


def test_undo_after_a_flush_leaves_the_flushed_writes_alone() -> None:
    table: dict[str, bytes] = {}
    staged = StagedTable(table)
    staged.begin_event()
    staged["a"] = b"1"
    staged.flush(0)
    staged.undo_event()
    assert table == {"a": b"1"}
    assert staged["a"] == b"1"


def test_a_busy_agents_merged_updates_are_split_below_the_message_limit() -> None:
    """20,000 share updates for one agent in one batch (~2 MB merged) become several
    messages under the limit, holding every update once and in order."""
    updates = [
        Emission("agent-inbox", b"AG-BUSY", json.dumps({"member_id": f"M{i}", "seq": i}).encode())
        for i in range(20_000)
    ]
    merged = merge_by_key(updates, "agent-inbox")
    assert len(merged) > 1
    assert all(len(e.value) <= MERGED_BYTES for e in merged)
    assert {e.key for e in merged} == {b"AG-BUSY"}
    seqs = [update["seq"] for e in merged for update in json.loads(e.value)]
    assert seqs == list(range(20_000))
