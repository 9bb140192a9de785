"""The snapshots the warehouse's writer publishes for every other reader, and the readers:
the analytics API of a process that does not write, `crm sql`, `crm export parquet`.

(tests/faults/test_warehouse_readers.py reads them from many processes under load and
across a crash of the writer.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.app import create_app
from commands.contact import CreateContact, RecordInteraction
from crm.cli import main as crm
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta
from projections.olap.snapshots import CURRENT, Publisher, Snapshots, current, folder_for, trace

META = Meta("test", "snapshots", "snapshots")


def record_contacts(container: Container, n: int) -> list[Any]:
    ids = []
    for i in range(n):
        contact = container.commands.execute(CreateContact(name=f"Snap {i}"), META).id
        container.commands.execute(RecordInteraction(contact, "page_visited", datetime(2026, 5, 1, tzinfo=UTC)), META)
        ids.append(contact)
    return ids


def project(container: Container) -> None:
    container.projector("olap").run_until_idle(timeout=0.05)


def reader_count(path: Path) -> tuple[int, int]:
    with duckdb.connect(str(path.resolve()), read_only=True) as conn:
        return conn.execute("SELECT (SELECT count(*) FROM events), (SELECT number FROM warehouse_snapshot)").fetchone()


def test_a_snapshot_is_published_when_the_warehouse_changed_and_holds_what_it_says(embedded):
    record_contacts(embedded, 3)
    project(embedded)
    publisher = embedded.olap_publisher()
    first = publisher.publish()
    assert first is not None and current(embedded.settings.olap_file) == first
    assert reader_count(first) == (6, 1)
    assert publisher.publish() is None  # nothing changed: nothing to copy
    with duckdb.connect(str(first), read_only=True) as conn:
        found = trace(conn)
    assert (found.position, found.complete_through, found.events, found.snapshot) == (6, 6, 6, 1)
    assert abs((datetime.now(UTC) - found.published_at).total_seconds()) < 60

    record_contacts(embedded, 1)
    project(embedded)
    second = publisher.publish()
    assert second is not None and second != first and reader_count(second) == (8, 2)
    assert (folder_for(embedded.settings.olap_file) / CURRENT).resolve() == second.resolve()
    assert first.exists()  # superseded, kept a while for readers that just resolved the link


def test_superseded_snapshots_go_after_a_while_and_an_open_one_stays_readable(embedded):
    record_contacts(embedded, 1)
    project(embedded)
    publisher = Publisher(
        embedded.olap, embedded.olap_write_lock, embedded.settings.olap_file, every=0.1, keep_seconds=0.5
    )
    first = publisher.publish()
    holder = duckdb.connect(str(first), read_only=True)
    record_contacts(embedded, 1)
    project(embedded)
    second = publisher.publish()
    time.sleep(0.6)
    record_contacts(embedded, 1)
    project(embedded)
    third = publisher.publish()
    assert not first.exists() and second.exists() and third.exists()
    assert holder.execute("SELECT count(*) FROM events").fetchone() == (2,)  # deleted, still open
    holder.close()
    publisher.close()


def test_a_writer_that_died_mid_copy_leaves_the_last_snapshot_and_the_next_one_carries_on(embedded):
    record_contacts(embedded, 1)
    project(embedded)
    first = embedded.olap_publisher().publish()
    torn = first.with_name("000000000002.partial")
    torn.write_bytes(first.read_bytes()[:4096])  # what a kill in the middle of a copy leaves
    assert current(embedded.settings.olap_file) == first
    record_contacts(embedded, 1)
    project(embedded)
    restarted = Publisher(embedded.olap, embedded.olap_write_lock, embedded.settings.olap_file)
    assert not torn.exists()
    second = restarted.publish()
    assert second.name == "000000000002.duckdb" and reader_count(second) == (4, 2)


def test_readers_always_see_whole_batches_while_the_writer_keeps_writing(embedded):
    """Copies made while the writer commits (the copy takes no lock) hold exactly the
    checkpointed state: every snapshot's events agree with its stored position."""
    record_contacts(embedded, 1)
    project(embedded)
    publisher = embedded.olap_publisher()
    runner = embedded.projector("olap")
    for _ in range(6):
        record_contacts(embedded, 20)
        runner.run_until_idle(timeout=0.01)
        snapshot = publisher.publish()
        with duckdb.connect(str(snapshot), read_only=True) as conn:
            events, position, stored, contacts = conn.execute(
                "SELECT (SELECT count(*) FROM events), (SELECT max(position) FROM events), "
                "(SELECT position FROM projection_positions WHERE projection = 'olap'), "
                "(SELECT count(DISTINCT contact_id) FROM dim_contact)"
            ).fetchone()
        assert events == position == stored == 2 * contacts


