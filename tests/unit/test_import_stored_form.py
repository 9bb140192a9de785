"""An imported batch's events are stored in the very form the store's mapper gives them:
given a contact's events (its creation of a versioned event class among them, sealed and
chained as a batch has them), when the batch makes their stored form, then each is the
mapper's ``to_stored_event``, byte for byte, ``class_version`` included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from commands.chain import Chain
from commands.config import CommandConfig
from commands.handlers import HANDLERS
from commands.importing.batch import BatchImporter
from commands.importing.storage import storage_for
from commands.store import CrmEventStore
from domain.contact import Contact
from domain.meta import Meta
from domain.scoring import ScoringRules

META = Meta("importer", "import:run", "import/crm/contact/C1")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[CrmEventStore]:
    opened = CrmEventStore(f"sqlite:///{tmp_path / 'events.sqlite'}")
    yield opened
    opened.close()


def contact_events() -> list[Any]:
    contact = Contact.create(
        name="Zoë Ñúñez", email="zoe@example.com", tags=("vip",), owner="ana", lifecycle_stage="lead", meta=META
    )
    contact.record_interaction("call", datetime(2025, 3, 1, 9, 30, tzinfo=UTC), {"note": "ok"}, ScoringRules(), META)
    contact.record_interaction("survey_answered", datetime.now(UTC), {"nps": 9}, ScoringRules(), META)
    events = list(contact.collect_events())
    Chain(lambda aggregate, version: None).link(events)
    return events


def test_the_stored_form_of_a_batch_is_the_mappers(store: CrmEventStore) -> None:
    importer = BatchImporter(store, storage_for(store), CommandConfig(), HANDLERS)
    events = contact_events()
    assert getattr(type(events[0]), "class_version", 1) > 1  # the versioned class is covered
    expected = [store.mapper.to_stored_event(event) for event in events]
    for _ in range(2):  # the first batch learns each class's topic, the next reuses it
        made = importer._stored(events)
        assert [(s.originator_id, s.originator_version, s.topic, s.state) for s in made] == [
            (s.originator_id, s.originator_version, s.topic, s.state) for s in expected
        ]
    assert b'"class_version":2' in made[0].state
