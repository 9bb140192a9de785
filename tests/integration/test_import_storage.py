"""The import's PostgreSQL storage reads what the store's own recorder reads: given
contacts recorded through the store, the events of many aggregates at once are, byte for
byte, the recorder's ``select_events``; the keys it reads or creates for many people are
the keys the recorder holds for them, the ones that existed kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from commands.importing.storage import PostgresBatchStorage, storage_for
from commands.store import CrmEventStore
from domain.contact import Contact
from domain.meta import Meta
from domain.scoring import ScoringRules

META = Meta("importer", "import:run", "import/crm/contact/C1")


@pytest.fixture
def store(postgres_dsn: str) -> Iterator[CrmEventStore]:
    opened = CrmEventStore(postgres_dsn, pool_size=2)
    yield opened
    opened.close()


@pytest.fixture
def storage(store: CrmEventStore) -> Iterator[PostgresBatchStorage]:
    made = storage_for(store)
    assert isinstance(made, PostgresBatchStorage)
    yield made
    made.close()


def recorded_contacts(store: CrmEventStore, count: int) -> list[Contact]:
    contacts = []
    for number in range(count):
        contact = Contact.create(name=f"Zoë {number}", email=f"z{number}@example.com", meta=META)
        for _ in range(number % 3):
            contact.record_interaction("call", datetime.now(UTC), {"note": "ok"}, ScoringRules(), META)
        store.save(contact)
        contacts.append(contact)
    return contacts


def test_the_events_of_many_aggregates_are_the_recorders(store: CrmEventStore, storage: PostgresBatchStorage) -> None:
    contacts = recorded_contacts(store, 12)
    nobody = uuid4()
    found = storage.events_of([c.id for c in contacts] + [nobody])
    assert nobody not in found
    assert set(found) == {c.id for c in contacts}
    for contact in contacts:
        expected = store.recorder.select_events(contact.id)
        assert [(e.originator_id, e.originator_version, e.topic, e.state) for e in found[contact.id]] == [
            (e.originator_id, e.originator_version, e.topic, bytes(e.state)) for e in expected
        ]
        assert all(type(e.state) is bytes for e in found[contact.id])
        assert all(e.originator_id is contact.id for e in found[contact.id])  # the caller's own id
    assert storage.existing([c.id for c in contacts] + [nobody]) == {c.id for c in contacts}


def test_the_keys_of_many_people_are_the_recorders(store: CrmEventStore, storage: PostgresBatchStorage) -> None:
    known = recorded_contacts(store, 4)  # their keys were made when their names were sealed
    before = {c.id: store.command_log.personal_key(c.id, create=False) for c in known}
    assert all(before.values())
    fresh = [uuid4() for _ in range(6)]
    owners = [c.id for c in known] + fresh
    keys = storage.personal_keys(owners, new=set(fresh[:3]) | {known[0].id})  # one "new" person had a key

    assert set(keys) == set(owners)
    assert {c.id: keys[c.id] for c in known} == before
    for owner in owners:
        assert keys[owner] == store.command_log.personal_key(owner, create=False)
        assert len(keys[owner]) == 32
    assert len(set(keys.values())) == len(owners)
    assert storage.personal_keys(owners, new=set(fresh)) == keys  # made once, then read
