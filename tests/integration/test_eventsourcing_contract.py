"""What the event store takes from eventsourcing beyond its public API, checked on SQLite
and PostgreSQL, so that a new version of the library cannot change it silently.

eventsourcing has no public hook for statements in the events' own transaction:
``commands/recorders.py`` overrides its recorders' private steps ``_insert_events`` and
``_fetch_ids_after_insert_events`` (the idempotency answers and the erasure of personal-data
keys are written with the events, or not at all). ``commands/tables.py`` creates the
recorders' tables itself, under the migration lock, from their own statements; and
``replay/reading.py`` reads the events table with SQL of its own where the recorder has no
query (an aggregate's events with their positions; the creation events naming a contact).
Everything else goes through public extension points: the recorder classes through the
factory's ``APPLICATION_RECORDER_TOPIC``, the mapper and transcodings, ``Application.save``.

So eventsourcing is pinned to one exact version. Whoever moves the pin runs these tests
against the new version first: each says what the store relies on.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re
import sqlite3
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Recording, Tracking
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

from commands.privacy import is_sealed, owner_of
from commands.recorders import IdempotencyClaim, PostgresCommandRecorder, SQLiteCommandRecorder
from commands.store import CrmEventStore, persistence_env
from domain.case import Case
from domain.contact import Contact
from domain.deal import Deal
from domain.integrity import GENESIS
from domain.meta import Meta
from domain.pipeline import Pipeline, Stage
from domain.scoring import ScoringRules
from domain.sla import SlaPolicy
from replay.reading import EventReader

#: The version every check below was written against (pyproject.toml and requirements.txt pin it).
PINNED = "9.5.6"
ROOT = Path(__file__).resolve().parents[2]
META = Meta("contract", "contract-correlation", "contract-cause")

#: The tables the store's processes use, by the names eventsourcing gives them (a store
#: that found other names would start empty beside the data it has).
TABLES = {
    "sqlite": {
        "stored_events": {"originator_id", "originator_version", "topic", "state"},
        "stored_snapshots": {"originator_id", "originator_version", "topic", "state"},
        "tracking": {"application_name", "notification_id"},
        "command_log": {"idempotency_key", "fingerprint", "response", "position"},
        "personal_keys": {"contact_id", "key"},
    },
    "postgresql": {
        "eventcrm_events": {"originator_id", "originator_version", "topic", "state", "notification_id"},
        "eventcrm_snapshots": {"originator_id", "originator_version", "topic", "state"},
        "eventcrm_tracking": {"application_name", "notification_id"},
        "eventcrm_command_log": {"idempotency_key", "fingerprint", "response", "position"},
        "eventcrm_personal_keys": {"contact_id", "key"},
    },
}


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgresql":
        return str(request.getfixturevalue("postgres_dsn"))
    return f"sqlite:///{tmp_path / 'events.sqlite'}"


@pytest.fixture
def store(url: str) -> Iterator[CrmEventStore]:
    store = CrmEventStore(url)
    yield store
    store.close()


def _positions(recordings: list[Recording[Any]]) -> list[int]:
    return [r.notification.id for r in recordings]


def _new_person(store: CrmEventStore, name: str = "Ada Lovelace") -> Contact:
    contact = Contact.create(name=name, email="ada@example.com", meta=META)
    store.save(contact)
    return contact


# -- the pin ---------------------------------------------------------------------------------


def test_eventsourcing_is_pinned_to_the_version_this_contract_was_checked_against():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    [wanted] = [d for d in dependencies if re.match(r"eventsourcing\b", d)]
    locked = re.search(r"^eventsourcing==(\S+)", (ROOT / "requirements.txt").read_text(), re.M)
    assert wanted == f"eventsourcing[postgres]=={PINNED}", "an exact pin, not a range"
    assert locked is not None and locked.group(1) == PINNED
    assert importlib.metadata.version("eventsourcing") == PINNED, (
        "eventsourcing moved: check what this file checks against the new version, then move PINNED"
    )


# -- the recorders' private steps ------------------------------------------------------------


@pytest.mark.parametrize(
    ("library_class", "step"),
    [
        (SQLiteApplicationRecorder, "_insert_events"),
        (PostgresApplicationRecorder, "_insert_events"),
        (PostgresApplicationRecorder, "_fetch_ids_after_insert_events"),
    ],
)
def test_the_private_steps_the_recorders_override_keep_their_names_and_signatures(library_class, step):
    """Called positionally as (cursor, stored events) with the keyword arguments of ``save``."""
    method = getattr(library_class, step)  # gone or renamed: our override would be dead code
    kinds = [p.kind for p in inspect.signature(method).parameters.values()]
    assert kinds == [inspect.Parameter.POSITIONAL_OR_KEYWORD] * 3 + [inspect.Parameter.VAR_KEYWORD]
    for ours in (SQLiteCommandRecorder, PostgresCommandRecorder):
        if issubclass(ours, library_class) and step in vars(ours):
            assert [p.kind for p in inspect.signature(getattr(ours, step)).parameters.values()] == kinds


def test_the_factory_builds_our_recorders_and_calls_their_steps_once_per_save_with_its_kwargs(
    store: CrmEventStore, backend: str, monkeypatch: pytest.MonkeyPatch
):
    recorder = store.recorder
    assert type(recorder) is {"sqlite": SQLiteCommandRecorder, "postgresql": PostgresCommandRecorder}[backend]
    # eventsourcing's own insert function (POSTGRES_ENABLE_DB_FUNCTIONS) would skip the steps.
    assert not getattr(recorder.datastore, "enable_db_functions", False)
    steps = {"sqlite": ["_insert_events"], "postgresql": ["_insert_events", "_fetch_ids_after_insert_events"]}
    calls: list[tuple[str, int, dict[str, Any], Any]] = []
    for step in steps[backend]:
        original = getattr(recorder, step)

        def spy(cursor: Any, stored_events: Any, _step: str = step, _original: Any = original, **kwargs: Any) -> Any:
            answer = _original(cursor, stored_events, **kwargs)
            calls.append((_step, len(stored_events), kwargs, answer))
            return answer

        monkeypatch.setattr(recorder, step, spy)
    person = _new_person(store)
    calls.clear()
    contact = Contact.create(name="Grace Hopper", meta=META)
    contact.change_details({"title": "Rear Admiral"}, META)
    claim = IdempotencyClaim("contract-kwargs", "print", {"id": str(contact.id)})

    recordings = store.save(contact, idempotency=[claim], erase_keys=[person.id])

    assert [c[0] for c in calls] == steps[backend]
    for _, count, kwargs, _ in calls:
        assert count == 2
        assert kwargs["idempotency"] == [claim] and kwargs["erase_keys"] == [person.id]
    # The step that answers ids answers the events' notification ids, in the events' order.
    assert list(calls[-1][3]) == _positions(recordings)


def test_the_extra_rows_are_committed_with_the_events_at_the_events_positions(store: CrmEventStore):
    person = _new_person(store)
    assert store.command_log.personal_key(person.id, create=False) is not None
    first, second = Contact.create(name="Alan Turing", meta=META), Contact.create(name="Joan Clarke", meta=META)
    second.change_details({"title": "Cryptanalyst"}, META)
    claims = [
        IdempotencyClaim("contract-first", "f1", {"n": 1}, last_event=0),
        IdempotencyClaim("contract-second", "f2", {"n": 2}, last_event=-1),
    ]

    recordings = store.save(first, second, idempotency=claims, erase_keys=[person.id])

    positions = _positions(recordings)
    assert positions == sorted(positions) and len(set(positions)) == 3
    notifications = store.recorder.select_notifications(positions[0], 3)
    assert [(n.id, n.originator_id, n.originator_version) for n in notifications] == [
        (p, r.domain_event.originator_id, r.domain_event.originator_version)
        for p, r in zip(positions, recordings, strict=True)
    ]
    answers = [store.command_log.find_answer(c.key) for c in claims]
    assert [(a.fingerprint, a.response, a.position) for a in answers if a] == [
        ("f1", {"n": 1}, positions[0]),
        ("f2", {"n": 2}, positions[-1]),
    ]
    assert store.command_log.personal_key(person.id, create=False) is None


def test_refused_events_take_the_extra_rows_with_them(store: CrmEventStore):
    """A version conflict: the idempotency answer is not kept, the key is not erased."""
    person = _new_person(store)
    contact = _new_person(store, "Katherine Johnson")
    stale = store.repository.get(contact.id)
    contact.change_details({"title": "Mathematician"}, META)
    store.save(contact)
    before = store.recorder.max_notification_id()
    stale.change_details({"title": "Computer"}, META)

    with pytest.raises(IntegrityError):
        store.save(stale, idempotency=[IdempotencyClaim("contract-stale", "s", {})], erase_keys=[person.id])

    assert store.recorder.max_notification_id() == before
    assert store.command_log.find_answer("contract-stale") is None
    assert store.command_log.personal_key(person.id, create=False) is not None


def test_a_reused_idempotency_key_refuses_the_events_with_it(store: CrmEventStore):
    person = _new_person(store)
    store.save(Contact.create(name="Mary Somerville", meta=META), idempotency=[IdempotencyClaim("contract-k", "a", {})])
    before = store.recorder.max_notification_id()
    late = Contact.create(name="Emmy Noether", meta=META)

    with pytest.raises(IntegrityError):
        store.save(late, idempotency=[IdempotencyClaim("contract-k", "b", {})], erase_keys=[person.id])

    assert store.recorder.max_notification_id() == before
    assert store.recorder.select_events(late.id) == []
    assert store.command_log.find_answer("contract-k").fingerprint == "a"
    assert store.command_log.personal_key(person.id, create=False) is not None


# -- Application.save, as the store extends it ------------------------------------------------


@pytest.mark.parametrize("shape", ["aggregates", "events then aggregates"])
def test_save_takes_aggregates_or_their_collected_events_alike(store: CrmEventStore, shape: str):
    """``Application.save`` collects the pending events of aggregates and takes events as
    they are (group commit passes the events it collected, then their aggregates): either
    way they are sealed under their person's key, chained, snapshotted, and announced once."""
    saved: list[int] = []
    store.on_saved(lambda: saved.append(1))
    rules = ScoringRules()
    contact = Contact.create(name="Hedy Lamarr", email="hedy@example.com", meta=META)
    for _ in range(99):  # the 100th version is snapshotted
        contact.record_interaction("page_visited", datetime.now(UTC), {"note": "hello"}, rules, META)
    case = Case.open(
        contact_id=contact.id,
        subject="Frequency hopping",
        priority="normal",
        channel="email",
        policy=SlaPolicy(),
        at=datetime.now(UTC),
        meta=META,
    )
    objects: list[Any] = [contact, case]
    if shape == "events then aggregates":
        objects = [*contact.collect_events(), *case.collect_events(), contact, case]

    recordings = store.save(*objects)

    assert len(recordings) == 101 and saved == [1]
    sealed = [store.read_sealed(n) for n in store.recorder.select_notifications(None, 200)]
    created, chain = sealed[0]
    assert is_sealed(created.name) and owner_of(created.name) == contact.id
    assert chain is not None and chain["prev"] == GENESIS
    (opened, _) = sealed[-1]
    assert is_sealed(opened.subject) and owner_of(opened.subject) == contact.id  # the case's person
    heads = [c for e, c in sealed if e.originator_id == contact.id]
    assert all(b["prev"] == a["hash"] for a, b in zip(heads, heads[1:], strict=False))
    [snapshot] = store.snapshots.recorder.select_events(contact.id)
    assert snapshot.originator_version == 100 and b"Hedy" not in snapshot.state
    assert store.repository.get(contact.id).name == "Hedy Lamarr"


