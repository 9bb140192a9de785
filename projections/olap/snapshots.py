"""The warehouse for every reader at once: read-only snapshots its writer publishes.

DuckDB lets one process write a database file, and while it does, no other process may
open it, not even read-only. So the process that projects the warehouse also publishes it.
About every second, if anything changed, the ``Publisher``:

1. under the writer's lock: records what the snapshot holds (``warehouse_snapshot``: its
   number, time and event-store positions) and checkpoints, so the file alone holds every
   committed row;
2. copies the file, while the writer goes on: its commits go to the write-ahead log, and
   only the publisher checkpoints (the writer's automatic checkpoint is turned off), so
   the blocks the copy reads stay as they were checkpointed;
3. opens the copy read-only and checks it says what step 1 recorded;
4. points ``current.duckdb`` at it with one rename.

A reader opens the file the link points to, read-only, and sees one committed state,
never a half-applied batch; DuckDB allows any number of such readers. A writer killed at
any moment leaves the previous snapshot current (and at worst a ``*.partial`` copy, removed
at its next start); a crash of the whole machine may leave the newest one unreadable (it is
not synced to disk) until the writer, started again, publishes the next, which it does
first. Superseded snapshots are deleted a few seconds later (``keep_seconds``): a reader
that has one open keeps reading it, as POSIX keeps an open file alive.

Readers must open the link's *target* (``os.path.realpath``): DuckDB caches databases by
path within a process, so reopening the link's own path would return the old snapshot.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from projections.olap.writer import ensure_schema

log = logging.getLogger(__name__)

CURRENT = "current.duckdb"
SUFFIX = ".duckdb"

META_DDL = """CREATE TABLE IF NOT EXISTS warehouse_snapshot (
    number BIGINT NOT NULL,
    published_at TIMESTAMP NOT NULL,
    position BIGINT NOT NULL,
    complete_through BIGINT NOT NULL,
    events BIGINT NOT NULL
)"""

#: Off: only the publisher checkpoints, between copies (see step 2 above).
NO_AUTOMATIC_CHECKPOINT = "SET checkpoint_threshold = '1000 TB'"


def folder_for(warehouse: Path) -> Path:
    """Where the snapshots of a warehouse file are published: beside it."""
    return warehouse.with_name(warehouse.stem + ".snapshots")


@dataclass(frozen=True)
class Trace:
    """Which events an answer is computed from. ``position``: the newest event included
    (its place in the event store's log). ``complete_through``: every event at or below it
    is included (with one stream, as in embedded mode, the same; with Kafka's partitions,
    the least advanced partition's). ``snapshot`` and ``published_at``: the snapshot read,
    when it was one."""

    position: int
    complete_through: int
    events: int
    snapshot: int | None = None
    published_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        found = {
            "position": self.position,
            "complete_through": self.complete_through,
            "events": self.events,
            "snapshot": self.snapshot,
            "published_at": self.published_at.isoformat().replace("+00:00", "Z") if self.published_at else None,
        }
        return {k: v for k, v in found.items() if v is not None}


def trace(cursor: Any) -> Trace:
    """What the warehouse behind ``cursor`` is computed from (inside the caller's transaction)."""
    position, events = cursor.execute("SELECT COALESCE(max(position), 0), count(*) FROM events").fetchone()
    (complete,) = cursor.execute("SELECT min(position) FROM channel_heads").fetchone()
    number = published = None
    # The warehouse itself holds the record of the last snapshot published from it: only a
    # snapshot (the one database opened read-only) is that snapshot.
    is_snapshot = cursor.execute(
        "SELECT readonly AND EXISTS (SELECT 1 FROM duckdb_tables() WHERE table_name = 'warehouse_snapshot') "
        "FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()[0]
    if is_snapshot:
        row = cursor.execute("SELECT number, published_at FROM warehouse_snapshot").fetchone()
        if row is not None:
            number, published = row[0], row[1].replace(tzinfo=UTC)
    return Trace(position, complete if complete is not None else position, events, number, published)


class Publisher:
    """Publishes the warehouse that ``connection`` writes (see the module's docstring).
    ``write_lock`` is the lock the writer holds around its transactions."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        write_lock: AbstractContextManager[Any],
        warehouse: Path,
        every: float = 1.0,
        keep_seconds: float = 5.0,
    ) -> None:
        self._conn = connection.cursor()
        self._conn.execute(NO_AUTOMATIC_CHECKPOINT)
        with write_lock:  # whichever of the writer and the publisher starts first makes the schema
            ensure_schema(self._conn)
        self._lock = write_lock
        self._folder = folder_for(warehouse)
        self._folder.mkdir(parents=True, exist_ok=True)
        self._every = every
        self._keep = keep_seconds
        self._published_state: Any = None
        self._superseded: dict[Path, float] = {}
        for leftover in self._folder.glob("*.partial"):
            leftover.unlink()
        now = time.monotonic()
        current = _target(self._folder)
        for old in self._numbered():
            if old != current:
                self._superseded[old] = now
        self.number = max((int(p.stem) for p in self._numbered()), default=0)
        #: Seconds the last publication took (checkpoint, copy, check, swap).
        self.last_duration = 0.0

    def publish(self) -> Path | None:
        """Publishes a snapshot if the warehouse changed since the last one; returns it."""
        started = time.monotonic()
        number = self.number + 1
        with self._lock:
            # Results are fetched whole: one left open would hold a transaction, and CHECKPOINT waits for none.
            state = self._conn.execute(
                "SELECT list(position ORDER BY source, partition) FROM projection_positions"
            ).fetchall()
            if state == self._published_state and _target(self._folder) is not None:
                return None
            self._conn.execute("BEGIN TRANSACTION")
            try:
                self._conn.execute(META_DDL)
                self._conn.execute("DELETE FROM warehouse_snapshot")
                self._conn.execute(
                    "INSERT INTO warehouse_snapshot SELECT ?, CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP), 0, 0, 0",
                    (number,),
                )
                found = trace(self._conn)
                self._conn.execute(
                    "UPDATE warehouse_snapshot SET position = ?, complete_through = ?, events = ?",
                    (found.position, found.complete_through, found.events),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("CHECKPOINT")
            except duckdb.TransactionException as busy:
                # A reader of this process's own connection is mid-query: next round.
                log.debug("not publishing yet: %s", busy)
                return None
            ((name,),) = self._conn.execute(
                "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
            ).fetchall()
            source = Path(name)
        final = self._folder / f"{number:012d}{SUFFIX}"
        partial = final.with_suffix(".partial")
        _copy(source, partial)
        _check(partial, number, found.events)
        os.rename(partial, final)
        _point_current(self._folder, final.name)
        previous = [p for p in self._numbered() if p != final and p not in self._superseded]
        for old in previous:
            self._superseded[old] = time.monotonic()
        self.number = number
        self._published_state = state
        self._forget_old()
        self.last_duration = time.monotonic() - started
        return final

    def run(self, stop: threading.Event) -> None:
        """Publishes until ``stop``, then once more, so a stopped writer leaves all it wrote."""
        while not stop.is_set():
            self.publish()
            # A big warehouse takes a while to copy: never spend more than a third of the time on it.
            stop.wait(max(self._every, 2 * self.last_duration))
        self.publish()

    def close(self) -> None:
        self._conn.close()

    def _numbered(self) -> list[Path]:
        return sorted(p for p in self._folder.glob(f"*{SUFFIX}") if p.stem.isdigit())

    def _forget_old(self) -> None:
        now = time.monotonic()
        for path, since in list(self._superseded.items()):
            if now - since >= self._keep:
                path.unlink(missing_ok=True)
                del self._superseded[path]


def _copy(source: Path, target: Path) -> None:
    """In the kernel (sharing blocks where the file system can). Not synced to disk: a
    snapshot is derived, and syncing doubled the cost of each publication; after a crash
    of the machine, the writer's first act is to publish a new one."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        left = os.fstat(src.fileno()).st_size
        while left > 0:
            copied = os.copy_file_range(src.fileno(), dst.fileno(), left)
            if copied == 0:
                break
            left -= copied


def _check(path: Path, number: int, events: int) -> None:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        found = conn.execute("SELECT (SELECT number FROM warehouse_snapshot), (SELECT count(*) FROM events)").fetchone()
    finally:
        conn.close()
    if found != (number, events):
        path.unlink(missing_ok=True)
        raise RuntimeError(f"snapshot {number} copied wrong: holds {found}, expected {(number, events)}")


def _point_current(folder: Path, name: str) -> None:
    link = folder / CURRENT
    staged = folder / (CURRENT + ".new")
    staged.unlink(missing_ok=True)
    staged.symlink_to(name)
    os.rename(staged, link)


def _target(folder: Path) -> Path | None:
    link = folder / CURRENT
    try:
        return folder / os.readlink(link)
    except FileNotFoundError:
        return None


def current(warehouse: Path) -> Path | None:
    """The file of the newest published snapshot of ``warehouse`` (None before the first)."""
    return _target(folder_for(warehouse))


class Snapshots:
    """Reads the newest snapshot, from any process: one read-only connection per
    snapshot, opened when a newer one is published. ``read`` never fails for want of
    one: before the first publication, it reads an empty warehouse."""

    def __init__(self, warehouse: Path) -> None:
        self._warehouse = warehouse
        self._opened: tuple[Path | None, duckdb.DuckDBPyConnection] | None = None
        self._guard = threading.Lock()

    def connection(self) -> duckdb.DuckDBPyConnection:
        newest = current(self._warehouse)
        with self._guard:
            if self._opened is None or self._opened[0] != newest:
                # The previous connection closes when its last cursor does.
                self._opened = (newest, self._open(newest))
            return self._opened[1]

    def _open(self, path: Path | None) -> duckdb.DuckDBPyConnection:
        if path is not None:
            with contextlib.suppress(duckdb.IOException):  # deleted since: the next one is there
                return duckdb.connect(str(path.resolve()), read_only=True)
            newer = current(self._warehouse)
            if newer is not None and newer != path:
                return duckdb.connect(str(newer.resolve()), read_only=True)
        conn = duckdb.connect(":memory:")
        ensure_schema(conn)
        return conn

    @contextlib.contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the newest snapshot, closed after the block."""
        cursor = self.connection().cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def close(self) -> None:
        with self._guard:
            if self._opened is not None:
                self._opened[1].close()
                self._opened = None


class Warehouse:
    """How a process reads the warehouse: the process that writes it reads its own
    connection (nothing fresher exists), inside one transaction per ``read`` so that an
    answer and its ``trace`` agree; every other process reads the newest snapshot."""

    def __init__(self, snapshots: Snapshots, live: Callable[[], duckdb.DuckDBPyConnection | None]) -> None:
        self._snapshots = snapshots
        self._live = live

    @contextlib.contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        live = self._live()
        if live is None:
            with self._snapshots.read() as cursor:
                yield cursor
            return
        cursor = live.cursor()
        try:
            cursor.execute("BEGIN TRANSACTION")
            yield cursor
        finally:
            cursor.close()  # nothing was written: closing ends the transaction
