"""Bulk import (``crm import``): rows become the command path's events, sealed and chained
alike, on SQLite and PostgreSQL; the same file twice records nothing new; rejected rows
are reported with their code while the valid ones go in."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from commands.config import CommandConfig
from commands.contact import CreateContact, EraseContact, RecordInteraction
from commands.importing import storage as import_storage
from commands.importing.kinds import aggregate_id
from commands.importing.mapping import MappingError
from commands.importing.run import ImportOptions, ImportReport, run_import
from commands.pipeline import CreatePipeline
from crm.cli import main as crm_cli
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta
from domain.pipeline import Stage
from domain.scoring import ScoringRules

META = Meta("sales.test", "import-test", "import-test")
ADA = {"external_id": "p-1", "name": "Ada Lovelace", "email": "Ada@Example.COM", "phone": "+44 20 7946 0000"}


@pytest.fixture
def postgres(tmp_path: Path, postgres_dsn: str) -> Iterator[Container]:
    """PostgreSQL event store, no Kafka: what the import writes to in production."""
    container = Container(Settings(data_dir=tmp_path / "data", event_store=postgres_dsn, oltp_dsn=postgres_dsn))
    yield container
    container.close()


@pytest.fixture(params=["embedded", "postgres"])
def crm(request: pytest.FixtureRequest) -> Container:
    return request.getfixturevalue(request.param)


def write_csv(path: Path, header: list[str], *rows: list[Any]) -> Path:
    lines = [",".join(header)] + [",".join("" if c is None else str(c) for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_jsonl(path: Path, *objects: Any) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path


def run(crm: Container, kind: str, path: Path, **options: Any) -> ImportReport:
    return run_import(
        crm.settings.event_store_url,
        crm.commands.config,
        ImportOptions(kind, path, **options),
        "cli:importer",
        store=crm.store,
    )


def stored_state(crm: Container, aggregate: Any) -> list[tuple[str, bytes]]:
    return [(s.topic, bytes(s.state)) for s in crm.store.recorder.select_events(aggregate)]


def content(crm: Container, aggregate: Any) -> list[tuple[str, dict[str, Any]]]:
    """The events as the domain reads them (personal fields opened), without what differs
    between any two events: ids, times, who and why, the chain."""
    found = []
    for stored in crm.store.recorder.select_events(aggregate):
        event = crm.store.mapper.to_domain_event(stored)
        fields = {k: v for k, v in vars(event).items() if k not in ("originator_id", "timestamp", "meta", "chain")}
        found.append((stored.topic, fields))
    return found


def test_an_imported_contact_and_interaction_are_the_events_the_commands_record(crm, tmp_path):
    """Given the same data, the import and the command path record the same event types
    and fields, personal ones sealed in the store with the person's key, every event
    chained: the store verifies clean."""
    people = write_csv(
        tmp_path / "people.csv",
        ["external_id", "name", "email", "phone", "company", "tags", "owner", "lifecycle_stage"],
        ["p-1", ADA["name"], ADA["email"], ADA["phone"], "Analytical Engines", '"vip; Math"', "ben", "lead"],
    )
    report = run(crm, "contacts", people)
    assert (report.rows, report.recorded, report.events, report.rejected) == (1, 1, 1, 0)
    imported = aggregate_id("default", "contact", "p-1")
    activity = write_jsonl(
        tmp_path / "activity.jsonl",
        {
            "external_id": "a-1",
            "contact_external_id": "p-1",
            "type": "survey_answered",
            "occurred_at": "2025-03-01T09:30:00Z",
            "details": {"nps": 9, "comment": "Ada liked the demo"},
        },
    )
    assert run(crm, "interactions", activity).recorded == 1

    commanded = crm.commands.execute(
        CreateContact(
            ADA["name"], ADA["email"], ADA["phone"], "Analytical Engines", None, ("vip", "Math"), "ben", "lead"
        ),
        META,
    ).id
    crm.commands.execute(
        RecordInteraction(
            commanded,
            "survey_answered",
            datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
            {"nps": 9, "comment": "Ada liked the demo"},
        ),
        META,
    )

    assert content(crm, imported) == content(crm, commanded)
    assert [t for t, _ in content(crm, imported)] == [
        "crm.contact.created.v1",
        "crm.contact.interaction_recorded.v1",
    ]
    for topic, raw in stored_state(crm, imported):
        state = json.loads(raw)
        for secret in (b"Ada Lovelace", b"ada@example.com", b"+44 20", b"liked the demo"):
            assert secret.lower() not in raw.lower()  # sealed, never readable in the store
        assert state["chain"]["hash"] and len(state["chain"]["prev"]) == 64
        if topic == "crm.contact.created.v1":
            assert state["name"].startswith(f"enc:v1:{imported.hex}:")
            assert state["chain"]["prev"] == "0" * 64
        else:
            assert state["details"]["nps"] == 9 and state["details"]["comment"].startswith("enc:v1:")
    contact = crm.store.repository.get(imported)
    assert (contact.name, contact.email, contact.lead_score, contact.version) == (
        "Ada Lovelace",
        "Ada@example.com",
        0,
        2,
    )
    verdict = crm.verify()
    assert verdict.clean and verdict.checked == 4


def test_the_same_files_imported_twice_record_nothing_new(crm, tmp_path):
    people = write_csv(
        tmp_path / "people.csv", ["external_id", "name"], *[[f"p-{i}", f"Person {i}"] for i in range(25)]
    )
    activity = write_csv(
        tmp_path / "activity.csv",
        ["external_id", "contact_external_id", "type", "occurred_at"],
        *[[f"a-{i}", f"p-{i % 25}", "page_visited", "2025-01-02T03:04:05+01:00"] for i in range(60)],
    )
    first = [run(crm, "contacts", people, batch_size=7), run(crm, "interactions", activity, batch_size=11)]
    assert [(r.recorded, r.events, r.skipped) for r in first] == [(25, 25, 0), (60, 60, 0)]
    position = crm.store.recorder.max_notification_id()

    again = [run(crm, "contacts", people, batch_size=10), run(crm, "interactions", activity, batch_size=13)]
    assert [(r.recorded, r.events, r.skipped, r.rejected) for r in again] == [(25 - 25, 0, 25, 0), (0, 0, 60, 0)]
    assert crm.store.recorder.max_notification_id() == position
    # Interactions went to their contacts, their scores and versions one command at a time would give.
    busiest = crm.store.repository.get(aggregate_id("default", "contact", "p-0"))
    assert (busiest.version, busiest.lead_score) == (1 + 3, 3 * 20)
    assert crm.verify().clean


def test_rejected_rows_are_written_with_their_row_and_code_while_the_valid_rows_go_in(embedded, tmp_path):
    crm = embedded
    ghost = crm.commands.execute(CreateContact("Gone Person"), META).id
    crm.commands.execute(EraseContact(ghost), META)
    people = tmp_path / "people.csv"
    people.write_text(
        "Id;Full Name;E-mail\n"
        "p-1;Ada Lovelace;ada@example.com\n"
        "p-2;;nobody@example.com\n"  # row 3: no name
        "p-3;Bad Mail;not-an-email\n"  # row 4
        ";No Id;x@example.com\n"  # row 5: no external id
        "p-4;Nul\x00Char;\n"  # row 6: text no store can hold
        "p-1;Ada Twice;ada2@example.com\n"  # row 7: the same external id again: skipped
        "p-5;Grace Hopper;grace@navy.example\n",
        encoding="utf-8",
    )
    report = run(crm, "contacts", people, mapped={"external_id": "Id", "name": "Full Name", "email": "E-mail"})
    assert (report.rows, report.recorded, report.skipped, report.rejected) == (7, 2, 1, 4)
    assert report.rejects_path == tmp_path / "people.rejects.csv"
    lines = report.rejects_path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "import_row;import_code;import_message;Id;Full Name;E-mail"
    assert [line.split(";")[:2] for line in lines[1:]] == [
        ["3", "validation_error"],
        ["4", "validation_error"],
        ["5", "validation_error"],
        ["6", "invalid_text"],
    ]
    assert "a contact needs a name" in lines[1] and "not an email address" in lines[2] and "external_id" in lines[3]

    activity = write_csv(
        tmp_path / "activity.csv",
        ["external_id", "contact_external_id", "contact_id", "type", "occurred_at", "details.nps"],
        ["a-1", "p-1", None, "survey_answered", "2025-01-01T00:00:00Z", "9"],
        ["a-2", "p-404", None, "call", "2025-01-01T00:00:00Z", None],  # row 3: no such contact
        ["a-3", None, ghost, "call", "2025-01-01T00:00:00Z", None],  # row 4: erased
        ["a-4", "p-1", None, "survey_answered", "2025-01-01T00:00:00Z", "11"],  # row 5: NPS is 0-10
        ["a-5", "p-1", None, "call", "2025-01-01T00:00:00", None],  # row 6: no time zone
        ["a-6", "p-1", None, "telepathy", "2025-01-01T00:00:00Z", None],  # row 7
    )
    with pytest.raises(MappingError, match="no folder"):
        run(crm, "interactions", activity, rejects=tmp_path / "missing" / "bad.csv")
    with pytest.raises(MappingError, match="cannot be the file being imported"):
        run(crm, "interactions", activity, rejects=activity)
    report = run(crm, "interactions", activity, rejects=tmp_path / "bad.csv")
    assert (report.recorded, report.rejected) == (1, 5)
    rejected = [line.split(",")[:2] for line in (tmp_path / "bad.csv").read_text().splitlines()[1:]]
    assert rejected == [
        ["3", "not_found"],
        ["4", "contact_erased"],
        ["5", "validation_error"],
        ["6", "validation_error"],
        ["7", "validation_error"],
    ]

    # Fixed, the rejects file itself imports: the import_ columns are ignored.
    fixed = report.rejects_path.read_text().replace("telepathy", "call").replace("00:00:00,", "00:00:00Z,")
    report.rejects_path.write_text(fixed)
    again = run(crm, "interactions", report.rejects_path)
    assert (again.recorded, again.rejected) == (2, 3)


def test_a_mapping_that_cannot_work_is_refused_before_anything_is_written(embedded, tmp_path):
    crm = embedded
    people = write_csv(tmp_path / "people.csv", ["Id", "Full Name"], ["p-1", "Ada"])
    cases = [
        ({"mapped": {"fullname": "Full Name", "external_id": "Id"}}, "contacts have no field fullname"),
        ({"mapped": {"name": "Name", "external_id": "Id"}}, "the file has no column 'Name'"),
        ({"mapped": {"name": "Full Name"}}, "no column is mapped to external_id"),
        ({"mapped": {"external_id": "Id", "name": "Full Name"}, "source": "a/b"}, "--source"),
    ]
    for options, message in cases:
        with pytest.raises(MappingError, match=message):
            run(crm, "contacts", people, **options)
    with pytest.raises(MappingError, match="--set pipeline_id=nope: pipeline_id 'nope' is not an id"):
        mapped = {"external_id": "Id", "title": "Full Name", "contact_external_id": "Id"}
        run(crm, "deals", people, mapped=mapped, constants={"pipeline_id": "nope"})
    assert crm.store.recorder.max_notification_id() in (None, 0)
    assert not (tmp_path / "people.rejects.csv").exists()


def test_deals_and_cases_refer_to_contacts_and_accounts_by_their_external_ids(postgres, tmp_path):
    crm = postgres
    pipeline = crm.commands.execute(
        CreatePipeline("New business", [Stage("qualify", "Qualify", 0.2), Stage("propose", "Propose", 0.6)]), META
    ).id
    run(crm, "contacts", write_csv(tmp_path / "p.csv", ["external_id", "name"], ["p-1", "Ada"], ["p-2", "Grace"]))
    run(
        crm,
        "accounts",
        write_jsonl(tmp_path / "a.jsonl", {"external_id": "acme", "name": "Acme", "domain": "acme.example"}),
    )
    deals = write_csv(
        tmp_path / "deals.csv",
        ["Id", "Name", "Person", "Company", "Value", "Created"],
        ["d-1", "Engines", "p-1", None, "12500.50", "2024-11-05T10:00:00Z"],
        ["d-2", "Looms", None, "acme", "800", None],
        ["d-3", "Both", "p-1", "acme", "1", None],  # row 4: one party only
        ["d-4", "Nobody", "p-9", None, "1", None],  # row 5: no such contact
        ["d-5", "Minus", "p-2", None, "-5", None],  # row 6: amount must be zero or more
    )
    mapped = {
        "external_id": "Id",
        "title": "Name",
        "contact_external_id": "Person",
        "account_external_id": "Company",
        "amount": "Value",
        "created_at": "Created",
    }
    report = run(crm, "deals", deals, mapped=mapped, constants={"pipeline_id": str(pipeline), "currency": "usd"})
    assert (report.recorded, report.rejected) == (2, 3)
    codes = [line.split(",")[1] for line in report.rejects_path.read_text().splitlines()[1:]]
    assert codes == ["validation_error", "not_found", "validation_error"]
    deal = crm.store.repository.get(aggregate_id("default", "deal", "d-1"))
    assert (deal.pipeline_id, deal.contact_id, deal.amount, deal.currency, deal.stage) == (
        pipeline,
        aggregate_id("default", "contact", "p-1"),
        Decimal("12500.50"),
        "USD",
        "qualify",
    )
    wrong_pipeline = run(
        crm, "deals", deals, mapped=mapped, constants={"pipeline_id": str(aggregate_id("x", "y", "z"))}
    )
    assert (wrong_pipeline.recorded, wrong_pipeline.skipped) == (0, 2)  # imported before: skipped first

    cases = write_jsonl(
        tmp_path / "cases.jsonl",
        {"external_id": "t-1", "contact_external_id": "p-2", "subject": "Grace cannot log in", "priority": "high"},
        {"external_id": "t-2", "contact_external_id": "p-2", "subject": "x", "priority": "whenever"},
        ["not", "an", "object"],
    )
    report = run(crm, "cases", cases)
    assert (report.recorded, report.rejected) == (1, 2)
    rejected = [json.loads(line) for line in report.rejects_path.read_text().splitlines()]
    assert [(r["import_row"], r["import_code"]) for r in rejected] == [(2, "validation_error"), (3, "validation_error")]
    assert rejected[0]["subject"] == "x" and rejected[1]["import_line"] == '["not", "an", "object"]'
    opened = stored_state(crm, aggregate_id("default", "case", "t-1"))
    assert b"Grace cannot" not in opened[0][1]
    assert json.loads(opened[0][1])["subject"].startswith(f"enc:v1:{aggregate_id('default', 'contact', 'p-2').hex}:")
    assert crm.verify().clean


def test_a_batch_another_writer_got_ahead_of_runs_again_and_loses_nothing(postgres, tmp_path, monkeypatch):
    """A command records on a contact between the batch's load and its write: the
    batch's transaction conflicts, records nothing, and runs again on the new state."""
    crm = postgres
    run(crm, "contacts", write_csv(tmp_path / "p.csv", ["external_id", "name"], ["p-1", "Ada"]))
    contact = aggregate_id("default", "contact", "p-1")
    real_write = import_storage.PostgresBatchStorage.write
    raced = []

    def write_after_a_command(self, events, claims):
        if not raced:
            raced.append(crm.commands.execute(RecordInteraction(contact, "content_downloaded"), META))
        return real_write(self, events, claims)

    monkeypatch.setattr(import_storage.PostgresBatchStorage, "write", write_after_a_command)
    activity = write_csv(
        tmp_path / "a.csv", ["external_id", "contact_external_id", "type"], ["a-1", "p-1", "email_opened"]
    )
    report = run(crm, "interactions", activity)
    assert report.recorded == 1 and raced
    ada = crm.store.repository.get(contact)
    assert (ada.version, ada.lead_score) == (3, 40 + 10)
    assert crm.verify().clean


