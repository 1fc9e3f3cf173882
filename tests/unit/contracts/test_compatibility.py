"""The schema-evolution check: FULL compatibility between released and current schemas."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jamsos.contracts.catalog import SCHEMA_DIR, record_names
from jamsos.contracts.compatibility import (
    check_against_git,
    check_compatibility,
    load_schema_texts,
    load_schema_texts_from_git,
)
from jamsos.contracts.errors import ContractError

pytestmark = pytest.mark.unit

Change = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def released() -> dict[str, str]:
    return load_schema_texts(SCHEMA_DIR)


def _evolve(released: dict[str, str], name: str, change: Change) -> list[str]:
    raw = json.loads(released[name])
    change(raw)
    return check_compatibility(released, {**released, name: json.dumps(raw)})


def _field(raw: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in raw["fields"] if f["name"] == name)


def test_load_schema_texts_reads_every_record(released: dict[str, str]) -> None:
    assert set(released) == set(record_names())
    assert json.loads(released["AgentTally"])["name"] == "AgentTally"


def test_load_schema_texts_of_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ContractError) as err:
        load_schema_texts(tmp_path / "nope")
    assert err.value.error_type == "SCHEMA_ERROR"


def test_unchanged_schemas_are_compatible(released: dict[str, str]) -> None:
    assert check_compatibility(released, dict(released)) == []


def test_adding_optional_field_with_default_passes(released: dict[str, str]) -> None:
    new_field = {"name": "receipt_no", "type": ["null", "string"], "default": None, "doc": "d"}
    assert _evolve(released, "ContributionPaid", lambda r: r["fields"].append(new_field)) == []


def test_docs_may_change(released: dict[str, str]) -> None:
    assert _evolve(released, "LapseAlert", lambda r: r.update(doc="Reworded.")) == []


def test_adding_required_field_without_default_fails(released: dict[str, str]) -> None:
    new_field = {"name": "receipt_no", "type": "string", "doc": "d"}
    problems = _evolve(released, "ContributionPaid", lambda r: r["fields"].append(new_field))
    assert problems == [
        "ContributionPaid: backward-incompatible: reader field 'receipt_no' has no default"
    ]


def test_removing_field_without_default_fails(released: dict[str, str]) -> None:
    def drop_channel(raw: dict[str, Any]) -> None:
        raw["fields"].remove(_field(raw, "channel"))

    problems = _evolve(released, "ContributionPaid", drop_channel)
    assert problems == [
        "ContributionPaid: forward-incompatible: reader field 'channel' has no default"
    ]


def test_removing_optional_field_passes(released: dict[str, str]) -> None:
    def drop_phone(raw: dict[str, Any]) -> None:
        raw["fields"].remove(_field(raw, "phone"))

    assert _evolve(released, "MemberEnrolled", drop_phone) == []


def test_changing_a_type_fails(released: dict[str, str]) -> None:
    problems = _evolve(
        released, "ContributionPaid", lambda r: _field(r, "months").update(type="string")
    )
    assert problems == [
        "ContributionPaid: backward-incompatible: field 'months': reader type: string not "
        "compatible with writer type: int",
        "ContributionPaid: forward-incompatible: field 'months': reader type: int not "
        "compatible with writer type: string",
    ]


def test_widening_int_to_long_is_only_backward_compatible(released: dict[str, str]) -> None:
    problems = _evolve(
        released, "ContributionPaid", lambda r: _field(r, "months").update(type="long")
    )
    assert problems == [
        "ContributionPaid: forward-incompatible: field 'months': reader type: int not "
        "compatible with writer type: long"
    ]


def test_renaming_an_enum_symbol_fails(released: dict[str, str]) -> None:
    def rename(raw: dict[str, Any]) -> None:
        _field(raw, "channel")["type"]["symbols"][0] = "BANK"

    problems = _evolve(released, "ContributionPaid", rename)
    assert len(problems) == 2
    assert problems[0].startswith("ContributionPaid: backward-incompatible: field 'channel'")
    assert "{'bank'}" in problems[0]
    assert problems[1].startswith("ContributionPaid: forward-incompatible: field 'channel'")


def test_renaming_a_symbol_of_an_enum_with_default_still_fails(released: dict[str, str]) -> None:
    """Avro would read old FISHER data as OTHER: compatible on paper, wrong in meaning."""

    def rename(raw: dict[str, Any]) -> None:
        _field(raw, "community")["type"]["symbols"][2] = "FISHERMAN"

    assert _evolve(released, "AgentRegistered", rename) == [
        "AgentRegistered: backward-incompatible: enum jamsos.v1.Community dropped symbols "
        "FISHER (stored data would silently read as OTHER)"
    ]


def test_adding_symbol_to_enum_with_default_passes(released: dict[str, str]) -> None:
    def add(raw: dict[str, Any]) -> None:
        _field(raw, "community")["type"]["symbols"].insert(4, "ARTISAN")

    assert _evolve(released, "AgentRegistered", add) == []


def test_adding_symbol_to_enum_without_default_fails_forward(released: dict[str, str]) -> None:
    """Old readers could not read the new status: FULL compatibility forbids it."""

    def add(raw: dict[str, Any]) -> None:
        _field(raw, "from_status")["type"][1]["symbols"].append("SUSPENDED")

    assert _evolve(released, "MemberStatusChanged", add) == [
        "MemberStatusChanged: forward-incompatible: field 'from_status': reader enum lacks "
        "writer symbols {'SUSPENDED'}",
        "MemberStatusChanged: forward-incompatible: field 'to_status': reader enum lacks "
        "writer symbols {'SUSPENDED'}",
    ]


def test_renaming_the_record_fails(released: dict[str, str]) -> None:
    problems = _evolve(released, "LapseAlert", lambda r: r.update(name="LapseWarning"))
    assert problems == [
        "LapseAlert: backward-incompatible: record: named type renamed "
        "(expected: jamsos.v1.LapseAlert)",
        "LapseAlert: forward-incompatible: record: named type renamed "
        "(expected: jamsos.v1.LapseWarning)",
    ]


def test_removed_record_fails(released: dict[str, str]) -> None:
    current = dict(released)
    del current["ContributionReversed"]
    assert check_compatibility(released, current) == [
        "ContributionReversed: removed (old data and producers still use it)"
    ]


def test_new_record_passes(released: dict[str, str]) -> None:
    extra = {
        "type": "record",
        "name": "EmployerRegistered",
        "namespace": "jamsos.v1",
        "fields": [{"name": "employer_id", "type": "string"}],
    }
    assert (
        check_compatibility(released, {**released, "EmployerRegistered": json.dumps(extra)}) == []
    )


def test_new_record_must_parse(released: dict[str, str]) -> None:
    problems = check_compatibility(released, {**released, "Broken": '{"type": "record"}'})
    assert len(problems) == 1
    assert problems[0].startswith("Broken: new schema does not parse")


def test_unparseable_change_is_reported(released: dict[str, str]) -> None:
    problems = check_compatibility(released, {**released, "LapseAlert": "{"})
    assert len(problems) == 1
    assert problems[0].startswith("LapseAlert: new schema does not parse")


# ---------------------------------------------------------------- reading a released version


def _git(repo: Path, *args: str) -> str:
    command = [
        "git",
        "-C",
        str(repo),
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.org",
        "-c",
        "commit.gpgsign=false",
        *args,
    ]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A scratch repository whose tag v1 holds today's schemas."""
    _git(tmp_path, "init", "-q")
    shutil.copytree(SCHEMA_DIR, tmp_path / "schemas")
    (tmp_path / "README").write_text("x\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "release")
    _git(tmp_path, "tag", "v1")
    return tmp_path


def test_load_schema_texts_from_git(repo: Path, released: dict[str, str]) -> None:
    (repo / "schemas" / "LapseAlert.avsc").write_text("changed, not committed")
    assert load_schema_texts_from_git("v1", repo) == released


def test_load_from_git_ref_without_schemas(repo: Path) -> None:
    _git(repo, "checkout", "-q", "--orphan", "empty")
    _git(repo, "rm", "-rq", "--cached", ".")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "nothing")
    assert load_schema_texts_from_git("empty", repo) == {}


def test_load_from_unknown_git_ref(repo: Path) -> None:
    with pytest.raises(ContractError) as err:
        load_schema_texts_from_git("v9", repo)
    assert err.value.error_type == "SCHEMA_ERROR"


def test_check_against_git(repo: Path) -> None:
    assert check_against_git("v1", repo) == []
    raw = json.loads((repo / "schemas" / "LapseAlert.avsc").read_text())
    raw["fields"].append({"name": "channel", "type": "string", "doc": "d"})
    (repo / "schemas" / "LapseAlert.avsc").write_text(json.dumps(raw))
    assert check_against_git("v1", repo) == [
        "LapseAlert: backward-incompatible: reader field 'channel' has no default"
    ]


def test_recursive_record_is_checked_without_looping() -> None:
    node = {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
            {"name": "next", "type": ["null", "Node"], "default": None},
        ],
    }
    assert check_compatibility({"Node": json.dumps(node)}, {"Node": json.dumps(node)}) == []
