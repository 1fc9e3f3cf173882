"""The environment runs the library versions `constraints.txt` pins.

The worker and the sink lean on library internals (guarded one by one in
`tests/unit/streams/test_faust_contract.py`); a version that drifted in unnoticed would be
tested by nothing. An environment installed without the pins fails here, by name.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

CONSTRAINTS = Path(__file__).resolve().parents[3] / "constraints.txt"


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"{line}: not an exact pin"
            found[canonicalize_name(requirement.name)] = spec.version
    return found


def test_every_pin_is_exact_and_the_core_libraries_are_pinned() -> None:
    pinned = pins()
    for core in ("faust-streaming", "kafka-python", "aiokafka", "avro", "clickhouse-driver"):
        assert core in pinned, f"{core} is not pinned in {CONSTRAINTS.name}"


def test_the_installed_versions_are_the_pinned_ones() -> None:
    drifted = {}
    for name, version in pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # a platform-specific pin not needed here
        if installed != version:
            drifted[name] = (version, installed)
    assert drifted == {}, f"installed versions differ from {CONSTRAINTS.name} (pinned, installed)"
