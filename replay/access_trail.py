"""The access trail: who read a person's data, when, and through which route.

One row per contact per read (``GET /v1/contacts/{contact_id}``, a search's page of
contacts, ``crm audit history``…), kept in the event store's database, beside the events
the reads are about, so that every process (each API worker, the command line) writes to
the one trail and auditors query it in one place. A row holds ids and names of routes and
callers only, never a person's data: erasing a person leaves it as it is.

Append-only: this module inserts and reads, nothing else; the database refuses an
``UPDATE``, ``DELETE`` (and, on PostgreSQL, ``TRUNCATE``) of the table with a trigger, so
that no other code can quietly change who read what. The table is a component of its own
in ``migrations`` (``access_trail``), created once however many processes start together.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any, Protocol
from uuid import UUID

import migrations
from domain.integrity import format_time

COMPONENT = "access_trail"
TABLE = "access_trail"
#: The columns of the CSV export and of each JSON entry, in order.
COLUMNS = ("id", "at", "actor", "route", "contact_id")
#: How long one insert may take on PostgreSQL before the read it records fails (no request
#: waits without a deadline; SQLite's own wait for its write lock is the connection's timeout).
STATEMENT_TIMEOUT = "5s"
REFUSAL = "the access trail is append-only"


class TrailDatabase(Protocol):
    """The event store's database (SQLite or PostgreSQL), whatever class reaches it
    (``projections.oltp.db.OltpDatabase`` does)."""

    kind: str
    #: The driver's placeholder: ``?`` or ``%s``.
    ph: str

    def connect(self) -> Any:
        """A new connection in autocommit mode."""

    def reading(self) -> AbstractContextManager[Any]:
        """A connection for one use (pooled on PostgreSQL)."""

    def transaction(self, conn: Any) -> AbstractContextManager[Any]:
        """One transaction on ``conn``: committed at the end of the block, else rolled back."""


@dataclass(frozen=True)
class AccessEntry:
    """One read of one person's data: ``actor`` is the API key's name (``cli:<user>`` from
    the command line; in open mode, whoever ``X-Actor`` named), ``route`` the route's
    template with its method (``GET /v1/contacts/{contact_id}``) or the command
    (``crm audit history``)."""

    id: int
    at: datetime
    actor: str
    route: str
    contact_id: UUID

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": format_time(self.at),
            "actor": self.actor,
            "route": self.route,
            "contact_id": str(self.contact_id),
        }

    def row(self) -> list[str]:
        """The CSV row, in ``COLUMNS`` order. An actor comes from a key's name or, in open
        mode, from a header: a value a spreadsheet would run as a formula gets a leading
        apostrophe."""
        values = self.as_dict()
        return [_cell(str(values[column])) for column in COLUMNS]


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


class AccessTrail:
    """Records reads and answers them per contact. Creates its table on construction
    (under the migration lock); a database that does not answer raises the driver's error."""

    def __init__(self, db: TrailDatabase) -> None:
        self.db = db
        conn = db.connect()
        try:
            migrations.migrate(conn, COMPONENT, [migrations.Step(1, "the access trail", _create)])
        finally:
            conn.close()

    def record(self, actor: str, route: str, contact_ids: Iterable[UUID | str]) -> int:
        """One row per distinct contact, all in one transaction, stamped now (UTC); answers
        how many. Raises whatever the database raises: the caller must then not show the
        data (a read without its trail is what this exists to prevent)."""
        ids = list(dict.fromkeys(str(UUID(str(contact_id))) for contact_id in contact_ids))
        if not ids:
            return 0
        at = datetime.now(UTC)
        stamp: Any = _sqlite_time(at) if self.db.kind == "sqlite" else at
        ph = self.db.ph
        sql = f"INSERT INTO {TABLE} (at, actor, route, contact_id) VALUES ({ph}, {ph}, {ph}, {ph})"
        rows = [(stamp, actor, route, contact_id) for contact_id in ids]
        with self.db.reading() as conn, self.db.transaction(conn):
            if self.db.kind == "sqlite":
                conn.executemany(sql, rows)
            else:
                conn.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
                with conn.cursor() as cursor:
                    cursor.executemany(sql, rows)
        return len(ids)

    def page(self, contact_id: UUID, limit: int, offset: int) -> tuple[list[AccessEntry], int]:
        """The contact's reads, oldest first (so pages stay put while reads are added),
        and how many there are in all."""
        ph = self.db.ph
        with self.db.reading() as conn:
            found = conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE contact_id = {ph} ORDER BY id LIMIT {ph} OFFSET {ph}",
                (str(contact_id), limit, offset),
            ).fetchall()
            total = conn.execute(f"SELECT count(*) FROM {TABLE} WHERE contact_id = {ph}", (str(contact_id),)).fetchone()
        return [_entry(row) for row in found], int(total[0])

    def entries(self, contact_id: UUID, batch: int = 1000) -> Iterator[AccessEntry]:
        """Every read of the contact, oldest first, fetched ``batch`` rows at a time."""
        after = 0
        ph = self.db.ph
        while True:
            with self.db.reading() as conn:
                found = conn.execute(
                    f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE contact_id = {ph} AND id > {ph} "
                    f"ORDER BY id LIMIT {ph}",
                    (str(contact_id), after, batch),
                ).fetchall()
            for row in found:
                yield _entry(row)
            if len(found) < batch:
                return
            after = found[-1][0]


def _create(conn: Any) -> None:
    if isinstance(conn, sqlite3.Connection):
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, "
            "actor TEXT NOT NULL, route TEXT NOT NULL, contact_id TEXT NOT NULL)"
        )
        for change in ("UPDATE", "DELETE"):
            conn.execute(
                f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_{change.lower()} BEFORE {change} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
            )
    else:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "at TIMESTAMPTZ NOT NULL, actor VARCHAR NOT NULL, route VARCHAR NOT NULL, contact_id UUID NOT NULL)"
        )
        conn.execute(
            f"CREATE OR REPLACE FUNCTION {TABLE}_refuse() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$"
        )
        for name, when in (("no_change", "UPDATE OR DELETE"), ("no_truncate", "TRUNCATE")):
            each = "STATEMENT" if when == "TRUNCATE" else "ROW"
            conn.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{name} ON {TABLE}")
            conn.execute(
                f"CREATE TRIGGER {TABLE}_{name} BEFORE {when} ON {TABLE} "
                f"FOR EACH {each} EXECUTE FUNCTION {TABLE}_refuse()"
            )
    conn.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_by_contact ON {TABLE} (contact_id, id)")


def _sqlite_time(at: datetime) -> str:
    """Fixed width, so that the text sorts as the time does."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _entry(row: Any) -> AccessEntry:
    id_, at, actor, route, contact_id = row
    when = at if isinstance(at, datetime) else datetime.fromisoformat(at)
    return AccessEntry(int(id_), when.astimezone(UTC), actor, route, UUID(str(contact_id)))


def json_array(entries: Iterable[AccessEntry]) -> Iterator[str]:
    """``[`` then one entry per line, then ``]``."""
    yield "["
    separator = "\n"
    for item in entries:
        yield separator + json.dumps(item.as_dict(), ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"


def csv_text(entries: Iterable[AccessEntry]) -> Iterator[str]:
    """A header line (``COLUMNS``), then one line per entry."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for values in chain([list(COLUMNS)], (item.row() for item in entries)):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        yield buffer.getvalue()
