"""Schema steps run once, whoever starts first: any number of processes may start at the
same moment on a new database, and a later version upgrades an existing one."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent, Tracking

import migrations
from commands.bus import CommandBus
from commands.config import CommandConfig
from commands.contact import CreateContact
from commands.handlers import HANDLERS
from commands.store import CrmEventStore, persistence_env
from commands.tables import COMPONENT as EVENT_STORE
from crm.rebuilding import rebuild
from domain.meta import Meta
from projections import positions
from projections.oltp import schema
from projections.oltp.db import OltpDatabase

STARTS = 10
META = Meta("t", "migrations", "migrations")


class Database:
    """One test database, PostgreSQL or SQLite, and new connections to it. ``store_url`` is
    the event store's: on PostgreSQL the same database, as production may have it; on
    SQLite a file beside it, as the embedded mode has it."""

    def __init__(self, url: str, store_url: str | None = None) -> None:
        self.url = url
        self.store_url = store_url or url
        self.oltp = OltpDatabase(url)

    def connect(self) -> Any:
        return self.oltp.connect()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        conn = self.connect()
        try:
            return [tuple(row) for row in conn.execute(sql).fetchall()]
        finally:
            conn.close()

    def versions(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for component, version in self.rows("SELECT component, version FROM schema_versions ORDER BY 1, 2"):
            found.setdefault(component, []).append(version)
        return found


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "postgresql":
        return Database(request.getfixturevalue("postgres_dsn"))
    return Database(f"sqlite:///{tmp_path / 'read.sqlite'}", f"sqlite:///{tmp_path / 'events.sqlite'}")


def recording(version: int) -> migrations.Step:
    """A step that leaves a trace each time it is applied."""

    def apply(conn: Any) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS applied (version INTEGER NOT NULL)")
        conn.execute(f"INSERT INTO applied VALUES ({version})")

    return migrations.Step(version, f"leaves a trace of version {version}", apply)


def all_at_once(work: Callable[[], Any], starts: int = STARTS) -> list[Any]:
    """Runs ``work`` in ``starts`` threads released at the same moment; answers their
    results, raising the first failure."""
    ready = threading.Barrier(starts)

    def start() -> Any:
        ready.wait()
        return work()

    with ThreadPoolExecutor(starts) as pool:
        futures = [pool.submit(start) for _ in range(starts)]
        return [future.result(timeout=120) for future in futures]


def migrate_with(database: Database, component: str, steps: Sequence[migrations.Step]) -> Callable[[], int]:
    def run() -> int:
        conn = database.connect()
        try:
            return migrations.migrate(conn, component, steps)
        finally:
            conn.close()

    return run


def test_ten_simultaneous_starts_apply_each_step_exactly_once(database):
    # given a new database, when ten processes migrate it at the same moment
    results = all_at_once(migrate_with(database, "crm_test", [recording(1), recording(2)]))
    # then every one succeeds, and each step was applied by exactly one of them
    assert results == [2] * STARTS
    assert sorted(database.rows("SELECT version FROM applied")) == [(1,), (2,)]
    assert database.versions() == {"crm_test": [1, 2]}


def test_a_later_version_upgrades_an_existing_database_once(database):
    # given a database at version 1
    assert migrate_with(database, "crm_test", [recording(1)])() == 1
    # when ten processes of a later version, with one more step, start at once
    results = all_at_once(migrate_with(database, "crm_test", [recording(1), recording(2)]))
    # then the new step is applied once, the old one not again
    assert results == [2] * STARTS
    assert sorted(database.rows("SELECT version FROM applied")) == [(1,), (2,)]
    # and an older version started afterwards changes nothing
    assert migrate_with(database, "crm_test", [recording(1)])() == 2
    assert len(database.rows("SELECT version FROM applied")) == 2


def test_a_failing_run_keeps_nothing_and_the_next_start_applies_it(database):
    def failing(conn: Any) -> None:
        conn.execute("CREATE TABLE half_made (id INTEGER)")
        raise RuntimeError("the disk is full")

    # given a database at version 1, when a start's run of steps 2 and 3 fails in step 3
    migrate_with(database, "crm_test", [recording(1)])()
    with pytest.raises(RuntimeError):
        migrate_with(database, "crm_test", [recording(1), recording(2), migrations.Step(3, "fails", failing)])()
    # then nothing of that run is kept
    assert database.versions() == {"crm_test": [1]}
    assert database.rows("SELECT version FROM applied") == [(1,)]
    with pytest.raises(Exception, match="half_made"):
        database.rows("SELECT * FROM half_made")
    # and the next start applies it all
    assert migrate_with(database, "crm_test", [recording(1), recording(2), recording(3)])() == 3
    assert sorted(database.rows("SELECT version FROM applied")) == [(1,), (2,), (3,)]


def test_components_are_versioned_apart(database):
    assert migrate_with(database, "first", [recording(1), recording(2)])() == 2
    assert migrate_with(database, "second", [recording(1)])() == 1
    assert database.versions() == {"first": [1, 2], "second": [1]}


def test_steps_must_rise():
    with pytest.raises(ValueError):
        migrations.migrate(sqlite3.connect(":memory:"), "crm_test", [recording(2), recording(1)])


def test_every_schema_made_at_once_by_ten_processes_on_one_database(database):
    """The event store, the operational read model and the automations' positions, in one
    database as production may have them, all started at the same moment."""

    def start() -> None:
        store = CrmEventStore(database.store_url, pool_size=1)
        try:
            schema.ensure(OltpDatabase(database.url))
            conn = OltpDatabase(database.store_url).connect()
            try:
                positions.migrate(conn)  # the automations' positions, beside the events
            finally:
                conn.close()
        finally:
            store.close()

    all_at_once(start)
    versions = {schema.COMPONENT: [1, 2], positions.COMPONENT: [1]}
    if database.store_url == database.url:
        assert database.versions() == {**versions, EVENT_STORE: [1]}
    else:
        assert database.versions() == versions
        assert Database(database.store_url).versions() == {EVENT_STORE: [1], positions.COMPONENT: [1]}
    store = CrmEventStore(database.store_url, pool_size=1)
    try:
        created = CommandBus(store, CommandConfig(), HANDLERS).execute(CreateContact(name="Ada"), META)
        assert store.repository.get(created.id).name == "Ada"
    finally:
        store.close()


class _TablesAsBefore(Application):
    """The event store as eventcrm made it before versions were recorded: eventsourcing
    creating every table as it builds the recorders."""

    name = "eventcrm"
    is_snapshotting_enabled = True


def test_a_database_made_before_versions_were_recorded_is_adopted(database):
    # given the tables as the previous release made them, with an event, the relay's
    # position and the read model's generation
    old = _TablesAsBefore(env={**persistence_env(database.store_url, 1), "CREATE_TABLE": "yes"})
    old.recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "crm.contact.created.v1", b"{}")])
    old.factory.tracking_recorder().insert_tracking(Tracking("relay", 1))
    old.close()
    legacy = database.connect()
    try:
        positions.ensure(legacy)
        schema.steps(database.oltp)[0].apply(legacy)
        legacy.execute("INSERT INTO projection_generations VALUES ('oltp', 3)")
    finally:
        legacy.close()
    # when this version starts on it
    store = CrmEventStore(database.store_url, pool_size=1)
    try:
        schema.ensure(OltpDatabase(database.url))
        # then it records the versions and keeps what was there
        recorded = {**Database(database.store_url).versions(), **database.versions()}
        assert recorded == {EVENT_STORE: [1], schema.COMPONENT: [1, 2], positions.COMPONENT: [1]}
        assert store.factory.tracking_recorder().max_tracking_id("relay") == 1
        assert store.recorder.max_notification_id() == 1
        assert database.rows("SELECT projection, generation FROM projection_generations") == [("oltp", 3)]
        # and goes on working
        created = CommandBus(store, CommandConfig(), HANDLERS).execute(CreateContact(name="Ada"), META)
        assert created.position == 2
    finally:
        store.close()


def test_a_rebuild_hands_its_tables_version_to_the_live_tables(embedded):
    contact = embedded.commands.execute(CreateContact(name="Ada"), META).id
    embedded.projector("oltp").run_until_idle(timeout=0.05)
    rebuild(embedded, "oltp")
    database = Database(embedded.settings.oltp_url)
    assert database.versions() == {schema.COMPONENT: [1, 2], positions.COMPONENT: [1]}
    assert embedded.contact_queries.get(str(contact))["name"] == "Ada"


def test_waiting_for_another_start_has_a_deadline(postgres_dsn, monkeypatch):
    """A start that waits for a migration held elsewhere gives up after the deadline,
    rather than hanging."""
    monkeypatch.setattr(migrations, "LOCK_TIMEOUT_SECONDS", 1)
    holder = psycopg.connect(postgres_dsn, autocommit=True)
    try:
        migrate_with(Database(postgres_dsn), "crm_test", [recording(1)])()  # the table exists
        with holder.transaction():
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (migrations.lock_key("crm_test"),))
            with pytest.raises(psycopg.errors.LockNotAvailable):
                migrate_with(Database(postgres_dsn), "crm_test", [recording(1), recording(2)])()
    finally:
        holder.close()
