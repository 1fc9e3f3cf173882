"""Dead letters reach ClickHouse without personal data, whatever topic or record type:
decodable values with nik, full_name and phone blanked; undecodable ones as length and hash."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from jamsos.contracts.memory_registry import MemorySchemaRegistry
from jamsos.contracts.redaction import redactor, summary_only
from jamsos.contracts.serde import AvroSerde
from jamsos.warehouse.rows import TABLE_COLUMNS, Position, rows_for
from tests.unit.contracts.samples import sample

pytestmark = pytest.mark.unit

NIK, NAME, PHONE = "3171012345678901", "Made Wirawan Canary", "+62811000111"


@pytest.fixture
def serde() -> AvroSerde:
    return AvroSerde(MemorySchemaRegistry())  # type: ignore[arg-type]


def _letter(value: bytes, topic: str) -> dict[str, object]:
    return {
        "topic": topic,
        "partition": 0,
        "offset": 7,
        "key": b"M-1",
        "value": value,
        "error_type": "UNKNOWN_SCHEMA",
        "error": "does not belong on this topic",
        "failed_at": datetime(2019, 1, 1, tzinfo=UTC),
        "dead_letter_id": None,
    }


def _stored(serde: AvroSerde, value: bytes, topic: str) -> bytes:
    ((table, row),) = rows_for(
        "DeadLetter", _letter(value, topic), Position(0, 1, 1_546_300_800_000), redactor(serde)
    )
    assert table == "dead_letters"
    return dict(zip(TABLE_COLUMNS["dead_letters"], row, strict=True))["value"]


@pytest.mark.parametrize("topic", ["p.enrolments", "p.contributions", "p.clock", "p.agents"])
def test_an_enrolment_dead_lettered_from_any_topic_lands_blanked(
    serde: AvroSerde, topic: str
) -> None:
    enrolment = sample("MemberEnrolled", nik=NIK, full_name=NAME, phone=PHONE)
    stored = _stored(serde, serde.encode("enrolments", "MemberEnrolled", enrolment), topic)
    for secret in (NIK, NAME, PHONE):
        assert secret.encode() not in stored
    landed = serde.decode(stored).record
    assert (landed["nik"], landed["full_name"], landed["phone"]) == ("", "", "")
    assert landed["member_id"] == enrolment["member_id"]  # the rest is kept for reading


def test_an_agent_registration_lands_without_the_agents_name(serde: AvroSerde) -> None:
    agent = sample("AgentRegistered", full_name=NAME)
    stored = _stored(serde, serde.encode("agents", "AgentRegistered", agent), "p.agents")
    assert NAME.encode() not in stored
    assert serde.decode(stored).record["agent_id"] == agent["agent_id"]


def test_an_absent_phone_stays_absent(serde: AvroSerde) -> None:
    enrolment = sample("MemberEnrolled", phone=None)
    stored = _stored(serde, serde.encode("enrolments", "MemberEnrolled", enrolment), "p.x")
    assert serde.decode(stored).record["phone"] is None


@pytest.mark.parametrize(
    "value",
    [
        f"not avro {NIK} {NAME}".encode(),
        b"\x00\x00\x00\x00\x63" + NIK.encode(),  # unknown schema id
        b'{"nik": "%s"}' % NIK.encode(),
    ],
)
def test_undecodable_bytes_land_as_length_and_hash_only(serde: AvroSerde, value: bytes) -> None:
    stored = _stored(serde, value, "p.enrolments")
    assert NIK.encode() not in stored
    assert stored == summary_only(value)
    assert hashlib.sha256(value).hexdigest().encode() in stored
    assert f"{len(value)} bytes".encode() in stored


def test_half_a_body_under_a_valid_schema_id_is_undecodable(serde: AvroSerde) -> None:
    whole = serde.encode("enrolments", "MemberEnrolled", sample("MemberEnrolled", nik=NIK))
    half = whole[: len(whole) // 2]
    assert _stored(serde, half, "p.enrolments") == summary_only(half)


def test_an_empty_value_lands_empty(serde: AvroSerde) -> None:
    assert _stored(serde, b"", "p.enrolments") == b""
