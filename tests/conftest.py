"""Markers by folder: everything under tests/unit is `unit`, under tests/integration is
`integration`, so `pytest -m unit` runs the fast pure-logic tests alone."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.path.parts
        if "integration" in parts:
            item.add_marker(pytest.mark.integration)
        elif "unit" in parts:
            item.add_marker(pytest.mark.unit)
