"""Schema steps that run once, however many processes start at the same moment.

A component (the event store, the operational read model, the projections' positions)
lists its steps with rising versions. ``migrate`` applies the steps newer than the
component's recorded version inside one transaction that first takes the component's
lock, and records each in ``schema_versions`` (component, version, applied_at):

- PostgreSQL: ``pg_advisory_xact_lock`` on a key derived from the component's name. A
  process starting meanwhile waits for the lock, then finds the steps recorded. (``CREATE
  TABLE IF NOT EXISTS`` alone races there: two sessions both find a table missing and one
  fails with ``relation already exists`` or ``tuple concurrently updated``.)
- SQLite: ``BEGIN IMMEDIATE`` takes the database's one write lock.

DDL is transactional in both, so a step that fails keeps nothing and the next start tries
it again. A later code version appends steps; each start applies what its database lacks.
A component's first step creates its tables from their current definitions with ``IF NOT
EXISTS`` (so it also adopts a database made before versions were recorded); a later step
changes existing tables and leaves alone a table that already has the new shape, because a
new database got that shape from the first step.

Outside commands/, projections/ and automations/ because all three use it; it imports none
of them, and touches a database only through the connection it is handed.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

TABLE = "schema_versions"
#: How long a start waits for another process's migration (or a step for a table another
#: process is using) before failing, rather than waiting forever.
LOCK_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Step:
    """``apply`` is called with the migration's connection, inside its transaction."""

    version: int
    description: str
    apply: Callable[[Any], None]


def migrate(conn: Any, component: str, steps: Sequence[Step]) -> int:
    """Applies, once, the steps newer than ``component``'s recorded version, and answers the
    version the database is now at.

    ``conn`` is a psycopg connection or an sqlite3 one in autocommit mode
    (``isolation_level=None``), not inside a transaction. A failing step raises, and nothing
    the run did in ``conn`` is kept. Waiting longer than ``LOCK_TIMEOUT_SECONDS`` for the
    lock raises the driver's lock error."""
    _require_rising(steps)
    with _locked(conn, component):
        current = _recorded_version(conn, component)
        for step in steps:
            if step.version > current:
                step.apply(conn)
                conn.execute(
                    f"INSERT INTO {TABLE} (component, version) VALUES ({_ph(conn)}, {_ph(conn)})",
                    (component, step.version),
                )
                current = step.version
    return current


def hand_over(conn: Any, rebuilt: str, live: str) -> None:
    """Inside a rebuild's switch transaction, once the rebuilt tables took the live ones'
    names: the live component's record becomes the rebuilt tables' record."""
    ph = _ph(conn)
    conn.execute(f"DELETE FROM {TABLE} WHERE component = {ph}", (live,))
    conn.execute(f"UPDATE {TABLE} SET component = {ph} WHERE component = {ph}", (live, rebuilt))


def use_wal(conn: sqlite3.Connection, attempts: int = 50) -> None:
    """Puts the connection's SQLite file in WAL mode (a no-op once it is). A new file's
    switch needs a moment with no other connection's lock on it, and SQLite answers
    ``database is locked`` at once rather than waiting: processes starting together on a
    new file try again for a few seconds."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as busy:
            if "locked" not in str(busy) or attempt == attempts - 1:
                raise
            time.sleep(0.1)


def lock_key(component: str) -> int:
    """A stable signed 64-bit number for the name, as ``pg_advisory_xact_lock`` takes."""
    digest = hashlib.blake2b(f"eventcrm schema {component}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _require_rising(steps: Sequence[Step]) -> None:
    versions = [step.version for step in steps]
    if any(v < 1 for v in versions) or versions != sorted(set(versions)):
        raise ValueError(f"step versions must rise from 1 without repeats, got {versions}")


def _is_sqlite(conn: Any) -> bool:
    return isinstance(conn, sqlite3.Connection)


def _ph(conn: Any) -> str:
    return "?" if _is_sqlite(conn) else "%s"


@contextmanager
def _locked(conn: Any, component: str) -> Iterator[None]:
    if _is_sqlite(conn):
        with _sqlite_write_lock(conn):
            _create_versions_table(conn)
            yield
        return
    # Its own lock and transaction: components of one database share the table, and each
    # holds only its own lock while applying its steps.
    with _postgres_lock(conn, TABLE):
        _create_versions_table(conn)
    with _postgres_lock(conn, component):
        yield


@contextmanager
def _postgres_lock(conn: Any, name: str) -> Iterator[None]:
    with conn.transaction():
        conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(name),))
        yield


@contextmanager
def _sqlite_write_lock(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _create_versions_table(conn: Any) -> None:
    applied_at = "TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP" if _is_sqlite(conn) else "TIMESTAMPTZ NOT NULL DEFAULT now()"
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {TABLE} ("
        "component VARCHAR NOT NULL, version INTEGER NOT NULL, "
        f"applied_at {applied_at}, PRIMARY KEY (component, version))"
    )


def _recorded_version(conn: Any, component: str) -> int:
    row = conn.execute(f"SELECT max(version) FROM {TABLE} WHERE component = {_ph(conn)}", (component,)).fetchone()
    return row[0] or 0
