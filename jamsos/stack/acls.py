"""Kafka ACLs per service: each principal may touch only what its process reads and writes.

| service   | topics                                                    | groups                 |
|-----------|-----------------------------------------------------------|------------------------|
| worker    | reads the input topics; writes the output topics; all on  | its own two (app id,   |
|           | its internal topics (inboxes, changelogs, Faust's own),   | member group)          |
|           | matched by prefix                                         |                        |
| sink      | reads the topics it lands                                 | `sink_group`           |
| publisher | writes the input topics; reads dead letters (replays)     | the replay group       |
| admin     | super user (creates topics, reads lag; the operator)      | —                      |

READ and WRITE imply DESCRIBE in Kafka's authorizer, so a service sees exactly its topics.
The input and output topics are created by the admin (`jamsos stack up`, the demo, or an
operator's `KafkaTopic`s); a service creates only its own internal topics. `grant` is
idempotent: Kafka keeps one copy of an ACL however often it is created.
"""

from __future__ import annotations

import time

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    ResourcePattern,
    ResourceType,
)

from jamsos.connect import Service, kafka_options, local_principal
from jamsos.settings import Settings
from jamsos.topics import (
    APP_NAME,
    DEAD_LETTER_REPLAY_GROUP,
    INBOXES,
    INPUT_TOPICS,
    MEMBER_GROUP,
    OUTPUT_TOPICS,
    SINK_TOPICS,
)

Grant = tuple[ResourceType, str, ACLResourcePatternType, ACLOperation]
"""What one ACL allows: a resource, its name or name prefix, how the name matches, the
operation."""

LITERAL = ACLResourcePatternType.LITERAL
PREFIXED = ACLResourcePatternType.PREFIXED
TOPIC = ResourceType.TOPIC
GROUP = ResourceType.GROUP


def _internal_prefixes() -> tuple[str, ...]:
    """Name stems of the worker's own topics: Faust's (`jamsos-worker-…`) and the inboxes
    (`worker.…`)."""
    stems = {APP_NAME, *(inbox.split(".")[0] + "." for inbox in INBOXES)}
    return tuple(sorted(stems))


def service_grants(settings: Settings, service: Service) -> list[Grant]:
    """Everything `service` is allowed, for the topic prefix and groups of `settings`."""
    topic = settings.topic
    grants: list[Grant] = []
    if service == "worker":
        grants += [(TOPIC, topic(name), LITERAL, ACLOperation.READ) for name in INPUT_TOPICS]
        grants += [(TOPIC, topic(name), LITERAL, ACLOperation.WRITE) for name in OUTPUT_TOPICS]
        grants += [
            (TOPIC, topic(stem), PREFIXED, ACLOperation.ALL) for stem in _internal_prefixes()
        ]
        grants.append((GROUP, topic(APP_NAME), LITERAL, ACLOperation.ALL))
        grants.append((GROUP, topic(MEMBER_GROUP), LITERAL, ACLOperation.ALL))
    elif service == "sink":
        grants += [(TOPIC, topic(name), LITERAL, ACLOperation.READ) for name in SINK_TOPICS]
        grants.append((GROUP, settings.sink_group, LITERAL, ACLOperation.READ))
    elif service == "publisher":
        grants += [(TOPIC, topic(name), LITERAL, ACLOperation.WRITE) for name in INPUT_TOPICS]
        grants.append((TOPIC, topic("dead-letters"), LITERAL, ACLOperation.READ))
        grants.append((GROUP, DEAD_LETTER_REPLAY_GROUP, PREFIXED, ACLOperation.READ))
    return grants


def service_acls(settings: Settings, service: Service, principal: str) -> list[ACL]:
    return [
        ACL(
            principal=f"User:{principal}",
            host="*",
            operation=operation,
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(resource, name, pattern),
        )
        for resource, name, pattern, operation in service_grants(settings, service)
    ]


def grant_local_services(settings: Settings) -> int:
    """Create the ACLs of every service of the secured local stack for the topic prefix and
    groups of `settings` (a test run or demo run grants its own); returns how many."""
    acls = [
        acl
        for service in ("worker", "sink", "publisher")
        for acl in service_acls(settings, service, local_principal(service))
    ]
    admin = KafkaAdminClient(**kafka_options(settings, "admin"), client_id="jamsos-acls")
    try:
        result = admin.create_acls(acls)
    finally:
        admin.close()
    failed = result.get("failed", []) if isinstance(result, dict) else []
    if failed:
        raise RuntimeError(f"Kafka refused {len(failed)} ACLs, the first: {failed[0]}")
    for service in ("worker", "sink", "publisher"):
        _wait_until_visible(settings, service)
    return len(acls)


def _wait_until_visible(settings: Settings, service: Service, timeout: float = 30.0) -> None:
    """Wait until the broker applies the new ACLs: `service` sees every existing topic it
    was granted. The controller commits ACLs before the broker's authorizer has them, and a
    client that asks at once is refused (seen: the demo's publisher, milliseconds later)."""
    granted = {
        name
        for kind, name, pattern, _ in service_grants(settings, service)
        if kind == TOPIC and pattern == LITERAL
    }
    admin = KafkaAdminClient(**kafka_options(settings, "admin"), client_id="jamsos-acls")
    own = KafkaAdminClient(**kafka_options(settings, service), client_id="jamsos-acls-probe")
    try:
        wanted = granted & set(admin.list_topics())
        deadline = time.monotonic() + timeout
        while not wanted <= set(own.list_topics()):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Kafka did not apply the ACLs of {local_principal(service)} in {timeout:.0f}s"
                )
            time.sleep(0.2)
    finally:
        own.close()
        admin.close()
