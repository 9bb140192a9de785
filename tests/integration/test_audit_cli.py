"""`crm audit history|state` and `crm export dsar|audit` on an embedded store."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from click.testing import CliRunner

from commands.contact import CreateContact, RecordInteraction
from crm.cli import main
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta

META = Meta("ana", "corr-1", "cause-1")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def recorded(data_dir: Path) -> dict:
    """A contact with three interactions, and an instant after the first two."""
    container = Container(Settings(data_dir=data_dir))
    try:
        contact = container.commands.execute(CreateContact(name="Grace", owner="ana"), META).id
        container.commands.execute(RecordInteraction(contact, "email_opened"), META)
        time.sleep(0.002)
        middle = datetime.now(UTC)
        time.sleep(0.002)
        container.commands.execute(RecordInteraction(contact, "page_visited"), META)
    finally:
        container.close()
    return {"contact": contact, "middle": middle.isoformat().replace("+00:00", "Z")}


def crm(data_dir: Path, *args: str):
    result = CliRunner().invoke(main, list(args), env={"CRM_DATA_DIR": str(data_dir), "COLUMNS": "160"})
    return result


def test_audit_history_in_json_csv_and_table(data_dir, recorded):
    contact = str(recorded["contact"])
    as_json = crm(data_dir, "audit", "history", contact, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    history = json.loads(as_json.output)
    assert [h["summary"] for h in history] == [
        "Contact created as subscriber, owner ana",
        "Email opened: +10 points, score 10",
        "Page visited: +20 points, score 30",
    ]
    assert {(h["actor"], h["correlation_id"], h["causation_id"]) for h in history} == {("ana", "corr-1", "cause-1")}

    cut = crm(data_dir, "audit", "history", contact, "--as-of", recorded["middle"], "--format", "csv")
    assert cut.exit_code == 0, cut.output
    rows = list(csv.DictReader(io.StringIO(cut.output)))
    assert [r["version"] for r in rows] == ["1", "2"]

    table = crm(data_dir, "audit", "history", contact)
    assert table.exit_code == 0, table.output
    assert "score 30" in table.output and "crm.contact.interaction_recorded.v1" in table.output


def test_audit_state_as_of(data_dir, recorded):
    out = crm(data_dir, "audit", "state", str(recorded["contact"]), "--as-of", recorded["middle"])
    assert out.exit_code == 0, out.output
    state = json.loads(out.output)
    assert (state["version"], state["state"]["lead_score"]) == (2, 10)


def test_exports_write_whole_files(data_dir, recorded, tmp_path):
    target = tmp_path / "dsar.json"
    out = crm(data_dir, "export", "dsar", str(recorded["contact"]), "--output", str(target))
    assert out.exit_code == 0, out.output
    document = json.loads(target.read_text())
    assert UUID(document["contact_id"]) == recorded["contact"]
    assert len(document["history"]) == 3
    assert not (tmp_path / "dsar.json.partial").exists()

    trail = crm(data_dir, "export", "audit", "--from", recorded["middle"], "--to", "2999-01-01T00:00:00Z")
    assert trail.exit_code == 0, trail.output
    rows = list(csv.DictReader(io.StringIO(trail.output)))
    assert [r["type"] for r in rows] == ["crm.contact.interaction_recorded.v1"]


def test_unknown_contacts_and_bad_times_are_clear_errors(data_dir, recorded):
    unknown = crm(data_dir, "audit", "history", str(uuid4()))
    assert unknown.exit_code == 1 and "no contact" in unknown.output
    naive = crm(data_dir, "audit", "state", str(recorded["contact"]), "--as-of", "2026-03-01T09:00:00")
    assert naive.exit_code == 2 and "needs a time zone" in naive.output
    backwards = crm(data_dir, "export", "audit", "--from", "2026-03-02T00:00:00Z", "--to", "2026-03-01T00:00:00Z")
    assert backwards.exit_code == 1 and "must end after it starts" in backwards.output
    missing = crm(data_dir, "export", "dsar", str(uuid4()), "--output", str(data_dir / "x.json"))
    assert missing.exit_code == 1 and not (data_dir / "x.json").exists()
