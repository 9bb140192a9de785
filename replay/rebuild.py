"""Rebuilding a projection: replay every event into new tables, then switch readers over
atomically. Readers keep reading the old tables until the switch, and the live projector
goes on projecting meanwhile; at the switch it is refused once (``PositionsMoved``) and
resumes from the rebuilt tables' positions (applying an event twice changes nothing)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import migrations
from projections import positions
from projections.oltp import schema
from projections.oltp.db import OltpDatabase
from projections.runner import ProjectorRunner

#: Called with (records done, records expected) after every batch.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RebuildReport:
    projection: str
    replayed_from: str
    events: int
    seconds: float
    generation: int

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def replay(runner: ProjectorRunner, expected: int, progress: Progress | None = None) -> int:
    """Projects until the source is caught up; answers how many records it projected."""
    done = 0
    while True:
        n = runner.run_once(timeout=0.5)
        done += n
        if progress is not None:
            progress(done, max(expected, done))
        if n == 0 and runner.source.caught_up():
            return done


def rebuild_oltp(
    db: OltpDatabase,
    make_writer: Callable[[str], Any],
    runner_for: Callable[[Any], ProjectorRunner],
    replayed_from: str,
    expected: int,
    progress: Progress | None = None,
) -> RebuildReport:
    """``make_writer(suffix)`` builds the projection's writer over tables named with that
    suffix; ``runner_for(writer)`` pairs it with a source replaying from the beginning."""
    started = time.perf_counter()
    live = "oltp"
    conn = db.connect()
    try:
        generation, _ = positions.read(conn, db.ph, live)
        suffix = f"__rebuild{generation + 1}"
        writer = make_writer(suffix)
        rebuilt = f"{live}{suffix}"
        runner = runner_for(writer)
        try:
            events = replay(runner, expected, progress)
        finally:
            runner.close()
        lock = " FOR UPDATE" if db.kind == "postgresql" else ""
        with db.transaction(conn):
            # Holding the live generation's row: the live writer's next batch waits, then
            # sees the new generation and resumes from the positions handed over here.
            conn.execute(f"SELECT generation FROM projection_generations WHERE projection = {db.ph}{lock}", (live,))
            for table in writer.tables():
                conn.execute(f"ALTER TABLE {table} RENAME TO {table}__retired")
                conn.execute(f"ALTER TABLE {table}{suffix} RENAME TO {table}")
                conn.execute(f"DROP TABLE {table}__retired")
            generation = positions.hand_over(conn, db.ph, rebuilt, live)
            # The live tables are now the rebuilt ones, of the rebuilt tables' version.
            migrations.hand_over(conn, schema.COMPONENT + suffix, schema.COMPONENT)
    finally:
        conn.close()
    return RebuildReport(live, replayed_from, events, time.perf_counter() - started, generation)


def rebuild_olap(
    live: Any,
    scratch_path: Any,
    make_writer: Callable[[Any], Any],
    runner_for: Callable[[Any], ProjectorRunner],
    replayed_from: str,
    expected: int,
    progress: Progress | None = None,
    write_lock: Any = None,
) -> RebuildReport:
    """DuckDB: replay into a scratch database file, then, in one transaction of the live
    database, replace every table with the rebuilt one (the writer's own DDL recreates
    them, so a rebuild also brings a changed schema). ``write_lock`` is the lock the live
    writer of this process holds around its transactions."""
    import contextlib
    from pathlib import Path

    import duckdb

    started = time.perf_counter()
    scratch_path = Path(scratch_path)
    scratch_path.unlink(missing_ok=True)
    scratch = duckdb.connect(str(scratch_path))
    try:
        runner = runner_for(make_writer(scratch))
        try:
            events = replay(runner, expected, progress)
        finally:
            runner.close()
    finally:
        scratch.close()
    cursor = live.cursor()
    cursor.execute(f"ATTACH '{scratch_path}' AS rebuilt (READ_ONLY)")
    try:
        kept = ("projection_positions", "projection_generations")
        tables = [
            name
            for (name,) in cursor.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'rebuilt' AND schema_name = 'main'"
            ).fetchall()
            if name not in kept
        ]
        with write_lock if write_lock is not None else contextlib.nullcontext():
            cursor.execute("BEGIN TRANSACTION")
            try:
                for table in tables:
                    cursor.execute(f"DROP TABLE IF EXISTS main.{table} CASCADE")
                make_writer(cursor)  # the current DDL, on the live database
                for table in tables:
                    cursor.execute(f"INSERT INTO main.{table} BY NAME SELECT * FROM rebuilt.main.{table}")
                cursor.execute(
                    "INSERT INTO main.projection_positions SELECT 'olap__rebuilt', source, partition, position "
                    "FROM rebuilt.main.projection_positions WHERE projection = 'olap'"
                )
                generation = positions.hand_over(cursor, "?", "olap__rebuilt", "olap")
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
    finally:
        cursor.execute("DETACH rebuilt")
        cursor.close()
        scratch_path.unlink(missing_ok=True)
    return RebuildReport("olap", replayed_from, events, time.perf_counter() - started, generation)
