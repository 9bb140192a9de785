"""Applies the operational projection to PostgreSQL or SQLite, a batch per transaction.

Every record is first projected purely (a record that cannot be is handed to ``reject``
and the batch goes on); then one transaction applies all the batch's row changes with a
few statements each executed for many rows, and stores the batch's positions.

On PostgreSQL, a statement for many rows (``COPY_FROM`` or more) copies them into a
temporary staging table (``COPY``, dropped at commit) and applies them with one
``INSERT … SELECT`` or ``UPDATE … FROM``, under the same conditions as the row-by-row
statements (an upsert only over a lower version, an insert-once row kept the first time):
binding parameters row by row costs more than projecting the event. Fewer rows (a live
projector's small batches) go as before, without the staging table's catalog work.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from typing import Any

from projections import positions
from projections.oltp import activities, cases, contacts, schema
from projections.oltp.db import OltpDatabase
from projections.oltp.projection import BY_NAME, project
from projections.oltp.rows import Patch, Row, Table, merge
from streams.records import Channel, Record

#: From this many rows, a PostgreSQL statement is applied through a staging table and COPY.
COPY_FROM = 64


class OltpWriter:
    """``suffix`` names a parallel set of tables (``<base name><suffix>``) and positions
    (``oltp<suffix>``): a rebuild writes there while the live tables keep serving."""

    name = "oltp"

    def __init__(self, db: OltpDatabase, suffix: str = "") -> None:
        self.db = db
        self.suffix = suffix
        self.name = f"oltp{suffix}"
        schema.ensure(db, suffix)
        self._conn = db.connect()
        self._generation = 0
        self._staged = 0
        self._lock = " FOR UPDATE" if db.kind == "postgresql" else ""

    def tables(self) -> list[str]:
        """The base names of every table this writer fills."""
        return schema.table_names()

    def positions(self) -> dict[Channel, int]:
        self._generation, stored = positions.read(self._conn, self.db.ph, self.name)
        return stored

    def write(
        self, records: Sequence[Record], reject: Callable[[Record, Exception], None], skip: Collection[Record] = ()
    ) -> None:
        patches: list[Patch] = []
        rows: list[Row] = []
        for record in records:
            if record in skip:
                continue
            try:
                changes = project(record.decoded())
            except Exception as exc:  # a poison event: set aside, the batch goes on
                reject(record, exc)
                continue
            for change in changes:
                if isinstance(change, Patch):
                    patches.append(change)
                else:
                    rows.append(change)
        merged = merge(patches)
        with self.db.transaction(self._conn) as conn:
            by_table: dict[str, list[Patch]] = defaultdict(list)
            for patch in merged:
                by_table[patch.table].append(patch)
            for table, group in by_table.items():
                self._apply_patches(conn, BY_NAME[table], group)
            rows_by_table: dict[str, list[Row]] = defaultdict(list)
            for row in rows:
                rows_by_table[row.table].append(row)
            for table, new_rows in rows_by_table.items():
                self._insert_rows(conn, BY_NAME[table], new_rows)
            self._scrub_erased(conn, merged)
            positions.store(conn, self.db.ph, self.name, self._generation, records, self._lock)

    def _physical(self, table: Table) -> str:
        return table.name + self.suffix

    def _apply_patches(self, conn: Any, table: Table, patches: list[Patch]) -> None:
        """Rows created by the batch are upserted, guarded by version; patches of existing
        rows are grouped by the columns they set, each group one statement for many rows."""
        ph, name = self.db.ph, self._physical(table)
        inserts = [p for p in patches if p.creates]
        if inserts:
            columns = table.column_names
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
            conflict = f"ON CONFLICT (id) DO UPDATE SET {updates} WHERE {name}.version < excluded.version"
            full_rows = [self._full_row(table, p) for p in inserts]
            if self._copies(full_rows):
                staging = self._stage(conn, name, columns, full_rows)
                listed = ", ".join(columns)
                conn.execute(f"INSERT INTO {name} ({listed}) SELECT {listed} FROM {staging} {conflict}")
            else:
                sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join([ph] * len(columns))}) {conflict}"
                self.db.executemany(conn, sql, full_rows)
        groups: dict[tuple[str, ...], list[Patch]] = defaultdict(list)
        for p in patches:
            if not p.creates:
                groups[tuple(sorted(p.values))].append(p)
        for cols, group in groups.items():
            if self._copies(group):
                staged = (*cols, "version", "position", "id")
                rows = [(*(table.encode(c, p.values[c]) for c in cols), p.version, p.position, p.id) for p in group]
                staging = self._stage(conn, name, staged, rows)
                sets = ", ".join(f"{c} = s.{c}" for c in (*cols, "version", "position"))
                guard = f"{name}.id = s.id AND {name}.version < s.version"
                conn.execute(f"UPDATE {name} SET {sets} FROM {staging} AS s WHERE {guard}")
                continue
            sets = ", ".join(f"{c} = {ph}" for c in (*cols, "version", "position"))
            sql = f"UPDATE {name} SET {sets} WHERE id = {ph} AND version < {ph}"
            rows = [
                (*(table.encode(c, p.values[c]) for c in cols), p.version, p.position, p.id, p.version) for p in group
            ]
            self.db.executemany(conn, sql, rows)

    @staticmethod
    def _full_row(table: Table, patch: Patch) -> tuple[Any, ...]:
        full = {**patch.values, "id": patch.id, "version": patch.version, "position": patch.position}
        return tuple(table.encode(c, full.get(c)) for c in table.column_names)

    def _insert_rows(self, conn: Any, table: Table, rows: list[Row]) -> None:
        ph, name, columns = self.db.ph, self._physical(table), table.column_names
        encoded = [tuple(table.encode(c, r.values.get(c)) for c in columns) for r in rows]
        if self._copies(encoded):
            # The first copy of a key wins, as it does row by row (a redelivered event
            # repeats its rows within one batch).
            at = [columns.index(k) for k in table.key]
            first: dict[tuple[Any, ...], tuple[Any, ...]] = {}
            for row in encoded:
                first.setdefault(tuple(row[i] for i in at), row)
            staging = self._stage(conn, name, columns, list(first.values()))
            listed = ", ".join(columns)
            conn.execute(
                f"INSERT INTO {name} ({listed}) SELECT {listed} FROM {staging} "
                f"ON CONFLICT ({', '.join(table.key)}) DO NOTHING"
            )
            return
        sql = (
            f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join([ph] * len(columns))}) "
            f"ON CONFLICT ({', '.join(table.key)}) DO NOTHING"
        )
        self.db.executemany(conn, sql, encoded)

    def _copies(self, rows: Sequence[object]) -> bool:
        return self.db.kind == "postgresql" and len(rows) >= COPY_FROM

    def _stage(self, conn: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        """A temporary table of ``columns`` typed as in ``table``, holding ``rows`` (COPY);
        dropped when the transaction ends. Answers its name."""
        self._staged += 1
        staging = f"staging_{self._staged}"
        listed = ", ".join(columns)
        conn.execute(f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS SELECT {listed} FROM {table} WITH NO DATA")
        with conn.cursor() as cursor, cursor.copy(f"COPY {staging} ({listed}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return staging

    def _scrub_erased(self, conn: Any, patches: list[Patch]) -> None:
        """An erased person's case subjects and the free text of activities about them go,
        whichever was projected first."""
        erased = [(p.id,) for p in patches if p.table == contacts.TABLE.name and p.values.get("erased") is True]
        opened = [(p.id,) for p in patches if p.table == cases.TABLE.name and p.creates]
        by_contact, by_case = cases.scrub(self._physical(cases.TABLE), self._physical(contacts.TABLE), self.db.ph)
        self.db.executemany(conn, by_contact, erased)
        self.db.executemany(conn, by_case, opened)
        written = [
            (p.id,)
            for p in patches
            if p.table == activities.TABLE.name and not set(p.values).isdisjoint(activities.PERSONAL)
        ]
        about, by_activity = activities.scrub(
            self._physical(activities.TABLE), self._physical(contacts.TABLE), self.db.ph
        )
        self.db.executemany(conn, about, erased)
        self.db.executemany(conn, by_activity, written)

    def close(self) -> None:
        self._conn.close()
