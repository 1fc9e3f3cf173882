"""Every setting is documented: each `Settings` field appears in the README as the
`JAMSOS_*` variable that sets it (alone, or as `/ _SUFFIX` after its family's name)."""

from __future__ import annotations

import re

from jamsos.settings import PROJECT_ROOT, Settings


def _documented() -> set[str]:
    names: set[str] = set()
    for cell in re.findall(
        r"^\| `(JAMSOS_[^|]+)\|", (PROJECT_ROOT / "README.md").read_text(), re.M
    ):
        parts = [part.strip(" `") for part in cell.split("/")]
        first = parts[0]
        names.add(first)
        words = first.split("_")
        stems = ["_".join(words[:end]) for end in range(2, len(words))]
        names.update(
            f"{stem}{part}" for stem in stems for part in parts[1:] if part.startswith("_")
        )
    return names


def test_every_setting_is_in_the_readme() -> None:
    wanted = {f"JAMSOS_{name.upper()}" for name in Settings.model_fields}
    missing = sorted(wanted - _documented())
    assert not missing, f"not in the README's settings table: {missing}"
