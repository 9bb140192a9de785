"""Poison on the production path (PostgreSQL event store and read model, Kafka, DuckDB).

The door now refuses every value below (tests/unit/test_door.py). An event store may still
hold such events, recorded before the door existed: here the door is opened on purpose to
record them, and every piece downstream must set aside what it cannot hold, with its
position, and let the next ordinary events through to Kafka and both read models."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

import commands.bus
from api.app import create_app
from commands.contact import ChangeContactDetails, CreateContact, RecordInteraction
from domain.meta import Meta
from streams.deadletters import read_topic

META = Meta("t", "poison", "poison")


def _drain(container) -> None:
    relay = container.relay()
    while relay.publish_pending():
        pass
    for name in ("oltp", "olap"):
        container.projector(name).run_until_idle(timeout=0.5)


def _subjects_on_kafka(container, topic: str) -> list[str]:
    consumer = container.kafka_clients.consumer(
        container.topic_for(topic),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        return [r.key.decode() for r in consumer]
    finally:
        consumer.close()


def test_events_no_store_can_hold_are_dead_lettered_and_the_next_ones_flow(production, monkeypatch):
    bus = production.commands
    before = bus.execute(CreateContact(name="Before"), META).id
    monkeypatch.setattr(commands.bus, "check_storable", lambda *_: None)
    poisons = {
        "nul in the name": bus.execute(CreateContact(name="Nul\x00Name"), META).id,
        "nul in the owner": bus.execute(CreateContact(name="Owner", owner="o\x00wner"), META).id,
        "nul in a tag": bus.execute(CreateContact(name="Tag", tags=("t\x00g",)), META).id,
    }
    dated = bus.execute(CreateContact(name="Dated"), META).id
    bus.execute(RecordInteraction(dated, "page_visited", datetime(9999, 12, 31, 23, 0, tzinfo=UTC)), META)
    huge = bus.execute(CreateContact(name="Huge"), META).id
    oversized = bus.execute(RecordInteraction(huge, "form_submitted", details={"answer": "x" * 1_500_000}), META)
    details = bus.execute(ChangeContactDetails(before, {"title": "ti\x00tle"}), META)
    monkeypatch.undo()
    after = bus.execute(CreateContact(name="After", tags=("vip",)), META).id

    _drain(production)

    on_kafka = _subjects_on_kafka(production, "contact")
    assert str(after) in on_kafka and str(before) in on_kafka
    assert production.contact_queries.get(str(after))["name"] == "After"
    warehouse = production.olap.cursor()
    assert warehouse.execute(
        "SELECT count(*) FROM dim_contact WHERE contact_id = ? AND is_current", [str(after)]
    ).fetchone() == (1,)

    letters = read_topic(production.kafka_clients, production.dead_letter_topic)
    by_piece: dict[str, set[str]] = {}
    for letter in letters:
        by_piece.setdefault(letter["projection"], set()).add(letter["key"])
    # The broker refused the 1.5 MB event for good: the relay set it aside with its position.
    relay_letters = [x for x in letters if x["projection"] == "relay"]
    assert [(x["key"], x["offset"], x["version"]) for x in relay_letters] == [(str(huge), oversized.position, 2)]
    assert relay_letters[0]["error"].startswith("MessageSizeTooLargeError"), relay_letters[0]["error"]
    assert relay_letters[0]["value_bytes"] > 1_500_000 and len(relay_letters[0]["value"]) <= 64 * 1024
    # PostgreSQL text holds no NUL: the operational projection set each of those aside.
    assert {str(i) for i in poisons.values()} | {str(before)} <= by_piece["oltp"]
    oltp_errors = [x["error"] for x in letters if x["projection"] == "oltp"]
    assert oltp_errors and all("0x00" in e or "\\u0000" in e for e in oltp_errors), oltp_errors
    # The warehouse cannot compute with a day at the end of year 9999.
    assert str(dated) in by_piece["olap"]
    # Everything else was projected: the contact before, with its later title change refused.
    assert details.version == 2 and production.contact_queries.get(str(before))["version"] == 1

    # Kafka misses the dead-lettered event on purpose: the verification says so, and the
    # chain after it still checks out.
    bus.execute(RecordInteraction(huge, "page_visited", datetime(2026, 3, 1, tzinfo=UTC)), META)
    _drain(production)
    verdict = production.verify(kafka=True)
    assert verdict.clean, verdict.findings
    assert [(n.kind, n.aggregate, n.version) for n in verdict.notes] == [("dead_lettered", str(huge), 2)]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"name": "Ada\\u0000"}', "invalid_text"),
        ('{"name": "Ada", "tags": ["ok", "\\ud800"]}', "invalid_text"),
        ('{"name": "Ada", "owner": "o\\u0000"}', "invalid_text"),
    ],
)
def test_the_api_refuses_them_at_the_door_and_records_nothing(embedded, body, code):
    client = TestClient(create_app(embedded), headers={"X-Actor": "ana", "content-type": "application/json"})
    answer = client.post("/v1/contacts", content=body)
    assert answer.status_code == 422 and answer.json()["code"] == code, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert (embedded.store.recorder.max_notification_id() or 0) == 0


def test_the_api_refuses_far_dates_and_bodies_too_large_for_an_event(embedded):
    client = TestClient(create_app(embedded), headers={"X-Actor": "ana"})
    contact = client.post("/v1/contacts", json={"name": "Ada"}).json()["id"]
    recorded = embedded.store.recorder.max_notification_id()

    far = client.post(
        f"/v1/contacts/{contact}/interactions", json={"type": "page_visited", "occurred_at": "9999-12-31T23:00:00Z"}
    )
    assert far.status_code == 422 and far.json()["code"] == "date_out_of_range", far.text

    big = {"type": "form_submitted", "details": {"answer": "x" * 300_000}}
    too_big = client.post(f"/v1/contacts/{contact}/interactions", json=big)
    assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large", too_big.text

    huge = {"type": "form_submitted", "details": {"answer": "x" * 2_000_000}}
    refused_unread = client.post(f"/v1/contacts/{contact}/interactions", json=huge)
    assert refused_unread.status_code == 413 and refused_unread.json()["code"] == "payload_too_large"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"x" * 65_536

    streamed = client.post(
        f"/v1/contacts/{contact}/interactions", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413 and streamed.json()["code"] == "payload_too_large"
    assert embedded.store.recorder.max_notification_id() == recorded
