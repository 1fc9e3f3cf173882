"""Schema-evolution check: the build fails when a schema change breaks FULL compatibility.

events.md requires every change to stay backward compatible (a new reader reads data
written with the old schema: topics and stores hold old data) and forward compatible (an
old reader reads data written with the new schema: consumers are upgraded after
producers, or never). Both directions are judged by the ``avro`` package's
``ReaderWriterCompatibilityChecker``, the reference implementation of Avro's resolution
rules, so the verdict matches what a schema registry in FULL mode would say.

One rule is stricter than Avro's: an enum with a ``default`` lets the checker accept a
dropped or renamed symbol (old data then reads as the default). That is "compatible" but
silently rewrites stored data, so a dropped symbol is always reported.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import avro.errors
import avro.schema
from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityResult,
    SchemaCompatibilityType,
    SchemaIncompatibilityType,
)

from jamsos.contracts.errors import ContractError, ErrorType

__all__ = [
    "check_against_git",
    "check_compatibility",
    "load_schema_texts",
    "load_schema_texts_from_git",
]

logger = logging.getLogger(__name__)

SCHEMA_SUBDIR = "schemas"
_BACKWARD = "backward-incompatible"  # new reader cannot read old data
_FORWARD = "forward-incompatible"  # old reader cannot read new data


# ------------------------------------------------------------------ loading schema texts


def load_schema_texts(directory: Path | str) -> dict[str, str]:
    """``{record name: schema JSON text}`` for every ``*.avsc`` in ``directory``.

    The record name is the file stem, the naming rule of ``schemas/``.
    """
    root = Path(directory)
    if not root.is_dir():
        raise ContractError(ErrorType.SCHEMA_ERROR, f"{root}: not a schema directory")
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(root.glob("*.avsc"))}


def _git(repo_root: Path, *args: str) -> str:
    """Run a read-only git command and return its output; failures become SCHEMA_ERROR."""
    command = ["git", "-C", str(repo_root), *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ContractError(ErrorType.SCHEMA_ERROR, f"cannot run git: {exc}") from exc
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1:] or ["unknown error"]
        raise ContractError(ErrorType.SCHEMA_ERROR, f"git {' '.join(args[:2])} failed: {reason[0]}")
    return done.stdout


def load_schema_texts_from_git(
    ref: str, repo_root: Path | str, schema_dir: str = SCHEMA_SUBDIR
) -> dict[str, str]:
    """``{record name: schema JSON text}`` of ``schemas/*.avsc`` as committed at ``ref``.

    Reads the released schemas straight from git (``git ls-tree`` and ``git show``) so the
    check needs no checkout and leaves the work tree alone. A ref without a ``schemas/``
    directory gives ``{}``: there is nothing released to stay compatible with.
    """
    root = Path(repo_root)
    _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    listing = _git(root, "ls-tree", "--name-only", "-z", ref, "--", f"{schema_dir}/")
    texts: dict[str, str] = {}
    for path in sorted(p for p in listing.split("\0") if p.endswith(".avsc")):
        texts[Path(path).stem] = _git(root, "show", f"{ref}:{path}")
    logger.debug("read %d schemas from %s at %s", len(texts), root, ref)
    return texts


# ------------------------------------------------------------------ the check


def _parse(name: str, text: str, which: str) -> avro.schema.Schema | str:
    """The parsed schema, or a problem message when the text is not a valid Avro schema."""
    try:
        return avro.schema.parse(text)
    except (avro.errors.AvroException, ValueError, TypeError) as exc:
        return f"{name}: {which} schema does not parse: {exc}"


def _field_label(schema: avro.schema.Schema, location: str) -> str:
    """Turn a checker location such as ``/fields/3/type`` into ``field 'months'``."""
    parts = [p for p in location.split("/") if p]
    names: list[str] = []
    current: Any = schema
    while len(parts) >= 2 and parts[0] == "fields" and parts[1].isdigit():
        fields = getattr(current, "fields", None)
        index = int(parts[1])
        if fields is None or index >= len(fields):
            break
        names.append(fields[index].name)
        current = fields[index].type
        parts = parts[3:] if parts[2:3] == ["type"] else parts[2:]
    if not names:
        return "record" if location.strip("/") in ("", "name") else f"at {location}"
    return f"field '{'.'.join(names)}'"


def _describe(
    kind: SchemaIncompatibilityType, message: str, location: str, reader: avro.schema.Schema
) -> str:
    """One readable sentence for one incompatibility found by the avro checker."""
    where = _field_label(reader, location)
    if kind is SchemaIncompatibilityType.reader_field_missing_default_value:
        return f"reader field '{message}' has no default"
    if kind is SchemaIncompatibilityType.missing_enum_symbols:
        return f"{where}: reader enum lacks writer symbols {message}"
    if kind is SchemaIncompatibilityType.name_mismatch:
        return f"{where}: named type renamed ({message})"
    return f"{where}: {message}"


def _incompatibilities(
    reader: avro.schema.Schema, writer: avro.schema.Schema
) -> Iterator[SchemaCompatibilityResult]:
    """Incompatible results, one per reader field where possible.

    The checker's verdict on the whole record is authoritative. Its details, though, are
    merged into unordered sets of messages and locations, so they are recomputed field by
    field to keep each message with its field; if that finds nothing, the merged result is
    reported as is rather than lost.
    """
    overall = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    if overall.compatibility is not SchemaCompatibilityType.incompatible:
        return
    details: list[SchemaCompatibilityResult] = []
    if (
        isinstance(reader, avro.schema.RecordSchema)
        and isinstance(writer, avro.schema.RecordSchema)
        and reader.fullname == writer.fullname
    ):
        details = list(_field_incompatibilities(reader, writer))
    yield from details or [overall]


def _field_incompatibilities(
    reader: avro.schema.RecordSchema, writer: avro.schema.RecordSchema
) -> Iterator[SchemaCompatibilityResult]:
    """Per reader field: missing default, or the field's own type incompatibility."""
    for index, field in enumerate(reader.fields):
        writer_field = writer.fields_dict.get(field.name)
        if writer_field is None:
            if not field.has_default:
                yield _single(
                    SchemaIncompatibilityType.reader_field_missing_default_value,
                    field.name,
                    f"/fields/{index}",
                )
            continue
        result = _type_incompatibility(field.type, writer_field.type)
        if result is not None:
            yield _relocate(result, f"/fields/{index}/type")


def _type_incompatibility(
    reader: avro.schema.Schema, writer: avro.schema.Schema
) -> SchemaCompatibilityResult | None:
    """The incompatibility of two field types, looking inside matching union branches.

    For ``["null", Enum]`` the checker only says "reader union lacking writer type: ENUM";
    comparing the enum branches themselves says which symbols are missing.
    """
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    if result.compatibility is not SchemaCompatibilityType.incompatible:
        return None
    if isinstance(reader, avro.schema.UnionSchema) and isinstance(writer, avro.schema.UnionSchema):
        for branch in writer.schemas:
            twin = _same_branch(reader, branch)
            if twin is not None:
                inner = ReaderWriterCompatibilityChecker().get_compatibility(twin, branch)
                if inner.compatibility is SchemaCompatibilityType.incompatible:
                    return inner
    return result


def _same_branch(
    union: avro.schema.UnionSchema, branch: avro.schema.Schema
) -> avro.schema.Schema | None:
    """The branch of ``union`` that stands for ``branch`` (same type, and same name if named)."""
    for candidate in union.schemas:
        if candidate.type == branch.type and getattr(candidate, "fullname", None) == getattr(
            branch, "fullname", None
        ):
            return candidate
    return None


def _single(kind: SchemaIncompatibilityType, message: str, location: str) -> Any:
    return SchemaCompatibilityResult(
        SchemaCompatibilityType.incompatible, [kind], {message}, {location}
    )


def _relocate(result: SchemaCompatibilityResult, prefix: str) -> SchemaCompatibilityResult:
    """Re-root the locations of a field-level result under the record's field path."""
    locations = {
        prefix + "/" + loc.strip("/") if loc.strip("/") else prefix for loc in result.locations
    }
    return SchemaCompatibilityResult(
        result.compatibility, result.incompatibilities, result.messages, locations
    )


def _direction_problems(
    name: str, label: str, reader: avro.schema.Schema, writer: avro.schema.Schema
) -> list[str]:
    """Problems of one direction (reader reading writer's data), each prefixed with name."""
    problems: list[str] = []
    for result in _incompatibilities(reader, writer):
        kinds = result.incompatibilities or [SchemaIncompatibilityType.type_mismatch]
        message = "; ".join(sorted(result.messages))
        location = sorted(result.locations)[0] if result.locations else "/"
        problems.append(f"{name}: {label}: {_describe(kinds[0], message, location, reader)}")
    return problems


def _enums(schema: Any) -> Iterator[avro.schema.EnumSchema]:
    """Every enum reachable from ``schema`` (depth first, each named type visited once,
    so a recursive record cannot loop)."""
    seen: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, avro.schema.NamedSchema):
            if node.fullname in seen:
                continue
            seen.add(node.fullname)
        if isinstance(node, avro.schema.EnumSchema):
            yield node
        elif isinstance(node, avro.schema.RecordSchema):
            stack.extend(field.type for field in node.fields)
        elif isinstance(node, avro.schema.UnionSchema):
            stack.extend(node.schemas)
        elif isinstance(node, avro.schema.ArraySchema):
            stack.append(node.items)
        elif isinstance(node, avro.schema.MapSchema):
            stack.append(node.values)


def _dropped_enum_symbols(name: str, old: Any, new: Any) -> list[str]:
    """Symbols an enum lost although its default made the avro checker accept it."""
    new_enums = {enum.fullname: enum for enum in _enums(new)}
    problems = []
    for old_enum in _enums(old):
        new_enum = new_enums.get(old_enum.fullname)
        if new_enum is None or new_enum.props.get("default") is None:
            continue  # gone or default-less: the checker itself reports the break
        dropped = [s for s in old_enum.symbols if s not in new_enum.symbols]
        if dropped:
            problems.append(
                f"{name}: {_BACKWARD}: enum {old_enum.fullname} dropped symbols "
                f"{', '.join(dropped)} (stored data would silently read as "
                f"{new_enum.props['default']})"
            )
    return problems


def _record_problems(name: str, old_text: str, new_text: str) -> list[str]:
    """All FULL-compatibility problems between two versions of one record's schema."""
    old = _parse(name, old_text, "old")
    new = _parse(name, new_text, "new")
    if isinstance(old, str) or isinstance(new, str):
        return [p for p in (old, new) if isinstance(p, str)]
    return [
        *_direction_problems(name, _BACKWARD, reader=new, writer=old),
        *_direction_problems(name, _FORWARD, reader=old, writer=new),
        *_dropped_enum_symbols(name, old, new),
    ]


def check_compatibility(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """Readable problems that make ``new`` not FULL-compatible with ``old``; ``[]`` if fine.

    Both arguments map record name to schema JSON text. A record present in ``old`` but not
    in ``new`` is a problem (its producers and stored data still exist); a record only in
    ``new`` is fine, provided it parses.
    """
    problems: list[str] = []
    for name in sorted(old):
        if name not in new:
            problems.append(f"{name}: removed (old data and producers still use it)")
            continue
        problems.extend(_record_problems(name, old[name], new[name]))
    for name in sorted(set(new) - set(old)):
        parsed = _parse(name, new[name], "new")
        if isinstance(parsed, str):
            problems.append(parsed)
    return problems


def check_against_git(
    ref: str, repo_root: Path | str, directory: Path | str | None = None
) -> list[str]:
    """Compare the working schemas (``directory``, default ``<repo_root>/schemas``) with
    those committed at ``ref`` (e.g. the last release tag): the body of
    ``jamsos schemas check``."""
    root = Path(repo_root)
    current = load_schema_texts(directory if directory is not None else root / SCHEMA_SUBDIR)
    return check_compatibility(load_schema_texts_from_git(ref, root), current)
