"""A rebuilt read model equals the live one row for row; readers are never interrupted;
the live projector carries on after the switch."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from api.app import create_app
from commands.contact import CreateContact, RecordInteraction
from crm import story
from crm.rebuilding import rebuild
from domain.meta import Meta

META = Meta("t", "rebuild", "rebuild")


def oltp_rows(container) -> dict[str, list[tuple]]:
    tables = container.writer("oltp").tables()
    with container.oltp.reading() as conn:
        return {t: sorted(map(tuple, conn.execute(f"SELECT * FROM {t}").fetchall()), key=repr) for t in tables}


def olap_rows(container) -> dict[str, list[tuple]]:
    cursor = container.olap.cursor()
    tables = [
        t
        for (t,) in cursor.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
            "AND table_name NOT IN ('projection_positions', 'projection_generations')"
        ).fetchall()
    ]
    return {t: sorted(map(tuple, cursor.execute(f"SELECT COLUMNS(*)::VARCHAR FROM {t}").fetchall())) for t in tables}


def catch_up(container) -> None:
    if container.settings.uses_kafka:
        relay = container.relay()
        while relay.publish_pending():
            pass
    for name in ("oltp", "olap"):
        container.projector(name).run_until_idle(timeout=0.3)


def test_rebuilt_read_models_equal_the_live_ones_and_the_live_projector_carries_on(embedded):
    story.record_year(embedded.commands.execute, contacts=20, seed=5)
    live_oltp, live_olap = embedded.projector("oltp"), embedded.projector("olap")
    live_oltp.run_until_idle(timeout=0.05)
    live_olap.run_until_idle(timeout=0.05)
    before = oltp_rows(embedded), olap_rows(embedded)
    assert sum(map(len, before[0].values())) > 100 and sum(map(len, before[1].values())) > 100

    seen = []
    report = rebuild(embedded, "oltp", progress=lambda done, expected: seen.append((done, expected)))
    assert (report.replayed_from, report.generation) == ("the event store", 1)
    assert seen and seen[-1][0] == report.events == seen[-1][1]
    assert rebuild(embedded, "olap").generation == 1
    assert (oltp_rows(embedded), olap_rows(embedded)) == before

    # The live projectors, still running, resume from the rebuilt positions.
    contact = embedded.commands.execute(CreateContact(name="Later"), META).id
    embedded.commands.execute(RecordInteraction(contact, "page_visited", datetime.now(UTC)), META)
    live_oltp.run_until_idle(timeout=0.05)
    live_olap.run_until_idle(timeout=0.05)
    assert embedded.contact_queries.get(str(contact))["lead_score"] == 20
    assert embedded.olap.cursor().execute("SELECT count(*) FROM events WHERE subject = ?", [contact]).fetchone() == (2,)
    after = oltp_rows(embedded), olap_rows(embedded)
    rebuild(embedded, "oltp")
    rebuild(embedded, "olap")
    assert (oltp_rows(embedded), olap_rows(embedded)) == after


def test_rebuild_from_kafka_while_readers_read(production):
    contacts = [production.commands.execute(CreateContact(name=f"P{i}"), META).id for i in range(30)]
    for contact in contacts:
        production.commands.execute(RecordInteraction(contact, "email_opened", datetime.now(UTC)), META)
    catch_up(production)
    before = oltp_rows(production)

    client = TestClient(create_app(production))
    answers: list[int] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            answers.append(client.get(f"/v1/contacts/{contacts[len(answers) % len(contacts)]}").status_code)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        report = rebuild(production, "oltp")
    finally:
        stop.set()
        reader.join(10)
    assert report.replayed_from == "Kafka" and report.events == 60
    assert len(answers) > 10 and set(answers) == {200}
    assert oltp_rows(production) == before
