"""The event store's tables, created once however many processes start together.

``eventsourcing`` creates a recorder's tables when it constructs the recorder; processes
starting at the same moment on a new PostgreSQL database then race (``relation already
exists``, ``tuple concurrently updated``, a duplicate composite type). So the store is built
with ``CREATE_TABLE=no``, and its recorders' own create-table code runs here instead, as a
versioned step under the migration lock (``migrations``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from eventsourcing.application import Application
from eventsourcing.postgres import BasePostgresFactory, PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore, SQLiteFactory

import migrations

COMPONENT = "event_store"


def create_tables(store: Application) -> None:
    """Called by the store once its recorders exist, before anything reads or writes."""
    recorders = _recorders(store)
    step = migrations.Step(
        1, "events, snapshots and tracking; command log and personal keys", lambda conn: _create(conn, recorders)
    )
    conn = connect_apart(store)
    try:
        migrations.migrate(conn, COMPONENT, [step])
    finally:
        conn.close()
    datastore = _datastore(store)
    if isinstance(datastore, PostgresDatastore):
        # The events' composite type may have been made by another process just now;
        # create_table() registers it only in the process that ran it.
        datastore.register_type_adapters()


def _recorders(store: Application) -> list[Any]:
    """Every recorder whose tables the store's processes use: the relay's tracking too."""
    found: list[Any] = [store.recorder, store.factory.tracking_recorder()]
    if store.snapshots is not None:
        found.append(store.snapshots.recorder)
    return found


def _create(conn: Any, recorders: list[Any]) -> None:
    for recorder in recorders:
        if isinstance(conn, sqlite3.Connection):
            # SQLite has one write lock per file, held by this migration's connection: the
            # recorder's create_table(), on a connection of its own, would wait for it in
            # vain. Its statements run here instead. (The marker row eventsourcing adds to a
            # new tracking table only matters to its own create_table(), which no longer runs.)
            for statement in recorder.create_table_statements:
                conn.execute(statement)
        else:
            # The advisory lock leaves the tables free: each recorder creates its own, as
            # eventsourcing does, committed before this step is recorded. A crash in between
            # repeats it on the next start, which its IF NOT EXISTS statements allow.
            recorder.create_table()


def connect_apart(store: Application) -> Any:
    """A connection of its own to the store's database (autocommit), outside eventsourcing's
    pools: its PostgreSQL pool ends a transaction left idle for a few seconds (as a
    migration's is while a recorder creates its tables, or an import's between statements it
    shapes itself), and its SQLite pool lets one connection write."""
    datastore = _datastore(store)
    if isinstance(datastore, SQLiteDatastore):
        # The file eventsourcing's own connections open, the way they open it.
        conn = sqlite3.connect(datastore.pool.db_name, uri=True, timeout=30, isolation_level=None)
        # As eventsourcing's connections do, before any lock is taken: a file switches to
        # WAL only while no other connection holds a lock on it.
        migrations.use_wal(conn)
        return conn
    import psycopg

    env = store.env
    return psycopg.connect(
        host=env.get("POSTGRES_HOST"),
        port=env.get("POSTGRES_PORT"),
        user=env.get("POSTGRES_USER"),
        password=env.get("POSTGRES_PASSWORD"),
        dbname=env.get("POSTGRES_DBNAME"),
        connect_timeout=round(float(env.get("POSTGRES_CONNECT_TIMEOUT") or 5)),
        autocommit=True,
    )


def _datastore(store: Application) -> SQLiteDatastore | PostgresDatastore:
    """The database eventsourcing's recorders use (its persistence modules' factories hold
    one; ``tests/integration/test_eventsourcing_contract.py`` checks it)."""
    factory = store.factory
    if isinstance(factory, SQLiteFactory | BasePostgresFactory):
        return factory.datastore
    raise TypeError(f"unsupported persistence module: {type(factory).__name__}")
