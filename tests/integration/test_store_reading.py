"""Reading the event store fast gives exactly what the plain path gives: the stream that
rebuilds from the store and embedded mode's projectors follow (``streams.log``), the relay's
records and the audits' log, against eventsourcing's ``select_notifications``, its mapper,
``from_domain_event`` and ``to_json``, on SQLite and on PostgreSQL. The store holds every
event type (sealed and chained), a year of activity through the commands, an erased person,
text beyond ASCII, floats, a first-release event that is upcast on read, and (on
PostgreSQL) a hole in the positions left by a refused insert."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from commands.contact import CreateContact, EraseContact, RecordInteraction
from crm import story
from crm.settings import Settings
from crm.wiring import Container
from domain.contact import Contact
from domain.meta import Meta
from domain.pipeline import Pipeline, Stage
from domain.scoring import ScoringRules
from replay.reading import EventReader
from streams.deadletters import FileDeadLetters
from streams.envelope import Envelope, from_domain_event
from streams.log import NotificationLogSource, StoredEvents
from streams.outbox import Outgoing, encode
from streams.records import Record
from streams.relay import Relay
from tests.every_event import every_event

META = Meta("t", "reading", "reading")
#: A first-release ``crm.contact.created.v1`` (no ``class_version``, no ``account_id``).
V1_CREATED = {
    "timestamp": {"_type_": "datetime_iso", "_data_": "2026-01-05T09:00:00+00:00"},
    "originator_topic": "crm.contact",
    "name": "Ada",
    "email": None,
    "phone": None,
    "company": None,
    "title": None,
    "tags": ["early"],
    "owner": "ana",
    "lifecycle_stage": "lead",
    "meta": {"_type_": "meta", "_data_": {"actor": "ana", "correlation_id": "c", "causation_id": "c"}},
}


@pytest.fixture(params=["sqlite", "postgresql"])
def container(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Container]:
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path / "data")
    else:
        dsn = request.getfixturevalue("postgres_dsn")
        settings = Settings(data_dir=tmp_path / "data", event_store=dsn, oltp_dsn=dsn)
    with Container(settings) as built:
        yield built


def fill(container: Container) -> uuid.UUID:
    """The store described above; answers the id of the upcast contact."""
    store = container.store
    store.save(*every_event())
    story.record_year(container.commands.execute, contacts=6, seed=5)
    execute = container.commands.execute
    erased = execute(CreateContact(name="Grace Hopper", email="grace@navy.example"), META).id
    execute(RecordInteraction(erased, "page_visited", datetime.now(UTC)), META)
    execute(EraseContact(erased), META)
    zoe = execute(CreateContact(name="Zoë Ångström ✓", email="zoe@example.com", tags=("naïve", "del\x7f")), META).id
    # Numbers the commands refuse at the door, recorded by the aggregate itself: stored
    # events older than today's limits may hold them.
    details = {"nps": 9, "score": 9.5, "big": 1e16, "note": "Grüße", "nested": [{"w": 0.25}], "n": 2**70}
    contact: Contact = store.repository.get(zoe)
    contact.record_interaction("survey_answered", datetime.now(UTC), details, ScoringRules(), META)
    store.save(contact)
    # A probability json writes with an exponent (and msgspec would not).
    store.save(Pipeline.create(name="Long shots", stages=[Stage("rare", "Rare", 1e-05)], meta=META))
    upcast = uuid.uuid4()
    store.recorder.insert_events([StoredEvent(upcast, 1, "crm.contact.created.v1", json.dumps(V1_CREATED).encode())])
    if container.settings.event_store_url.startswith("postgresql"):
        with pytest.raises(IntegrityError):  # the same version again: refused, its position never used
            store.recorder.insert_events([StoredEvent(upcast, 1, "crm.contact.created.v1", b"{}")])
    execute(RecordInteraction(upcast, "email_opened", datetime.now(UTC)), META)
    return upcast


def plain_records(container: Container) -> list[Record]:
    """Every stored event as the in-process stream made it before: eventsourcing's
    select_notifications, the mapper, the envelope and its JSON."""
    store, records, start = container.store, [], 0
    while batch := store.recorder.select_notifications(start, 100, inclusive_of_start=False):
        for n in batch:
            event, chain = store.read_sealed(n)
            envelope = from_domain_event(event, n.id, chain)
            records.append(Record("log", 0, n.id, envelope.subject.encode(), envelope.to_json(), envelope))
        start = batch[-1].id
    return records


def read_in_pages(container: Container, page: int) -> list[Record]:
    source = NotificationLogSource(container.store)
    source.start(dict)
    records: list[Record] = []
    while batch := source.poll(page, 0):
        records += batch
    assert source.caught_up()
    return records


def typed(value: Any) -> Any:
    """The value with the type of every part, so that 1 and 1.0, or True and 1, differ."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


