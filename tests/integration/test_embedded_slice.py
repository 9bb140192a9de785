"""The same contact life with no server: SQLite event store, in-process stream,
SQLite and DuckDB read models."""

from fastapi.testclient import TestClient

from api.app import create_app
from tests.integration.slice import drive


def test_embedded_mode_projects_the_same_envelopes_into_sqlite_and_duckdb(embedded):
    expected = drive(embedded, contacts=3)
    assert embedded.settings.uses_kafka is False
    for name in ("oltp", "olap"):
        assert embedded.projector(name).run_until_idle(timeout=0.05) == expected.events

    client = TestClient(create_app(embedded))
    for cid, version in expected.versions.items():
        row = client.get(f"/v1/contacts/{cid}").json()
        assert (row["version"], row["lead_score"], row["owner"]) == (
            version,
            expected.scores[cid],
            expected.owners[cid],
        )

    olap = embedded.olap.cursor()
    assert olap.execute("SELECT count(*), max(position) FROM events").fetchone() == (
        expected.events,
        expected.last_position,
    )
    positions = olap.execute("SELECT source, partition, position FROM projection_positions").fetchall()
    assert positions == [("log", 0, expected.last_position)]


def test_a_projector_started_again_resumes_after_its_stored_position(embedded):
    first = drive(embedded, contacts=2)
    embedded.projector("olap").run_until_idle(timeout=0.05)
    second = drive(embedded, contacts=1)
    # A new runner (as after a restart) only sees what came after the stored position.
    assert embedded.projector("olap").run_until_idle(timeout=0.05) == second.events
    count = embedded.olap.cursor().execute("SELECT count(*) FROM events").fetchone()[0]
    assert count == first.events + second.events
