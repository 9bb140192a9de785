"""Tamper evidence and erasure by crypto-shredding, on the real stores."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import psycopg
import pytest
from kafka import KafkaConsumer

from commands.case import OpenCase
from commands.contact import ChangeContactDetails, CreateContact, EraseContact, RecordInteraction
from crm import story
from domain.meta import Meta
from replay.verify import envelope_links, store_links, verify

META = Meta("auditor.test", "integrity", "integrity")
NAME, EMAIL, PHONE = "Zelda Quixote", "zelda.quixote@hyrule.example", "+31 6 1234 5678"


@pytest.fixture(params=["embedded", "production"])
def crm(request):
    return request.getfixturevalue(request.param)


def raw_sql(crm, sql: str, params: tuple = ()) -> list:
    if crm.settings.event_store:
        with psycopg.connect(crm.settings.event_store_url, autocommit=True) as conn:
            cur = conn.execute(sql.replace("stored_events", "eventcrm_events").replace("?", "%s"), params)
            return cur.fetchall() if cur.description else []
    import sqlite3

    conn = sqlite3.connect(crm.settings.data_dir / "events.sqlite", isolation_level=None)
    try:
        return conn.execute(sql.replace("notification_id", "rowid"), params).fetchall()
    finally:
        conn.close()


def test_a_clean_store_verifies_and_an_altered_and_a_deleted_event_are_named_by_position(crm):
    story.record_year(crm.commands.execute, contacts=6, seed=11)
    clean = verify(store_links(crm.store))
    assert clean.clean and clean.checked == crm.store.recorder.max_notification_id()

    interactions = raw_sql(
        crm,
        "SELECT notification_id, originator_id, originator_version FROM stored_events "
        "WHERE topic = 'crm.contact.interaction_recorded.v1' ORDER BY notification_id",
    )
    altered, deleted = interactions[3], interactions[10]
    assert altered[1] != deleted[1] or abs(altered[2] - deleted[2]) > 1
    state = raw_sql(crm, "SELECT state FROM stored_events WHERE notification_id = ?", (altered[0],))[0][0]
    forged = json.loads(bytes(state))
    forged["lead_score"] += 1000
    raw_sql(
        crm, "UPDATE stored_events SET state = ? WHERE notification_id = ?", (json.dumps(forged).encode(), altered[0])
    )
    raw_sql(crm, "DELETE FROM stored_events WHERE notification_id = ?", (deleted[0],))

    verdict = verify(store_links(crm.store))
    kinds = {(f.kind, f.position) for f in verdict.findings}
    assert ("altered", altered[0]) in kinds
    [missing] = [f for f in verdict.findings if f.kind == "missing"]
    assert missing.version == deleted[2] and missing.aggregate.replace("-", "") == str(deleted[1]).replace("-", "")
    # The hole is named by the positions around it, which enclose the deleted one.
    before, after = (int(p) for p in missing.detail.replace("position ", "").split("between ")[1].split(" and "))
    assert before < deleted[0] < after == missing.position
    assert len(verdict.findings) == 2


def test_erasure_leaves_no_readable_personal_data_anywhere_and_the_history_still_verifies(production):
    crm = production
    contact = crm.commands.execute(CreateContact(name=NAME, email=EMAIL, phone=PHONE), META).id
    crm.commands.execute(RecordInteraction(contact, "call", datetime.now(UTC), {"notes": f"called {NAME}"}), META)
    crm.commands.execute(ChangeContactDetails(contact, {"email": "z." + EMAIL}), META)
    crm.commands.execute(OpenCase(contact, f"{NAME} cannot log in"), META)
    relay = crm.relay()
    while relay.publish_pending():
        pass
    for name in ("oltp", "olap"):
        crm.projector(name).run_until_idle(timeout=0.3)
    assert crm.contact_queries.get(str(contact))["name"] == NAME  # readable before

    crm.commands.execute(EraseContact(contact, "GDPR article 17 request"), META)
    while relay.publish_pending():
        pass
    for name in ("oltp", "olap"):
        crm.projector(name).run_until_idle(timeout=0.3)

    secrets = [NAME, EMAIL, PHONE, "Zelda", "hyrule"]
    # The event store, every table of it.
    with psycopg.connect(crm.settings.event_store_url) as conn:
        tables = [t for (t,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        for table in tables:
            dump = " ".join(str(row) for row in conn.execute(f"SELECT * FROM {table}"))
            for states in conn.execute(f"SELECT * FROM {table}").fetchall():
                dump += " ".join(bytes(v).decode(errors="ignore") for v in states if isinstance(v, bytes | memoryview))
            assert not [s for s in secrets if s in dump], table
    # Kafka, every payload.
    consumer = KafkaConsumer(
        crm.topic_for("contact"),
        crm.topic_for("case"),
        group_id=None,
        bootstrap_servers=crm.settings.kafka_bootstrap,
        auto_offset_reset="earliest",
    )
    payloads = b""
    for _ in range(6):
        payloads += b"".join(r.value for rs in consumer.poll(timeout_ms=500).values() for r in rs)
    consumer.close()
    assert b"crm.contact.erased.v1" in payloads
    assert not [s for s in secrets if s.encode() in payloads]
    # The warehouse file.
    olap_bytes = crm.settings.olap_file.read_bytes()
    assert not [s for s in secrets if s.encode() in olap_bytes]
    assert not [
        s
        for s in secrets
        if s in " ".join(map(str, crm.olap.cursor().execute("SELECT COLUMNS(*)::VARCHAR FROM events").fetchall()))
    ]
    # History reads "[erased]" and still verifies end to end, in the store and on Kafka.
    contact_now = crm.store.repository.get(contact)
    assert (contact_now.name, contact_now.erased) == (None, True)
    assert verify(store_links(crm.store)).clean
    consumer = KafkaConsumer(
        crm.topic_for("contact"),
        group_id=None,
        bootstrap_servers=crm.settings.kafka_bootstrap,
        auto_offset_reset="earliest",
    )
    records = []
    for _ in range(6):
        records += [r for rs in consumer.poll(timeout_ms=500).values() for r in rs]
    consumer.close()
    assert verify(envelope_links((r.offset, r.value) for r in records)).clean


def test_the_verify_route_reports_a_clean_store_and_then_the_altered_event(embedded):
    from fastapi.testclient import TestClient

    from api.app import create_app

    contact = embedded.commands.execute(CreateContact(name="Ada"), META).id
    embedded.commands.execute(RecordInteraction(contact, "call", datetime.now(UTC)), META)
    client = TestClient(create_app(embedded))
    clean = client.get("/v1/audit/verify").json()
    assert (clean["clean"], clean["checked"], clean["findings"]) == (True, 2, [])
    [(position, state)] = raw_sql(
        embedded, "SELECT notification_id, state FROM stored_events WHERE originator_version = 2"
    )
    forged = json.loads(bytes(state))
    forged["interaction_type"] = "meeting"
    raw_sql(
        embedded,
        "UPDATE stored_events SET state = ? WHERE notification_id = ?",
        (json.dumps(forged).encode(), position),
    )
    verdict = client.get("/v1/audit/verify").json()
    assert verdict["clean"] is False
    assert [(f["kind"], f["position"]) for f in verdict["findings"]] == [("altered", position)]
