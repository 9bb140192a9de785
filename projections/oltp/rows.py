"""What the operational projections answer and what the writer needs to know of a table.

A projection is pure: an envelope in, row changes out. Two kinds of change exist:

- ``Patch``: absolute values for one row of an aggregate's table (``contacts``, ``deals``…),
  with the aggregate version it brings the row to. The writer applies it only to a row
  whose version is lower, so an event applied twice changes nothing.
- ``Row``: a row inserted once and never changed (a timeline entry, a campaign send); a
  second copy is ignored by its primary key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from streams.envelope import Envelope, format_time, parse_time

#: Column kinds every database spells the same way; the others come from ``OltpDatabase.types``.
_PLAIN_TYPES = {"text": "TEXT", "int": "INTEGER", "bigint": "BIGINT", "bool": "BOOLEAN"}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text int bigint bool real decimal date ts json uuid
    required: bool = False

    def definition(self, types: Mapping[str, str]) -> str:
        """As in ``CREATE TABLE`` or ``ADD COLUMN``, given the database's column types."""
        return f"{self.name} {_PLAIN_TYPES.get(self.kind) or types[self.kind]}{' NOT NULL' if self.required else ''}"


@dataclass(frozen=True)
class Table:
    """One table of the operational model, under its base name. Its physical name is the
    base name plus the writer's suffix (a rebuild writes beside the live tables)."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ("id",)
    #: Secondary indexes, each a tuple of columns; named ``<physical table>_<columns>``.
    indexes: tuple[tuple[str, ...], ...] = ()
    #: True for aggregate tables patched forward by version; False for insert-once rows.
    versioned: bool = True

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def kind(self, column: str) -> str:
        return self._kinds[column]

    @cached_property
    def _kinds(self) -> dict[str, str]:
        return {c.name: c.kind for c in self.columns}

    def ddl(self, types: Mapping[str, str], physical: str) -> list[str]:
        columns = ",\n    ".join(c.definition(types) for c in self.columns)
        key = ", ".join(self.key)
        statements = [f"CREATE TABLE IF NOT EXISTS {physical} (\n    {columns},\n    PRIMARY KEY ({key})\n)"]
        for index in self.indexes:
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {physical}_{'_'.join(index)} ON {physical} ({', '.join(index)})"
            )
        return statements

    def encode(self, column: str, value: Any) -> Any:
        """A value as the writer hands it to either driver."""
        if value is None:
            return None
        kind = self._kinds[column]
        if kind == "json":
            return json.dumps(value)
        if kind == "ts":
            return canonical_time(value)
        if kind == "decimal":
            return str(value)
        return value

    def decode(self, column: str, value: Any) -> Any:
        """A value as read from either driver, as the same Python object."""
        if value is None:
            return None
        kind = self._kinds.get(column)
        if kind == "json" and isinstance(value, str):
            return json.loads(value)
        if kind == "ts" and isinstance(value, str):
            return datetime.fromisoformat(value)
        if kind == "date" and isinstance(value, str):
            return date.fromisoformat(value)
        if kind == "bool":
            return bool(value)
        if kind == "uuid":
            return str(value)
        if kind == "decimal":
            return Decimal(str(value))
        if kind == "real":
            return float(value)
        return value

    def record(self, names: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
        return {name: self.decode(name, value) for name, value in zip(names, row, strict=True)}


def column(name: str, kind: str = "text", required: bool = False) -> Column:
    return Column(name, kind, required)


@dataclass
class Patch:
    table: str
    id: str
    version: int
    position: int
    creates: bool
    values: dict[str, Any] = field(default_factory=dict)

    def then(self, later: Patch) -> Patch:
        """This patch followed by a later one of the same row."""
        return Patch(
            self.table,
            self.id,
            max(self.version, later.version),
            max(self.position, later.position),
            self.creates or later.creates,
            {**self.values, **later.values},
        )


@dataclass(frozen=True)
class Row:
    """Inserted once; a copy with the same primary key is ignored."""

    table: str
    values: dict[str, Any]


Change = Patch | Row


def merge(patches: Iterable[Patch]) -> list[Patch]:
    """One patch per row, in the order the rows first appeared. A patch no newer than the
    row's patches before it in the batch (an event delivered again after later ones) is
    left out, as the row-by-row statements' version guard would leave it out: folded in,
    its older values would overwrite newer ones under the newer version."""
    merged: dict[tuple[str, str], Patch] = {}
    for patch in patches:
        key = (patch.table, patch.id)
        earlier = merged.get(key)
        if earlier is None:
            merged[key] = patch
        elif patch.version > earlier.version:
            merged[key] = earlier.then(patch)
    return list(merged.values())


def canonical_time(value: str | datetime) -> str:
    """Fixed-width RFC 3339 in UTC (microseconds always), so that times stored as text in
    SQLite sort as times; PostgreSQL parses the same text into ``TIMESTAMPTZ``."""
    moment = parse_time(value) if isinstance(value, str) else value.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def own_row(table: Table, envelope: Envelope, created_by: str, values: dict[str, Any]) -> Patch:
    """The change an event makes to its aggregate's own row in ``table``: ``values`` and the
    time of the change; an event of type ``created_by`` makes the row."""
    values["updated_at"] = format_time(envelope.time)
    creates = envelope.type == created_by
    return Patch(table.name, envelope.subject, envelope.sequence, envelope.position, creates, values)