# -- the tables: created by commands/tables.py, read by replay/reading.py ----------------------


def _columns(store: CrmEventStore, backend: str) -> dict[str, set[str]]:
    datastore = store.factory.datastore
    if backend == "sqlite":
        conn = sqlite3.connect(datastore.pool.db_name)
        try:
            names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {n: {row[1] for row in conn.execute(f"PRAGMA table_info({n})")} for n in names}
        finally:
            conn.close()
    with datastore.transaction(commit=False) as curs:
        curs.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s",
            (datastore.schema,),
        )
        found: dict[str, set[str]] = {}
        for row in curs.fetchall():
            found.setdefault(row["table_name"], set()).add(row["column_name"])
        return found


def test_the_tables_have_the_names_and_columns_the_store_reads(store: CrmEventStore, backend: str):
    found = _columns(store, backend)
    for table, columns in TABLES[backend].items():
        assert columns <= found.get(table, set()), f"{table}: {found.get(table)}"


def test_with_create_table_off_eventsourcing_creates_no_table(url: str, backend: str):
    """``commands/tables.py`` relies on it: the tables are made once, under its lock."""
    app = Application(env={**persistence_env(url), "CREATE_TABLE": "no", "IS_SNAPSHOTTING_ENABLED": "y"})
    try:
        app.factory.tracking_recorder()
        datastore = app.factory.datastore
        if backend == "sqlite":
            conn = sqlite3.connect(datastore.pool.db_name)
            try:
                assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []
            finally:
                conn.close()
        else:
            with psycopg.connect(url) as conn:
                assert conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall() == []
    finally:
        app.close()


