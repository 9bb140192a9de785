"""Pooled connections that died with the server (a restart, a terminated backend) are
noticed as the pool lends them, without a query; a connection that dies after it was
lent makes the save try again on another, and the command is recorded exactly once.
A command that lost its race to one this process recorded is refused without a
transaction, and the rest of its group is recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from commands.bus import CommandBus
from commands.config import CommandConfig
from commands.contact import CreateContact, RecordInteraction
from commands.group_commit import _Request
from commands.handlers import HANDLERS
from commands.store import CrmEventStore
from domain.meta import Meta
from replay.verify import store_links, verify

META = Meta("ana", "corr", "cause")


def _terminate(dsn: str, pids: list[int]) -> None:
    with psycopg.connect(dsn, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


def _terminate_all(dsn: str) -> list[int]:
    """Ends every other connection to the test's database, as a server restart would."""
    with psycopg.connect(dsn, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    pids = [row[0] for row in rows]
    _terminate(dsn, pids)
    return pids


def _stored_versions(dsn: str, contact_id: UUID) -> list[int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT originator_version FROM eventcrm_events WHERE originator_id = %s ORDER BY 1", (contact_id,)
        ).fetchall()
    return [row[0] for row in rows]


@pytest.fixture
def bus(postgres_dsn: str):
    store = CrmEventStore(postgres_dsn, pool_size=2, idle=2)
    yield CommandBus(store, CommandConfig(), HANDLERS)
    store.close()


def test_a_pooled_connection_killed_while_idle_is_replaced_before_it_is_used(bus, postgres_dsn):
    store = bus.store
    bus.execute(CreateContact(name="Ada"), META)
    dead = _terminate_all(postgres_dsn)
    assert dead

    # The datastore's own connection, without eventsourcing's retries: the first statement
    # on a dead connection would fail.
    with store.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
        assert conn.execute("SELECT 1").fetchone() is not None
        assert conn.info.backend_pid not in dead


def test_a_command_after_the_pool_died_is_recorded_once_and_a_retry_with_its_key_adds_nothing(bus, postgres_dsn):
    contact_id = bus.execute(CreateContact(name="Grace"), META).id
    assert _terminate_all(postgres_dsn)

    command = RecordInteraction(contact_id, "email_opened", datetime.now(UTC))
    first = bus.execute(command, META, idempotency_key="after-the-restart")
    again = bus.execute(command, META, idempotency_key="after-the-restart")

    assert first.version == 2 and not first.repeated
    assert again.repeated and (again.version, again.position) == (first.version, first.position)
    assert _stored_versions(postgres_dsn, contact_id) == [1, 2]
    assert verify(store_links(bus.store)).clean


def test_a_connection_that_dies_inside_the_save_makes_it_try_again_and_record_once(bus, postgres_dsn):
    contact_id = bus.execute(CreateContact(name="Hedy"), META).id
    recorder = bus.store.recorder
    insert_events, killed = recorder._insert_events, []

    def dies_in_the_transaction(curs, stored_events, **kwargs):
        if not killed:  # the first try: the connection dies before its events are sent
            killed.append(curs.connection.info.backend_pid)
            _terminate(postgres_dsn, killed)
        return insert_events(curs, stored_events, **kwargs)

    recorder._insert_events = dies_in_the_transaction
    try:
        command = RecordInteraction(contact_id, "call", datetime.now(UTC))
        answer = bus.execute(command, META, idempotency_key="dropped")
    finally:
        del recorder._insert_events

    assert killed, "the save did not run"
    assert answer.version == 2 and not answer.repeated
    assert _stored_versions(postgres_dsn, contact_id) == [1, 2]
    assert bus.execute(command, META, idempotency_key="dropped").repeated
    assert bus.execute(RecordInteraction(contact_id, "call", datetime.now(UTC)), META).version == 3
    assert _stored_versions(postgres_dsn, contact_id) == [1, 2, 3]
    assert verify(store_links(bus.store)).clean


def test_a_command_that_lost_its_race_in_this_process_is_refused_without_a_transaction(bus, postgres_dsn):
    contacts = [bus.execute(CreateContact(name=f"P{i}"), META).id for i in range(4)]
    rules = bus.config.scoring_rules
    stale = bus.store.repository.get(contacts[0])  # loaded at version 1 ...
    bus.execute(RecordInteraction(contacts[0], "page_visited", datetime.now(UTC)), META)  # ... which moves on
    stale.record_interaction("call", datetime.now(UTC), {}, rules, META)
    fresh = [bus.store.repository.get(c) for c in contacts[1:]]
    for contact in fresh:
        contact.record_interaction("call", datetime.now(UTC), {}, rules, META)
    group = [_Request([stale], None), *(_Request([c], None) for c in fresh)]
    before = bus.committer.transactions

    bus.committer._commit(group)

    assert isinstance(group[0].error, IntegrityError) and group[0].done
    assert all(r.done and r.error is None and len(r.recordings) == 1 for r in group[1:])
    assert bus.committer.transactions - before == 1  # the three fresh ones together; none for the stale one
    assert _stored_versions(postgres_dsn, contacts[0]) == [1, 2]
    for contact_id in contacts[1:]:
        assert _stored_versions(postgres_dsn, contact_id) == [1, 2]
    # Alone too: the error the database would have raised (the bus answers it as a conflict).
    loser = bus.store.repository.get(contacts[1], version=1)
    loser.record_interaction("call", datetime.now(UTC), {}, rules, META)
    with pytest.raises(IntegrityError):
        bus.committer.save(loser)
    assert bus.committer.transactions - before == 1
    assert verify(store_links(bus.store)).clean
