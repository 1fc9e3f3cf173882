"""The topic contract as data: topics, keys, subjects and schema loading."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from jamsos.contracts import catalog
from jamsos.contracts.catalog import (
    SCHEMA_DIR,
    TOPICS,
    input_topics,
    key_bytes_for,
    key_for,
    load_catalog,
    output_topics,
    record_names,
    record_type,
    subject_for,
    topic_for,
)
from jamsos.contracts.errors import ContractError
from tests.unit.contracts.samples import sample

pytestmark = pytest.mark.unit


def test_topics_match_events_md() -> None:
    table = {name: (spec.record_names, spec.key_field) for name, spec in TOPICS.items()}
    assert table == {
        "enrolments": (("MemberEnrolled", "MembershipTerminated"), "member_id"),
        "contributions": (("ContributionPaid", "ContributionReversed"), "member_id"),
        "agents": (("AgentRegistered", "AgentStatusChanged"), "agent_id"),
        "clock": (("BusinessDayClosed",), None),
        "member-status": (("MemberStatusChanged",), "member_id"),
        "lapse-alerts": (("LapseAlert",), "member_id"),
        "agent-tallies": (("AgentTally",), "agent_id"),
        "dead-letters": (("DeadLetter",), "key"),
    }
    assert input_topics() == ("enrolments", "contributions", "agents", "clock")
    assert output_topics() == ("member-status", "lapse-alerts", "agent-tallies", "dead-letters")


def test_topics_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        TOPICS["extra"] = TOPICS["clock"]  # type: ignore[index]


def test_record_type_exposes_names_schema_and_registrable_text() -> None:
    rtype = record_type("ContributionPaid")
    assert rtype.name == "ContributionPaid"
    assert rtype.full_name == "jamsos.v1.ContributionPaid"
    assert rtype.topic == "contributions"
    assert rtype.schema["name"] == "jamsos.v1.ContributionPaid"
    assert json.loads(rtype.schema_str) == json.loads(
        (SCHEMA_DIR / "ContributionPaid.avsc").read_text(encoding="utf-8")
    )
    assert "\n" not in rtype.schema_str


def test_record_type_accepts_full_name() -> None:
    assert record_type("jamsos.v1.LapseAlert") is record_type("LapseAlert")


def test_unknown_record_type_is_unknown_schema() -> None:
    with pytest.raises(ContractError) as err:
        record_type("MemberDeleted")
    assert err.value.error_type == "UNKNOWN_SCHEMA"
    assert "MemberDeleted" in str(err.value)


def test_schemas_are_parsed_once_per_directory() -> None:
    assert load_catalog() is load_catalog(SCHEMA_DIR)
    assert load_catalog().get("AgentTally") is load_catalog(str(SCHEMA_DIR)).get("AgentTally")


def test_schema_directory_can_be_overridden(tmp_path: Path) -> None:
    for path in SCHEMA_DIR.glob("*.avsc"):
        shutil.copy(path, tmp_path)
    other = load_catalog(tmp_path)
    assert other.directory == tmp_path.resolve()
    assert other is not load_catalog()
    assert other.get("DeadLetter").schema_str == record_type("DeadLetter").schema_str


def test_missing_schema_file_is_a_schema_error(tmp_path: Path) -> None:
    shutil.copy(SCHEMA_DIR / "LapseAlert.avsc", tmp_path)
    with pytest.raises(ContractError) as err:
        load_catalog(tmp_path)
    assert err.value.error_type == "SCHEMA_ERROR"
    assert "missing" in str(err.value)


def test_schema_file_declaring_another_record_is_refused(tmp_path: Path) -> None:
    for path in SCHEMA_DIR.glob("*.avsc"):
        shutil.copy(path, tmp_path)
    raw = json.loads((tmp_path / "LapseAlert.avsc").read_text())
    raw["name"] = "LapseWarning"
    (tmp_path / "LapseAlert.avsc").write_text(json.dumps(raw))
    with pytest.raises(ContractError, match=r"expected jamsos\.v1\.LapseAlert"):
        catalog.load_catalog(tmp_path)


@pytest.mark.parametrize(
    ("record_name", "topic"),
    [
        ("MemberEnrolled", "enrolments"),
        ("MembershipTerminated", "enrolments"),
        ("ContributionPaid", "contributions"),
        ("ContributionReversed", "contributions"),
        ("AgentRegistered", "agents"),
        ("AgentStatusChanged", "agents"),
        ("BusinessDayClosed", "clock"),
        ("MemberStatusChanged", "member-status"),
        ("LapseAlert", "lapse-alerts"),
        ("AgentTally", "agent-tallies"),
        ("DeadLetter", "dead-letters"),
    ],
)
def test_topic_for(record_name: str, topic: str) -> None:
    assert topic_for(record_name) == topic
    assert topic_for(f"jamsos.v1.{record_name}") == topic


def test_every_record_has_exactly_one_topic() -> None:
    listed = [name for spec in TOPICS.values() for name in spec.record_names]
    assert sorted(listed) == sorted(set(listed)) == sorted(record_names())


def test_topic_for_unknown_record() -> None:
    with pytest.raises(ContractError, match="unknown record type"):
        topic_for("Nope")


def test_subject_uses_topic_record_name_strategy() -> None:
    assert subject_for("contributions", "ContributionReversed") == (
        "contributions-jamsos.v1.ContributionReversed"
    )
    assert subject_for("clock", "jamsos.v1.BusinessDayClosed") == (
        "clock-jamsos.v1.BusinessDayClosed"
    )


def test_subject_refuses_record_on_the_wrong_topic() -> None:
    with pytest.raises(ContractError, match="does not belong on topic 'enrolments'"):
        subject_for("enrolments", "ContributionPaid")


def test_subject_refuses_unknown_topic() -> None:
    with pytest.raises(ContractError, match="unknown topic"):
        subject_for("payments", "ContributionPaid")


@pytest.mark.parametrize(
    ("record_name", "key"),
    [
        ("MemberEnrolled", "M-0001"),
        ("MembershipTerminated", "M-0001"),
        ("ContributionPaid", "M-0001"),
        ("ContributionReversed", "M-0001"),
        ("AgentRegistered", "AG-01"),
        ("AgentStatusChanged", "AG-01"),
        ("BusinessDayClosed", None),
        ("MemberStatusChanged", "M-0001"),
        ("LapseAlert", "M-0001"),
        ("AgentTally", "AG-01"),
        ("DeadLetter", "M-0001"),
    ],
)
def test_key_for(record_name: str, key: str | None) -> None:
    assert key_for(record_name, sample(record_name)) == key
    expected_bytes = key.encode() if key is not None else None
    assert key_bytes_for(record_name, sample(record_name)) == expected_bytes


def test_paid_by_agent_is_still_keyed_by_member() -> None:
    """The collecting agent never decides the partition: a member's events stay in order."""
    assert key_for("ContributionPaid", sample("ContributionPaid")) == "M-0001"


def test_dead_letter_without_original_key() -> None:
    assert key_for("DeadLetter", sample("DeadLetter", key=None)) is None
    assert key_bytes_for("DeadLetter", sample("DeadLetter", key=None)) is None


def test_dead_letter_with_non_utf8_key_keeps_its_bytes() -> None:
    record = sample("DeadLetter", key=b"\xff\xfe")
    assert key_bytes_for("DeadLetter", record) == b"\xff\xfe"
    with pytest.raises(ContractError, match="not UTF-8"):
        key_for("DeadLetter", record)


def test_key_for_record_without_its_key_field() -> None:
    record = sample("ContributionPaid")
    del record["member_id"]
    with pytest.raises(ContractError) as err:
        key_for("ContributionPaid", record)
    assert err.value.field == "member_id"