def test_the_store_reaches_the_datastore_its_tables_are_created_through(store: CrmEventStore, url: str, backend: str):
    datastore = store.factory.datastore
    if backend == "sqlite":
        assert isinstance(datastore, SQLiteDatastore)
        assert datastore.pool.db_name == persistence_env(url)["SQLITE_DBNAME"]  # its file, for our connection
        for recorder in (store.recorder, store.snapshots.recorder, store.factory.tracking_recorder()):
            statements = recorder.create_table_statements  # what its create_table() runs
            assert statements and all(isinstance(s, str) for s in statements)
    else:
        assert isinstance(datastore, PostgresDatastore)
        assert callable(datastore.register_type_adapters)
    assert store.recorder.datastore is datastore


def test_a_store_started_after_the_tables_exist_records_and_tracks(store: CrmEventStore, url: str):
    """Its creation step is skipped (already applied), so nothing of eventsourcing's
    create_table() runs in it: on PostgreSQL the events' composite type is registered by
    ``commands/tables.py`` alone; on SQLite the tracking table has no marker row."""
    store.save(Contact.create(name="First", meta=META))
    second = CrmEventStore(url)
    try:
        [recording] = second.save(Contact.create(name="Second", meta=META))
        assert recording.notification.id == second.recorder.max_notification_id()
        tracking = second.factory.tracking_recorder()
        tracking.insert_tracking(Tracking("relay", recording.notification.id))
        assert tracking.max_tracking_id("relay") == recording.notification.id
    finally:
        second.close()


