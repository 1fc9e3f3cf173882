"""The simulated stream as a JSON-form ``.jsonl`` file (events.md, "JSON form").

The file is what ``jamsos replay`` reads to compute, with the worker's own rules, the
final states the pipeline should reach. Invalid records are written as they are (replay
reports and drops them, as the worker dead-letters them); raw non-Avro messages have no
JSON form and are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TextIO

from jamsos.contracts.json_form import to_json_line
from jamsos.simulation.items import Item, RawMessage


def json_line(item: Item) -> str | None:
    """The JSON-form line of an item, or ``None`` for raw bytes."""
    if isinstance(item, RawMessage):
        return None
    return to_json_line(item.record_name, item.record)


def tee_jsonl(items: Iterable[Item], out: TextIO) -> Iterator[Item]:
    """Yield ``items`` unchanged while writing their JSON form to ``out``."""
    for item in items:
        line = json_line(item)
        if line is not None:
            out.write(line)
            out.write("\n")
        yield item


def write_jsonl(items: Iterable[Item], out: TextIO) -> int:
    """Write the JSON form of ``items`` to ``out``; returns the number of lines."""
    lines = 0
    for item in items:
        line = json_line(item)
        if line is not None:
            out.write(line)
            out.write("\n")
            lines += 1
    return lines