def assert_same_envelopes(fast: Sequence[Envelope], plain: Sequence[Envelope]) -> None:
    for a, b in zip(fast, plain, strict=True):
        assert a == b
        assert typed(a.__dict__) == typed(b.__dict__), b.type
        assert list(a.data) == list(b.data), b.type  # the same order, so the same bytes
        assert a.time.utcoffset() == b.time.utcoffset()


@pytest.mark.parametrize("page", [7, 5000])
def test_the_log_stream_gives_the_plain_paths_records(container, page, monkeypatch):
    upcast = fill(container)
    took_the_plain_path: list[int] = []
    plain_path = StoredEvents.plain

    def counted(self: StoredEvents, row: Any) -> Any:
        took_the_plain_path.append(row.id)
        return plain_path(self, row)

    monkeypatch.setattr(StoredEvents, "plain", counted)
    fast = read_in_pages(container, page)
    monkeypatch.setattr(StoredEvents, "plain", plain_path)
    plain = plain_records(container)

    assert len(fast) == len(plain) > 200
    assert fast == plain  # position, key and the CloudEvent's bytes
    assert_same_envelopes([r.decoded() for r in fast], [r.decoded() for r in plain])
    # Only the first-release event needed eventsourcing's mapper: everything else was read once.
    [upcast_record] = [r for r in fast if r.offset in took_the_plain_path]
    assert upcast_record.decoded().subject == str(upcast)
    assert upcast_record.decoded().data["account_id"] is None
    # What the comparison covered: sealed personal fields, chains, text beyond ASCII, floats.
    assert not any(b"Grace Hopper" in r.value or b"grace@navy" in r.value for r in fast)
    assert sum(r.decoded().chainhash is not None for r in fast) == len(fast) - 1
    for written in (b"na\\u00efve", b"del\\u007f", b'"probability":1e-05'):
        assert any(written in r.value for r in fast), written


class Collecting:
    def __init__(self) -> None:
        self.published: list[Outgoing] = []

    def publish(self, records: Sequence[Outgoing]) -> list[tuple[Outgoing, Exception]]:
        self.published += records
        return []


class Held:
    term = 1

    def hold(self) -> bool:
        return True

    def close(self) -> None:
        pass


def test_the_relay_publishes_what_the_mapper_path_encodes(container, tmp_path):
    fill(container)
    publisher = Collecting()
    relay = Relay(container.store, publisher, FileDeadLetters(tmp_path / "dead.jsonl"), Held(), batch_size=50)  # type: ignore[arg-type]
    while relay.publish_pending():
        pass
    store = container.store
    expected = [encode(store, n) for n in store.recorder.select_notifications(None, 100_000)]
    assert publisher.published == expected
    assert relay.dead_lettered == 0


def test_the_audit_log_reads_every_stored_event_in_growing_pages(container):
    fill(container)
    recorder = container.store.recorder
    everything = list(recorder.select_notifications(None, 100_000))
    reader = EventReader(container.store, page=3)
    assert list(reader.log()) == everything
    middle = everything[len(everything) // 2].id
    assert list(reader.log(after=middle)) == [n for n in everything if n.id > middle]
