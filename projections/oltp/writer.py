"""Applies the operational projections to PostgreSQL or SQLite, a batch per transaction."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from projections import positions
from projections.oltp import contacts, schema
from projections.oltp.db import OltpDatabase
from streams.envelope import Envelope
from streams.records import Channel, Record


class OltpWriter:
    name = "oltp"

    def __init__(self, db: OltpDatabase) -> None:
        self.db = db
        schema.ensure(db)
        self._conn = db.connect()
        self._generation = 0
        self._lock = " FOR UPDATE" if db.kind == "postgresql" else ""

    def positions(self) -> dict[Channel, int]:
        self._generation, stored = positions.read(self._conn, self.db.ph, self.name)
        return stored

    def write(self, records: Sequence[Record], reject: Callable[[Record, Exception], None]) -> None:
        patches = []
        for record in records:
            try:
                patch = contacts.project(Envelope.from_json(record.value))
            except Exception as exc:  # a poison event: set aside, the batch goes on
                reject(record, exc)
                continue
            if patch is not None:
                patches.append(patch)
        merged = contacts.merge(patches)
        with self.db.transaction(self._conn) as conn:
            self._apply_contacts(conn, merged)
            positions.store(conn, self.db.ph, self.name, self._generation, records, self._lock)

    def _apply_contacts(self, conn: Any, patches: list[contacts.ContactPatch]) -> None:
        ph = self.db.ph
        inserts = [p for p in patches if p.creates]
        if inserts:
            columns = contacts.COLUMNS
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
            sql = (
                f"INSERT INTO contacts ({', '.join(columns)}) VALUES ({', '.join([ph] * len(columns))}) "
                f"ON CONFLICT (id) DO UPDATE SET {updates} WHERE contacts.version < excluded.version"
            )
            self.db.executemany(conn, sql, [self._row(p, columns) for p in inserts])
        # Patches that change an existing row, grouped by the columns they set so that
        # each group is one statement executed for many rows.
        groups: dict[tuple[str, ...], list[contacts.ContactPatch]] = defaultdict(list)
        for p in patches:
            if not p.creates:
                groups[tuple(sorted(p.values))].append(p)
        for cols, group in groups.items():
            sets = ", ".join(f"{c} = {ph}" for c in (*cols, "version", "position"))
            sql = f"UPDATE contacts SET {sets} WHERE id = {ph} AND version < {ph}"
            rows = [
                (*(self._value(c, p.values[c]) for c in cols), p.version, p.position, p.id, p.version) for p in group
            ]
            self.db.executemany(conn, sql, rows)

    def _row(self, patch: contacts.ContactPatch, cols: Sequence[str]) -> tuple[Any, ...]:
        full = {**patch.values, "id": patch.id, "version": patch.version, "position": patch.position}
        return tuple(self._value(c, full.get(c)) for c in cols)

    @staticmethod
    def _value(column: str, value: Any) -> Any:
        return json.dumps(value) if column == "tags" else value

    def close(self) -> None:
        self._conn.close()