def other_process(settings: Settings) -> Container:
    """A process that does not project the warehouse (like `crm serve --api-only`)."""
    return Container(settings)


def test_the_api_of_a_process_that_does_not_write_answers_from_the_newest_snapshot(embedded):
    reader = other_process(embedded.settings)
    try:
        client = TestClient(create_app(reader))
        empty = client.get("/v1/analytics/lead-scores")  # nothing published yet: an empty warehouse, no 503
        assert empty.status_code == 200 and empty.json()["rows"] == []
        assert empty.json()["computed_from"] == {"position": 0, "complete_through": 0, "events": 0}

        record_contacts(embedded, 2)
        project(embedded)  # this process now holds the file for writing
        embedded.olap_publisher().publish()
        answer = client.get("/v1/analytics/lead-scores")
        assert answer.status_code == 200
        assert sum(row["contacts"] for row in answer.json()["rows"]) == 2
        assert answer.json()["computed_from"]["snapshot"] == 1
        assert answer.json()["computed_from"]["position"] == 4
        assert answer.headers["CRM-Position"] == answer.headers["CRM-Complete-Through"] == "4"

        record_contacts(embedded, 1)
        project(embedded)
        assert sum(r["contacts"] for r in client.get("/v1/analytics/lead-scores").json()["rows"]) == 2  # not yet
        embedded.olap_publisher().publish()
        newer = client.get("/v1/analytics/lead-scores").json()
        assert sum(r["contacts"] for r in newer["rows"]) == 3 and newer["computed_from"]["snapshot"] == 2

        # The writing process reads its own connection: nothing is fresher.
        record_contacts(embedded, 1)
        project(embedded)
        own = TestClient(create_app(embedded)).get("/v1/analytics/lead-scores").json()
        assert sum(r["contacts"] for r in own["rows"]) == 4 and "snapshot" not in own["computed_from"]
        assert own["computed_from"]["position"] == 8
    finally:
        reader.close()


def test_another_process_holding_the_warehouse_does_not_stop_the_api(embedded):
    """What answered 503 before: a separate projector process holds the file."""
    path = embedded.settings.olap_file
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('ready', flush=True); sys.stdin.readline()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        answer = TestClient(create_app(embedded)).get("/v1/analytics/close-rate")
        assert answer.status_code == 200, answer.text
    finally:
        holder.communicate("\n", timeout=10)


@pytest.fixture
def published(tmp_path: Path) -> dict[str, str]:
    """A data folder whose warehouse has two contacts and a snapshot; the environment of a
    shell pointing at it."""
    data = tmp_path / "data"
    with Container(Settings(data_dir=data)) as container:
        record_contacts(container, 2)
        project(container)
        container.olap_publisher().publish()
    return {"CRM_DATA_DIR": str(data)}


def sql(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(crm, ["sql", *args], env=env, input=stdin)


def test_crm_sql_answers_a_query_as_a_table_csv_or_json_and_says_what_it_read(published):
    table = sql(published, "SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY type")
    assert table.exit_code == 0, table.output
    assert "crm.contact.created.v1" in table.stdout and "(2 rows)" in table.stdout
    assert "4 events through position 4 (complete through 4), from snapshot 1" in table.stderr
    csv = sql(published, "--format", "csv", "SELECT contact_id, lifecycle_stage FROM dim_contact ORDER BY 1")
    lines = csv.stdout.splitlines()
    assert lines[0] == "contact_id,lifecycle_stage" and len(lines) == 3
    as_json = sql(published, "--format", "json", "SELECT count(*) AS n, max(position) AS p FROM events")
    assert json.loads(as_json.stdout) == [{"n": 4, "p": 4}]


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO events SELECT * FROM events",
        "DELETE FROM deals",
        "CREATE TABLE mine AS SELECT 1",
        "COPY events TO 'stolen.csv'",
        "ATTACH 'other.duckdb'",
        "SET threads = 1",
        "SELECT 1; DROP TABLE events",
    ],
)
def test_crm_sql_refuses_what_would_write_and_runs_none_of_it(published, statement):
    refused = sql(published, statement)
    assert refused.exit_code == 1
    assert "refused: crm sql only reads" in refused.stderr
    assert sql(published, "--format", "json", "SELECT count(*) AS n FROM events").stdout.count('"n": 4') == 1


def test_crm_sql_without_a_query_reads_statements_from_a_prompt(published):
    typed = "SELECT count(*) AS n\nFROM events;\nSELECT 'second' AS s;\nSELEC oops;\n.quit\nSELECT 'never';\n"
    session = sql(published, "--format", "csv", stdin=typed)
    assert session.stdout.splitlines() == ["n", "4", "s", "second"]
    assert "Error:" in session.stderr and "never" not in session.stdout
    assert session.exit_code == 1  # read from a file (not a terminal): a failed statement fails the run


