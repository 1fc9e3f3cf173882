"""Poison messages: one event the worker cannot apply is set aside, never the whole batch.

An exception while applying one message is either *the message's fault* (a defect in a
rule, a shape nothing foresaw) or *the infrastructure's* (the registry or Kafka is away).
The first kind is quarantined: the message goes to `dead-letters` with error type
`PROCESSING_ERROR`, its staged writes are undone, and the batch goes on. The second kind
must stop the batch before anything is acknowledged, so it is re-raised; the worker then
exits and its offsets stay where they were (`streams.agents`).

The dead letter's reason names the exception type and the innermost frame, not the
exception's message: a message may quote field values (a NIK, a name), and dead-letter
reasons reach ClickHouse in clear. The full traceback goes to the worker's log.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from jamsos.contracts.dead_letters import dead_letter
from jamsos.contracts.errors import ContractError, ErrorType
from jamsos.contracts.registry import RegistryError, SchemaNotFoundError
from jamsos.contracts.serde import AvroSerde
from streams.emission import Emission

log = logging.getLogger(__name__)
_T = TypeVar("_T")


def is_infrastructure(error: BaseException) -> bool:
    """True for failures of something outside the message: retrying later may succeed."""
    if isinstance(error, SchemaNotFoundError):
        return False
    return isinstance(error, RegistryError | OSError | ConnectionError | TimeoutError) or (
        type(error).__module__.split(".")[0] in {"aiokafka", "kafka", "faust", "mode"}
    )


def is_registry_outage(error: BaseException) -> bool:
    """The registry is away (not: it does not know the schema, which is bad input)."""
    return isinstance(error, RegistryError) and not isinstance(error, SchemaNotFoundError)


def reason(error: BaseException) -> str:
    """`TypeName at file:line in function`: where it failed, without the message text."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return type(error).__name__
    last = frames[-1]
    where = "/".join(last.filename.rsplit("/", 2)[-2:])
    return f"{type(error).__name__} at {where}:{last.lineno} in {last.name}"


def quarantined(
    serde: AvroSerde,
    error: Exception,
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
) -> Emission:
    """The dead letter of a message whose processing raised `error` (not infrastructure).
    A `ContractError` (a rule only the worker can check, e.g. how far a tick may move the
    business clock) keeps its own type and message; anything else is a PROCESSING_ERROR."""
    if isinstance(error, ContractError):
        log.warning("dead letter %s:%s:%s: %s", topic, partition, offset, error)
        contract_error = error
    else:
        log.error(
            "quarantined %s:%s:%s after %s",
            topic,
            partition,
            offset,
            reason(error),
            exc_info=(type(error), error, error.__traceback__),
        )
        contract_error = ContractError(ErrorType.PROCESSING_ERROR, reason(error))
    return dead_letter_emission(
        serde,
        topic=topic,
        partition=partition,
        offset=offset,
        key=key,
        value=value,
        error=contract_error,
    )


def dead_letter_emission(
    serde: AvroSerde,
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    error: ContractError,
) -> Emission:
    """The `dead-letters` message of the input message at `topic`/`partition`/`offset`,
    keyed like it (the one place the worker builds one)."""
    record = dead_letter(
        topic=topic, partition=partition, offset=offset, key=key, value=value, error=error
    )
    return Emission("dead-letters", key, serde.encode("dead-letters", "DeadLetter", record))


REGISTRY_RETRY_SECONDS = 1.0


async def registry_pause(error: BaseException) -> None:
    log.warning(
        "schema registry unavailable (%s); retrying in %.0fs", error, REGISTRY_RETRY_SECONDS
    )
    await asyncio.sleep(REGISTRY_RETRY_SECONDS)


async def until_registry_answers(call: Callable[[], _T]) -> _T:
    """`call()`, repeated while the schema registry is away: an outage is waited out, not
    turned into dead letters or a stopped worker."""
    while True:
        try:
            return call()
        except Exception as error:
            if not is_registry_outage(error):
                raise
            await registry_pause(error)


class Undoable(Protocol):
    """Staged state whose writes since `begin_event` can be dropped."""

    def begin_event(self) -> None: ...

    def undo_event(self) -> None: ...


async def isolated(
    staged: Sequence[Undoable],
    handle: Callable[[], list[Emission]],
    poison: Callable[[Exception], list[Emission]],
) -> list[Emission]:
    """One message applied on its own: its staged writes are kept only if it succeeds.
    A registry outage is waited out; a poison message becomes `poison(error)` (its dead
    letter); any other infrastructure failure propagates and stops the worker."""
    while True:
        for table in staged:
            table.begin_event()
        try:
            return handle()
        except Exception as error:
            for table in staged:
                table.undo_event()
            if is_registry_outage(error):
                await registry_pause(error)
                continue
            if is_infrastructure(error):
                raise
            return poison(error)
