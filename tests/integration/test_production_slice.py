"""The walking skeleton on the real servers: HTTP → PostgreSQL event store → relay →
Kafka → projectors → PostgreSQL and DuckDB."""

from __future__ import annotations

import json
from collections import defaultdict
from uuid import UUID

from fastapi.testclient import TestClient
from kafka import KafkaConsumer

from api.app import create_app
from tests.integration.slice import drive


def read_topic(bootstrap: str, topic: str, expected: int) -> list:
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    records = []
    for _ in range(60):
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
        if len(records) >= expected:
            break
    consumer.close()
    return records


def test_contacts_flow_through_kafka_into_both_read_models(production):
    expected = drive(production)
    relay = production.relay()
    published = 0
    while n := relay.publish_pending():
        published += n
    assert published == expected.events
    assert relay.position == expected.last_position

    # Kafka holds CloudEvents keyed by contact id, each contact's in version order.
    topic = production.topic_for("contact")
    records = read_topic(production.settings.kafka_bootstrap, topic, expected.events)
    assert len(records) == expected.events
    by_key = defaultdict(list)
    partitions_of = defaultdict(set)
    for record in records:
        event = json.loads(record.value)
        assert record.key.decode() == event["subject"]
        assert dict(record.headers)["content-type"] == b"application/cloudevents+json"
        assert event["specversion"] == "1.0" and event["source"] == "/eventcrm/contact"
        by_key[event["subject"]].append(event)
        partitions_of[event["subject"]].add(record.partition)
    assert set(by_key) == set(expected.versions)
    for subject, events in by_key.items():
        assert [e["sequence"] for e in events] == list(range(1, expected.versions[subject] + 1))
        assert len(partitions_of[subject]) == 1
        assert events[0]["type"] == "crm.contact.created.v1"
        assert events[-1]["actor"] == "boss"

    for name in ("oltp", "olap"):
        assert production.projector(name).run_until_idle(timeout=1.0) == expected.events

    # The OLTP rows agree with the events, and the API serves them.
    client = TestClient(create_app(production))
    for cid, version in expected.versions.items():
        got = client.get(f"/v1/contacts/{cid}")
        assert got.status_code == 200, got.text
        row = got.json()
        assert (row["version"], row["lead_score"], row["owner"]) == (
            version,
            expected.scores[cid],
            expected.owners[cid],
        )
        assert row["tags"] == ["trial"]
        assert got.headers["ETag"] == f'"{version}"'

    # The DuckDB facts agree with the events, one row each.
    olap = production.olap.cursor()
    rows = olap.execute(
        "SELECT subject, sequence, type, points, lead_score FROM events ORDER BY subject, sequence"
    ).fetchall()
    assert len(rows) == expected.events
    for subject, events in by_key.items():
        mine = [r for r in rows if r[0] == UUID(subject)]
        assert [(r[1], r[2]) for r in mine] == [(e["sequence"], e["type"]) for e in events]
        assert max(r[4] or 0 for r in mine) == expected.scores[subject]
    assert olap.execute("SELECT count(*) FROM events WHERE data LIKE '%example.com%'").fetchone() == (0,)