def test_workers_share_the_rows_and_the_read_model_sees_imported_contacts(postgres, tmp_path):
    crm = postgres
    people = write_csv(
        tmp_path / "p.csv",
        ["external_id", "name", "email"],
        *[[f"p-{i}", f"P {i}", f"p{i}@x.example"] for i in range(40)],
    )
    activity = write_csv(
        tmp_path / "a.csv",
        ["external_id", "contact_external_id", "type"],
        *[[f"a-{i}", f"p-{i % 40}", "email_opened"] for i in range(120)],
    )
    assert run(crm, "contacts", people, workers=2, batch_size=9).recorded == 40
    report = run(crm, "interactions", activity, workers=2, batch_size=16)
    assert (report.recorded, report.events, report.rejected) == (120, 120, 0)
    assert all(
        crm.store.repository.get(aggregate_id("default", "contact", f"p-{i}")).lead_score == 30 for i in range(40)
    )
    assert crm.verify().clean

    crm.projector("oltp").run_until_idle(timeout=0.05)
    row = crm.contact_queries.get(str(aggregate_id("default", "contact", "p-7")))
    assert row is not None and (row["name"], row["email"], row["lead_score"]) == ("P 7", "p7@x.example", 30)


def test_the_command_line_imports_reports_and_exits_by_outcome(tmp_path):
    env = {"CRM_DATA_DIR": str(tmp_path / "data")}
    people = tmp_path / "people.csv"
    people.write_text("Id,Full Name,E-mail\np-1,Ada Lovelace,ada@example.com\np-2,,\n", encoding="utf-8")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"external_id": "Id", "name": "Full Name"}))
    cli = CliRunner()

    helped = cli.invoke(crm_cli, ["import", "contacts", "--help"], env=env)
    assert helped.exit_code == 0 and "--map" in helped.output and "crm import contacts people.csv" in helped.output
    bad = cli.invoke(crm_cli, ["import", "contacts", str(people), "--map", "nmae=Full Name"], env=env)
    assert bad.exit_code == 2 and "contacts have no field nmae" in bad.output

    first = cli.invoke(
        crm_cli, ["import", "contacts", str(people), "--mapping", str(mapping), "--map", "email=E-mail"], env=env
    )
    assert first.exit_code == 3, first.output
    assert "2 rows; recorded 1 (1 events), skipped 0 imported before, rejected 1" in first.output
    assert f"rejected rows: {tmp_path / 'people.rejects.csv'}" in first.output
    people.write_text("Id,Full Name,E-mail\np-1,Ada Lovelace,ada@example.com\np-2,Grace Hopper,\n", encoding="utf-8")
    second = cli.invoke(crm_cli, ["import", "contacts", str(people), "--mapping", str(mapping)], env=env)
    assert second.exit_code == 0, second.output
    assert "recorded 1 (1 events), skipped 1 imported before, rejected 0" in second.output
    assert not (tmp_path / "people.rejects.csv").exists()  # the last run rejected nothing

    with sqlite3.connect(tmp_path / "data" / "events.sqlite") as conn:
        actors = {json.loads(s)["meta"]["_data_"]["actor"] for (s,) in conn.execute("SELECT state FROM stored_events")}
    assert len(actors) == 1 and actors.pop().startswith("cli:")
    assert cli.invoke(crm_cli, ["audit", "verify"], env=env).exit_code == 0