def test_the_audit_reads_the_events_table_as_select_notifications_does(store: CrmEventStore):
    """``replay/reading.py``: an aggregate's events with their positions, and the deals and
    cases of a contact, answered by its own SQL exactly as the public queries answer them."""
    pipeline = Pipeline.create(name="Sales", stages=[Stage("qualify", "Q", 0.1)], meta=META)
    store.save(pipeline)
    people = [_new_person(store, name) for name in ("Ada", "Grace", "Hedy")]
    owned: dict[UUID, list[UUID]] = {p.id: [] for p in people}
    for round_ in range(3):
        for person in people:
            deal = Deal.create(
                pipeline=pipeline, title=f"deal {round_}", contact_id=person.id, at=datetime.now(UTC), meta=META
            )
            case = Case.open(
                contact_id=person.id,
                subject=f"case {round_}",
                priority="normal",
                channel="email",
                policy=SlaPolicy(),
                at=datetime.now(UTC),
                meta=META,
            )
            contact = store.repository.get(person.id)
            contact.change_details({"title": f"title {round_}"}, META)
            store.save(deal, contact, case)
            owned[person.id] += [deal.id, case.id]
    log = list(store.recorder.select_notifications(None, 1000))
    reader = EventReader(store, page=2)  # pages of two: paging is exercised too

    def fields(n: Any) -> tuple[Any, ...]:
        return (n.id, n.originator_id, n.originator_version, n.topic, n.state)

    for aggregate_id in [pipeline.id, *owned, *(a for ids in owned.values() for a in ids)]:
        expected = [fields(n) for n in log if n.originator_id == aggregate_id]
        assert [fields(n) for n in reader.notifications_of(aggregate_id, len(expected))] == expected
        assert reader.position_of(aggregate_id, len(expected)) == expected[-1][0]
    for person_id, ids in owned.items():
        assert reader.owned_by_contact(person_id) == reader.scan_owned_by_contact(person_id) == ids
    assert reader.owned_by_contact(uuid4()) == []
