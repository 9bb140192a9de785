"""Rebuilding a projection: replay every event into new tables, then switch readers over
atomically. Readers keep reading the old tables until the switch, and the live projector
goes on projecting meanwhile; at the switch it is refused once (``PositionsMoved``) and
resumes from the rebuilt tables' positions (applying an event twice changes nothing)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb

import migrations
from commands.store import CrmEventStore
from projections import positions
from projections.olap.writer import OlapWriter, ensure_schema
from projections.oltp import schema
from projections.oltp.db import OltpDatabase
from projections.oltp.writer import OltpWriter
from projections.runner import ProjectorRunner, Writer
from streams.deadletters import DeadLetters
from streams.kafka import KafkaClients, KafkaSource, delete_group
from streams.log import NotificationLogSource
from streams.records import Source

#: Called with (records done, records expected) after every batch.
Progress = Callable[[int, int], None]

#: Where a rebuild replayed from, as its report names it.
STORE, KAFKA = "the event store", "Kafka"


class Replay(Protocol):
    """Every event once more, from the first, for a rebuild."""

    #: Where the events come from, for the report (``STORE`` or ``KAFKA``).
    origin: str
    #: How many records that is, for progress.
    expected: int

    def source(self) -> Source:
        """A new source of every event, from the first."""

    def close(self) -> None:
        """Forgets what replaying left behind (called once the rebuild is over)."""


class StoreReplay:
    """The event store's notification log, from its first event: read a batch at a time,
    each event decoded once into the CloudEvent Kafka would carry (``streams.log``), so a
    rebuild from the store holds no more of the history than one from Kafka."""

    origin = STORE

    def __init__(self, store: CrmEventStore) -> None:
        self._store = store
        self.expected = store.recorder.max_notification_id() or 0

    def source(self) -> Source:
        return NotificationLogSource(self._store)

    def close(self) -> None:
        pass


class KafkaReplay:
    """Every topic from offset 0, read by a consumer group of the rebuild's own, deleted
    afterwards. ``expected``: the records the topics hold."""

    origin = KAFKA

    def __init__(self, clients: KafkaClients, topics: Sequence[str], group_id: str, expected: int) -> None:
        self._clients = clients
        self._topics = list(topics)
        self._group_id = group_id
        self.expected = expected

    def source(self) -> Source:
        return KafkaSource(self._clients, group_id=self._group_id, topics=self._topics)

    def close(self) -> None:
        delete_group(self._clients, self._group_id)


@dataclass(frozen=True)
class Projecting:
    """How a rebuild projects what it replays: as the live projector of that name does
    (``opened_for`` hands the operational model personal fields opened)."""

    batch_size: int
    dead_letters: DeadLetters | None
    opened_for: Callable[[str, Source], Source]

    def replay(self, projection: str, writer: Writer, replay: Replay, progress: Progress | None) -> int:
        """Projects every replayed event with ``writer``; answers how many records that was."""
        source = self.opened_for(projection, replay.source())
        runner = ProjectorRunner(writer, source, self.batch_size, self.dead_letters)
        try:
            return replay_all(runner, replay.expected, progress)
        finally:
            runner.close()


class Rebuild(Protocol):
    """Rebuilds one projection: replays every event into new tables, then switches the
    readers over to them atomically."""

    def run(self, replay: Replay, progress: Progress | None = None) -> RebuildReport: ...


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


def replay_all(runner: ProjectorRunner[Writer], expected: int, progress: Progress | None = None) -> int:
    """Projects until the source is caught up; answers how many records it projected."""
    done = 0
    while True:
        n = runner.run_once(timeout=0.5)
        done += n
        if progress is not None:
            progress(done, max(expected, done))
        if n == 0 and runner.source.caught_up():
            return done


class OltpRebuild:
    """The operational read model: replays into tables named with a suffix beside the live
    ones, then renames them in one transaction."""

    def __init__(self, db: OltpDatabase, projecting: Projecting) -> None:
        self._db = db
        self._projecting = projecting

    def run(self, replay: Replay, progress: Progress | None = None) -> RebuildReport:
        db = self._db
        started = time.perf_counter()
        live = "oltp"
        conn = db.connect()
        try:
            generation, _ = positions.read(conn, db.ph, live)
            suffix = f"__rebuild{generation + 1}"
            writer = OltpWriter(db, suffix=suffix)
            rebuilt = f"{live}{suffix}"
            events = self._projecting.replay(live, writer, replay, progress)
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
        return RebuildReport(live, replay.origin, events, time.perf_counter() - started, generation)


class OlapRebuild:
    """DuckDB: replays into a scratch database file, then, in one transaction of the live
    database, replaces every table with the rebuilt one (the writer's own DDL recreates
    them, so a rebuild also brings a changed schema). ``write_lock`` is the lock the live
    writer of this process holds around its transactions."""

    def __init__(
        self,
        live: duckdb.DuckDBPyConnection,
        scratch_path: Path,
        write_lock: contextlib.AbstractContextManager[Any] | None,
        projecting: Projecting,
    ) -> None:
        self._live = live
        self._scratch_path = scratch_path
        self._write_lock = write_lock
        self._projecting = projecting

    def run(self, replay: Replay, progress: Progress | None = None) -> RebuildReport:
        started = time.perf_counter()
        scratch_path = self._scratch_path
        scratch_path.unlink(missing_ok=True)
        scratch = duckdb.connect(str(scratch_path))
        try:
            events = self._projecting.replay("olap", OlapWriter(scratch), replay, progress)
        finally:
            scratch.close()
        cursor = self._live.cursor()
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
            with self._write_lock if self._write_lock is not None else contextlib.nullcontext():
                cursor.execute("BEGIN TRANSACTION")
                try:
                    for table in tables:
                        cursor.execute(f"DROP TABLE IF EXISTS main.{table} CASCADE")
                    ensure_schema(cursor)  # the current DDL, on the live database
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
        return RebuildReport("olap", replay.origin, events, time.perf_counter() - started, generation)