def test_crm_sql_explains_a_mistake_in_one_line(published):
    wrong = sql(published, "SELECT nope FROM events")
    assert wrong.exit_code == 1 and "nope" in wrong.stderr and "Traceback" not in wrong.output


def test_crm_export_parquet_reads_the_snapshot_while_a_writer_holds_the_warehouse(embedded, tmp_path):
    record_contacts(embedded, 2)
    project(embedded)  # this process holds the file for writing, as a running projector would
    embedded.olap_publisher().publish()
    out = tmp_path / "out"
    result = CliRunner().invoke(
        crm, ["export", "parquet", str(out)], env={"CRM_DATA_DIR": str(embedded.settings.data_dir)}
    )
    assert result.exit_code == 0, result.output
    assert "events: 4 rows" in result.output


def test_snapshots_read_an_empty_warehouse_until_the_first_is_published(tmp_path):
    snapshots = Snapshots(tmp_path / "analytics.duckdb")
    with snapshots.read() as cursor:
        assert cursor.execute("SELECT count(*) FROM events").fetchone() == (0,)
        assert trace(cursor).snapshot is None
    snapshots.close()
    assert not os.path.exists(tmp_path / "analytics.duckdb")  # a reader never creates the warehouse


def test_crm_sql_and_the_api_read_the_warehouse_as_of_an_instant(published, embedded):
    before = "2000-01-01T00:00:00Z"
    now = sql(published, "--format", "json", "SELECT contacts FROM metric_list_size")
    then = sql(published, "--format", "json", "--as-of", before, "SELECT contacts FROM metric_list_size")
    assert json.loads(now.stdout) == [{"contacts": 2}] and json.loads(then.stdout) == [{"contacts": 0}]
    assert "0 events through position 0" not in then.stderr and "through position 0 " in then.stderr
    knowledge = sql(
        published,
        "--format",
        "json",
        "--as-of",
        "2999-01-01T00:00:00Z",
        "--time",
        "knowledge",
        "SELECT count(*) AS n FROM events",
    )
    assert json.loads(knowledge.stdout) == [{"n": 4}]
    wrong = sql(published, "--as-of", "yesterday", "SELECT 1")
    assert wrong.exit_code == 2 and "--as-of" in wrong.stderr

    client = TestClient(create_app(embedded))  # the same data folder: it reads the snapshot
    asked = client.get("/v1/analytics/list-size", params={"as_of": before, "time": "knowledge"})
    assert asked.status_code == 200, asked.text
    body = asked.json()
    assert body["rows"][0]["contacts"] == 0 and body["as_of"] == {
        "instant": "2000-01-01T00:00:00+00:00",
        "time": "knowledge",
    }
    assert body["computed_from"]["position"] == 0 and asked.headers["CRM-Position"] == "0"
    assert client.get("/v1/analytics/list-size").json()["rows"][0]["contacts"] == 2
    for params in ({"as_of": "2026-03-31T00:00:00"}, {"as_of": before, "time": "someday"}, {"as_of": "soon"}):
        refused = client.get("/v1/analytics/list-size", params=params)
        assert refused.status_code == 422 and refused.json()["code"] == "validation_error", params


def test_the_channel_heads_follow_the_stream_the_projection_reads_now(embedded, tmp_path):
    """After a rebuild replayed the embedded log, a projection that goes on from Kafka's
    partitions must not keep the log's head: it would hold complete_through back forever."""
    from projections.olap.writer import OlapWriter
    from streams.records import Record

    record_contacts(embedded, 3)
    source = embedded.source("olap")
    source.start(lambda: {})
    records = source.poll(100, 0)
    source.close()
    writer = OlapWriter(duckdb.connect(str(tmp_path / "heads.duckdb")))
    writer.positions()
    writer.write(records[:4], lambda record, error: None)
    heads = "SELECT source, partition, position FROM channel_heads ORDER BY ALL"
    assert writer._conn.execute(heads).fetchall() == [("log", 0, 4)]
    as_kafka = [Record("crm.contact.events", i % 2, i, r.key, r.value) for i, r in enumerate(records[4:])]
    writer.write(as_kafka, lambda record, error: None)
    assert writer._conn.execute(heads).fetchall() == [("crm.contact.events", 0, 5), ("crm.contact.events", 1, 6)]
    with writer._conn.cursor() as cursor:
        found = trace(cursor)
    assert (found.position, found.complete_through) == (6, 5)