def test_a_dry_run_checks_every_row_and_records_nothing(postgres, tmp_path):
    crm = postgres
    people = write_csv(tmp_path / "p.csv", ["external_id", "name", "email"], ["p-1", "Ada", None], ["p-2", "Bo", "bad"])
    report = run(crm, "contacts", people, dry_run=True)
    assert (report.recorded, report.rejected, report.positions) == (1, 1, None)
    assert crm.store.recorder.max_notification_id() in (None, 0)
    with psycopg.connect(crm.settings.event_store_url) as conn:
        assert conn.execute("SELECT count(*) FROM eventcrm_personal_keys").fetchone() == (0,)


def test_the_config_reaches_the_rules(postgres, tmp_path):
    """Scoring rules are configuration: the import scores with the ones it is given."""
    crm = postgres
    run(crm, "contacts", write_csv(tmp_path / "p.csv", ["external_id", "name"], ["p-1", "Ada"]))
    activity = write_csv(tmp_path / "a.csv", ["external_id", "contact_external_id", "type"], ["a-1", "p-1", "call"])
    config = CommandConfig(scoring_rules=ScoringRules({"call": 7}))
    run_import(crm.settings.event_store_url, config, ImportOptions("interactions", activity), "cli:x", store=crm.store)
    assert crm.store.repository.get(aggregate_id("default", "contact", "p-1")).lead_score == 7


