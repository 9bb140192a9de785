"""The event store: stable type names, upcasting of old event versions, snapshots."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from eventsourcing.persistence import StoredEvent

from commands.contact import CreateContact, RecordInteraction
from domain.contact import Contact
from domain.meta import Meta
from tests.integration.test_store_reading import V1_CREATED

META = Meta("ana", "corr", "cause")


def test_events_are_stored_under_their_stable_type_names(embedded):
    created = embedded.commands.execute(CreateContact(name="Ada"), META)
    [stored] = embedded.store.recorder.select_events(created.id)
    assert stored.topic == "crm.contact.created.v1"
    assert json.loads(stored.state)["class_version"] == 2


def test_a_contact_created_before_accounts_existed_is_read_back_as_the_current_version(embedded):
    """A v1 ``created`` event (as the first release stored it, without ``account_id``)
    is upcast on read: the aggregate, and what the relay publishes, carry account_id None."""
    contact_id = uuid.uuid4()
    v1_state = V1_CREATED  # as the first release stored it
    embedded.store.recorder.insert_events(
        [
            StoredEvent(
                originator_id=contact_id,
                originator_version=1,
                topic="crm.contact.created.v1",
                state=json.dumps(v1_state).encode(),
            )
        ]
    )
    contact = embedded.store.repository.get(contact_id)
    assert (contact.name, contact.account_id, contact.tags) == ("Ada", None, ["early"])
    [notification] = embedded.store.recorder.select_notifications(start=1, limit=1)
    event = embedded.store.mapper.to_domain_event(notification)
    assert isinstance(event, Contact.Created) and event.account_id is None
    # And the contact goes on living with current events.
    embedded.commands.execute(RecordInteraction(contact_id, "email_opened", datetime.now(UTC)), META)
    assert embedded.store.repository.get(contact_id).lead_score == 10


def test_long_contact_histories_load_from_a_snapshot_equal_to_a_plain_replay(embedded):
    created = embedded.commands.execute(CreateContact(name="Busy"), META)
    for _ in range(249):
        embedded.commands.execute(RecordInteraction(created.id, "page_visited", datetime.now(UTC)), META)
    snapshots = list(embedded.store.snapshots.get(created.id))
    assert [s.originator_version for s in snapshots] == [100, 200]
    from_snapshot = embedded.store.repository.get(created.id)
    replayed = None
    for event in embedded.store.events.get(created.id):
        replayed = event.mutate(replayed)
    assert from_snapshot.version == replayed.version == 250
    assert from_snapshot.__dict__ == replayed.__dict__
