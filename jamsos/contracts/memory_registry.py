"""An in-memory schema registry with the client's interface, for unit tests and offline tools.

Ids are handed out in registration order, one per distinct schema text (like a real
registry, the same schema under two subjects has one id). Nothing persists.
"""

from __future__ import annotations

from typing import Any

from jamsos.contracts.registry import SchemaNotFoundError


class MemorySchemaRegistry:
    """`SchemaRegistry`'s methods that the serde uses, over two dicts."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._texts: dict[int, str] = {}
        self._subjects: dict[str, list[int]] = {}

    def register(self, subject: str, schema: str) -> int:
        schema_id = self._ids.get(schema)
        if schema_id is None:
            schema_id = self._ids[schema] = len(self._ids) + 1
            self._texts[schema_id] = schema
        versions = self._subjects.setdefault(subject, [])
        if schema_id not in versions:
            versions.append(schema_id)
        return schema_id

    def schema(self, schema_id: int) -> str:
        try:
            return self._texts[schema_id]
        except KeyError:
            raise SchemaNotFoundError(f"schema id {schema_id} not found", status=404) from None

    def subjects(self) -> list[str]:
        return sorted(self._subjects)

    def latest(self, subject: str) -> dict[str, Any]:
        versions = self._subjects[subject]
        return {"id": versions[-1], "version": len(versions), "schema": self._texts[versions[-1]]}

    def close(self) -> None:
        """Nothing to release."""