def test_a_long_imported_history_is_snapshotted_as_a_save_would_snapshot_it(embedded, tmp_path):
    crm = embedded
    run(crm, "contacts", write_csv(tmp_path / "p.csv", ["external_id", "name"], ["p-1", "Ada"]))
    activity = write_csv(
        tmp_path / "a.csv",
        ["external_id", "contact_external_id", "type"],
        *[[f"a-{i}", "p-1", "email_opened"] for i in range(120)],
    )
    assert run(crm, "interactions", activity, batch_size=50).recorded == 120
    contact = aggregate_id("default", "contact", "p-1")
    snapshots = crm.store.snapshots.recorder.select_events(contact)
    assert [s.originator_version for s in snapshots] == [100]
    assert b"Ada" not in snapshots[0].state  # sealed in the snapshot too
    ada = crm.store.repository.get(contact)
    assert (ada.version, ada.lead_score, ada.name) == (121, 1200, "Ada")


def test_a_person_whose_key_an_earlier_stopped_run_made_is_sealed_with_that_key(crm, tmp_path):
    """A run stopped after making keys and before writing its batch: the rows are new
    people again (their keys are not looked for before they are made), and the key
    made first is the one that seals them."""
    ada = aggregate_id("default", "contact", "p-1")
    storage = import_storage.storage_for(crm.store)
    try:
        made_first = storage.personal_keys([ada])[ada]
    finally:
        storage.close()
    run(crm, "contacts", write_csv(tmp_path / "p.csv", ["external_id", "name", "email"], ["p-1", "Ada", "a@x.io"]))
    assert crm.store.command_log.personal_key(ada, create=False) == made_first
    assert crm.store.repository.get(ada).name == "Ada"  # opened with the key made first
    assert b"Ada" not in stored_state(crm, ada)[0][1]
