"""A small, caching client of the Confluent schema-registry REST API.

Only the calls the pipeline needs: register a schema under a subject (returns its id), fetch
a schema by id, and list/compare for `jamsos schemas check`. Both lookups are cached for the
life of the process: ids are immutable in the registry, so a hit never goes stale, and the
hot path (encoding/decoding millions of messages) never waits on HTTP after the first use.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import httpx

from jamsos.connect import registry_auth, registry_url, registry_verify
from jamsos.settings import Settings

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryError(RuntimeError):
    """The registry refused a request or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class SchemaNotFoundError(RegistryError):
    """The registry has no schema with that id (or subject)."""


class SchemaRegistry:
    """Confluent-compatible registry client with id and registration caches."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        attempts: int = 5,
        auth: tuple[str, str] | None = None,
        verify: str | bool = True,
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            timeout=timeout, headers={"Accept": CONTENT_TYPE}, auth=auth, verify=verify
        )
        self._attempts = attempts
        self._ids: dict[tuple[str, str], int] = {}
        self._schemas: dict[int, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> SchemaRegistry:
        """The registry of `settings`, with its TLS and basic auth (`jamsos.connect`)."""
        return cls(
            registry_url(settings),
            auth=registry_auth(settings),
            verify=registry_verify(settings),
            **options,
        )

    def close(self) -> None:
        self._http.close()

    def register(self, subject: str, schema: str) -> int:
        """The id of `schema` under `subject`, registering it on first use."""
        key = (subject, schema)
        cached = self._ids.get(key)
        if cached is not None:
            return cached
        with self._lock:
            if key not in self._ids:
                answer = self._request(
                    "POST",
                    f"/subjects/{subject}/versions",
                    {"schema": schema, "schemaType": "AVRO"},
                )
                self._ids[key] = int(answer["id"])
                self._schemas.setdefault(int(answer["id"]), schema)
                log.info("schema of subject %s has id %s", subject, answer["id"])
        return self._ids[key]

    def schema(self, schema_id: int) -> str:
        """The schema text with id `schema_id`; raises SchemaNotFoundError for an unknown id."""
        cached = self._schemas.get(schema_id)
        if cached is not None:
            return cached
        answer = self._request("GET", f"/schemas/ids/{schema_id}")
        text = str(answer["schema"])
        self._schemas[schema_id] = text
        return text

    def subjects(self) -> list[str]:
        return list(self._request("GET", "/subjects"))

    def latest(self, subject: str) -> dict[str, Any]:
        """`{"id", "version", "schema"}` of the subject's latest version."""
        return dict(self._request("GET", f"/subjects/{subject}/versions/latest"))

    def is_compatible(self, subject: str, schema: str) -> bool:
        """Whether `schema` may be registered under `subject` given its compatibility level."""
        answer = self._request(
            "POST",
            f"/compatibility/subjects/{subject}/versions/latest",
            {"schema": schema, "schemaType": "AVRO"},
        )
        return bool(answer.get("is_compatible"))

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One call with retries on connection failures and 5xx (the registry may restart)."""
        delay = 0.2
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._http.request(
                    method,
                    f"{self.url}{path}",
                    content=None if body is None else json.dumps(body),
                    headers={"Content-Type": CONTENT_TYPE},
                )
            except httpx.TransportError as error:
                if attempt == self._attempts:
                    raise RegistryError(
                        f"schema registry {self.url} unreachable: {error}"
                    ) from None
            else:
                if response.status_code < 500 or attempt == self._attempts:
                    return _answer(response)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
        raise AssertionError("unreachable")


def _answer(response: httpx.Response) -> Any:
    if response.status_code < 300:
        return response.json()
    try:
        detail = response.json()
    except ValueError:
        detail = {"message": response.text[:200]}
    message = f"schema registry: {response.status_code} {detail.get('message', '')}".strip()
    error_class = SchemaNotFoundError if response.status_code == 404 else RegistryError
    raise error_class(message, status=response.status_code, code=detail.get("error_code"))
