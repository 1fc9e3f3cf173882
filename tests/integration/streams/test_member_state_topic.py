"""The member store against the real state topic: what a commit sends, a restore reads back.

A fresh store (a new machine, or a partition moved to another worker) restored from the
topic holds exactly the committed members, with their due-index entries; a batch cut short
by a crash (records without the clock record that closes it) is skipped, also when a
committed batch follows it.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from jamsos.connect import aiokafka_options
from jamsos.settings import Settings
from jamsos.topics import MEMBER_STATE, ensure_topics
from streams.member_state import (
    BATCH_HEADER,
    MemberStore,
    StateRecord,
    member_value,
    restore,
)
from tests.integration.streams.test_worker import own_settings

FEB_16, MAR_16 = date(2019, 2, 16), date(2019, 3, 16)


async def _write_and_restore(settings: Settings, tmp_path: Path) -> dict[str, Any]:
    topic = settings.topic(MEMBER_STATE)
    producer = AIOKafkaProducer(**aiokafka_options(settings, "worker"), acks="all")
    consumer = AIOKafkaConsumer(**aiokafka_options(settings, "worker"), group_id=None)
    await producer.start()
    await consumer.start()

    async def send(record: StateRecord) -> Any:
        return await producer.send(
            topic, record.value, key=record.key, partition=record.partition, headers=record.headers
        )

    try:
        with MemberStore(tmp_path / "writer") as writer:
            batch = writer.begin()
            for n in range(50):
                member = f"M{n}"
                batch.partition(1).put_member(member, member_value(FEB_16, member.encode()))
                batch.partition(1).due_move(member, None, FEB_16)
            batch.partition(1).put_clock(b"first")
            await writer.commit(batch, send)
            # A crash in the middle of the next batch: one member record out, no clock.
            await (
                await send(
                    StateRecord(
                        b"m:M0", member_value(None, b"lost"), 1, [(BATCH_HEADER, b"cut-short")]
                    )
                )
            )
            batch = writer.begin()
            batch.partition(1).put_member("M1", member_value(MAR_16, b"M1 later"))
            batch.partition(1).due_move("M1", FEB_16, MAR_16)
            batch.partition(1).put_clock(b"second")
            await writer.commit(batch, send)
            checkpoint = writer.checkpoint(1)

        with MemberStore(tmp_path / "fresh") as fresh:
            restored = await restore(fresh, consumer, topic, 1)
            again = await restore(fresh, consumer, topic, 1)
            view = fresh.begin().partition(1)
            return {
                "restored": restored,
                "again": again,
                "checkpoint": (fresh.checkpoint(1), checkpoint),
                "M0": view.member("M0"),
                "M1": view.member("M1"),
                "clock": view.clock(),
                "february": view.due_take(FEB_16),
                "march": view.due_take(MAR_16),
            }
    finally:
        await producer.stop()
        await consumer.stop()


def test_a_fresh_store_restores_committed_batches_from_the_state_topic(
    settings: Settings, tmp_path: Path
) -> None:
    settings = own_settings(settings)
    ensure_topics(settings, [MEMBER_STATE], partitions=2, compacted=True)

    seen = asyncio.run(_write_and_restore(settings, tmp_path))

    assert seen["restored"] == 51  # 50 members, then M1 again
    assert seen["again"] == 0  # at its checkpoint: nothing more to read
    assert seen["checkpoint"][0] == seen["checkpoint"][1]  # where the writer itself stands
    assert seen["M0"] == member_value(FEB_16, b"M0")  # not the cut-short batch's record
    assert seen["M1"] == member_value(MAR_16, b"M1 later")
    assert seen["clock"] == b"second"
    assert seen["february"] == sorted(f"M{n}" for n in range(50) if n != 1)
    assert seen["march"] == ["M1"]
