"""The access trail: every read of a person's data (the contact, its timeline, its history,
its state, a DSAR export, a list that shows it) is recorded with the key's name, the time
and the route; auditors query it over HTTP and from the command line; it survives the
person's erasure and holds no personal data. On SQLite (embedded) and PostgreSQL."""

from __future__ import annotations

import csv
import getpass
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from api.app import create_app
from commands.access import CreateApiKey
from commands.account import AddContactToAccount, CreateAccount
from commands.case import OpenCase
from commands.contact import CreateContact
from commands.deal import CreateDeal
from commands.pipeline import CreatePipeline
from crm.cli import main
from crm.wiring import Container
from domain.meta import Meta
from domain.pipeline import Stage
from replay.access_trail import AccessTrail

ADMIN = Meta("admin", "keys", "keys")
META = Meta("ana", "setup", "setup")
ROLES = ("sales", "support", "auditor", "admin")
ADA = {"name": "Ada Lovelace", "email": "ada.lovelace@analytical.example", "phone": "+44 555 0100"}
#: As written: compared case by case, since a lowercase "ada" turns up in random UUIDs' hex.
PERSONAL = ("Ada", "Lovelace", "ada.lovelace", "analytical", "555 0100")


@pytest.fixture(params=["embedded", "production"])
def container(request) -> Container:
    return request.getfixturevalue(request.param)


@pytest.fixture
def keys(container) -> dict[str, str]:
    return {role: container.commands.execute(CreateApiKey(role, (role,)), ADMIN).extra["key"] for role in ROLES}


@pytest.fixture
def client(container) -> TestClient:
    return TestClient(create_app(container))


def as_(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[role]}"}


def catch_up(container: Container) -> None:
    if container.settings.uses_kafka:
        relay = container.relay()
        while relay.publish_pending():
            pass
    container.projector("oltp").run_until_idle(timeout=0.2)


@pytest.fixture
def people(container, keys) -> dict[str, UUID]:
    """Ada, with an account, a deal and a case; Bob, with nothing. Projected."""
    bus = container.commands
    ada = bus.execute(CreateContact(**ADA), META).id
    bob = bus.execute(CreateContact(name="Bob Babbage", email="bob@engine.example"), META).id
    account = bus.execute(CreateAccount("Analytical Engines"), META).id
    bus.execute(AddContactToAccount(account, ada), META)
    pipeline = bus.execute(CreatePipeline("New", (Stage("qualify", "Qualify", 0.1),)), META).id
    deal = bus.execute(CreateDeal(pipeline, "Engine", contact_id=ada), META).id
    case = bus.execute(OpenCase(ada, "Ada's engine is jammed", "high", "email"), META).id
    catch_up(container)
    return {"ada": ada, "bob": bob, "account": account, "deal": deal, "case": case}


def ok(answer, status: int = 200):
    assert answer.status_code == status, answer.text
    return answer


def trail_of(client: TestClient, keys: dict[str, str], contact: UUID, **params: object) -> dict:
    return ok(
        client.get("/v1/audit/access", params={"contact_id": str(contact), **params}, headers=as_(keys, "auditor"))
    ).json()


def test_every_read_of_a_persons_data_is_in_the_trail_with_the_keys_name_and_route(client, keys, people):
    ada, bob = people["ada"], people["bob"]
    started = datetime.now(UTC)
    reads = [
        ("sales", f"/v1/contacts/{ada}", "GET /v1/contacts/{contact_id}"),
        ("sales", f"/v1/contacts/{ada}/timeline", "GET /v1/contacts/{contact_id}/timeline"),
        ("sales", f"/v1/contacts?email={ADA['email']}&q=Ada", "GET /v1/contacts"),
        ("sales", "/v1/contacts/duplicates", None),  # nobody's duplicate: shows no one
        ("sales", f"/v1/accounts/{people['account']}", "GET /v1/accounts/{account_id}"),
        ("sales", "/v1/deals", "GET /v1/deals"),
        ("sales", f"/v1/deals/{people['deal']}", "GET /v1/deals/{deal_id}"),
        ("support", "/v1/cases", "GET /v1/cases"),
        ("support", f"/v1/cases/{people['case']}", "GET /v1/cases/{case_id}"),
        ("auditor", f"/v1/audit/contacts/{ada}/history", "GET /v1/audit/contacts/{contact_id}/history"),
        ("auditor", f"/v1/audit/contacts/{ada}/state", "GET /v1/audit/contacts/{contact_id}/state"),
        ("auditor", f"/v1/audit/contacts/{ada}/export", "GET /v1/audit/contacts/{contact_id}/export"),
    ]
    for role, path, _ in reads:
        ok(client.get(path, headers=as_(keys, role)))

    trail = trail_of(client, keys, ada)
    assert [(e["actor"], e["route"]) for e in trail["items"]] == [(role, route) for role, _, route in reads if route]
    assert trail["total"] == len(trail["items"]) == 11
    assert {e["contact_id"] for e in trail["items"]} == {str(ada)}
    for entry in trail["items"]:
        at = datetime.fromisoformat(entry["at"])
        assert entry["at"].endswith("Z") and started <= at <= datetime.now(UTC)
    assert [e["id"] for e in trail["items"]] == sorted(e["id"] for e in trail["items"])

    # Bob was shown by the one list that found him (the search by Ada's email did not).
    assert [e["route"] for e in trail_of(client, keys, bob)["items"]] == []
    ok(client.get("/v1/contacts", headers=as_(keys, "support")))
    assert [(e["actor"], e["route"]) for e in trail_of(client, keys, bob)["items"]] == [("support", "GET /v1/contacts")]


def test_a_list_records_one_row_per_contact_it_shows_and_no_more(client, keys, people):
    ok(client.get("/v1/contacts", params={"limit": 1}, headers=as_(keys, "sales")))  # newest first: Bob
    ada, bob = trail_of(client, keys, people["ada"]), trail_of(client, keys, people["bob"])
    assert (ada["total"], bob["total"]) == (0, 1)


def test_refused_or_missing_reads_record_nothing(client, keys, people):
    ada = people["ada"]
    assert client.get(f"/v1/audit/contacts/{ada}/history", headers=as_(keys, "sales")).status_code == 403
    assert client.get(f"/v1/contacts/{ada}", headers={"Authorization": "Bearer wrong"}).status_code == 401
    nobody = uuid4()
    assert client.get(f"/v1/contacts/{nobody}", headers=as_(keys, "sales")).status_code == 404
    assert client.get(f"/v1/audit/contacts/{nobody}/export", headers=as_(keys, "auditor")).status_code == 404
    assert trail_of(client, keys, ada)["total"] == trail_of(client, keys, nobody)["total"] == 0


def test_the_trail_pages_like_other_lists_and_only_auditors_read_it(client, keys, people):
    ada = people["ada"]
    for _ in range(5):
        ok(client.get(f"/v1/contacts/{ada}", headers=as_(keys, "sales")))
    everything = trail_of(client, keys, ada)["items"]
    page = trail_of(client, keys, ada, limit=2, offset=3)
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 3)
    assert page["items"] == everything[3:5]
    refused = client.get("/v1/audit/access", params={"contact_id": str(ada)}, headers=as_(keys, "sales"))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    missing = client.get("/v1/audit/access", headers=as_(keys, "auditor"))
    assert missing.status_code == 422 and missing.json()["code"] == "validation_error"


def test_erasing_a_person_keeps_their_trail(client, keys, people):
    ada = people["ada"]
    ok(client.get(f"/v1/contacts/{ada}", headers=as_(keys, "sales")))
    ok(client.get(f"/v1/audit/contacts/{ada}/export", headers=as_(keys, "auditor")))
    before = trail_of(client, keys, ada)["items"]
    ok(client.post(f"/v1/contacts/{ada}/erase", json={"reason": "asked to be forgotten"}, headers=as_(keys, "admin")))
    ok(client.get(f"/v1/audit/contacts/{ada}/history", headers=as_(keys, "auditor")))
    after = trail_of(client, keys, ada)["items"]
    assert after[: len(before)] == before and len(before) == 2
    assert [(e["actor"], e["route"]) for e in after[2:]] == [("auditor", "GET /v1/audit/contacts/{contact_id}/history")]


def test_the_trail_holds_no_personal_data(container, client, keys, people):
    ada = people["ada"]
    for path in (
        f"/v1/contacts/{ada}",
        f"/v1/contacts?email={ADA['email']}",
        "/v1/contacts?q=Lovelace",
        "/v1/cases",
        f"/v1/audit/contacts/{ada}/export",
    ):
        ok(client.get(path, headers=as_(keys, "auditor")))
    db = container.store_database
    columns = (
        "SELECT name FROM pragma_table_info('access_trail') ORDER BY cid"
        if db.kind == "sqlite"
        else "SELECT column_name FROM information_schema.columns WHERE table_name = 'access_trail' "
        "ORDER BY ordinal_position"
    )
    with db.reading() as conn:
        assert [name for (name,) in conn.execute(columns).fetchall()] == ["id", "at", "actor", "route", "contact_id"]
        rows = conn.execute("SELECT * FROM access_trail").fetchall()
    assert len(rows) == 5
    stored = " ".join(str(cell) for row in rows for cell in row)
    assert not [word for word in PERSONAL if word in stored], stored
    assert "?" not in stored and "@" not in stored  # no query string, no email


def test_the_trail_is_append_only(container, client, keys, people):
    ok(client.get(f"/v1/contacts/{people['ada']}", headers=as_(keys, "sales")))
    assert not [name for name in vars(AccessTrail) if name.startswith(("update", "delete", "remove", "erase"))]
    db = container.store_database
    changes = ["UPDATE access_trail SET actor = 'nobody'", "DELETE FROM access_trail"]
    for change in changes + (["TRUNCATE access_trail"] if db.kind == "postgresql" else []):
        with db.reading() as conn, pytest.raises(Exception, match="append-only"):
            conn.execute(change)
    assert [e["actor"] for e in trail_of(client, keys, people["ada"])["items"]] == ["sales"]


class BrokenTrail:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def record(self, *args: object) -> int:
        raise self.error


def test_a_read_that_cannot_be_recorded_is_not_answered(container, client, keys, people):
    ada = people["ada"]
    container.__dict__["access_trail"] = BrokenTrail(RuntimeError("disk quota exceeded"))
    for path, role in ((f"/v1/contacts/{ada}", "sales"), (f"/v1/audit/contacts/{ada}/export", "auditor")):
        answer = client.get(path, headers=as_(keys, role))
        assert answer.status_code == 503 and answer.json()["code"] == "access_trail_unavailable", answer.text
        assert "Lovelace" not in answer.text
    container.__dict__["access_trail"] = BrokenTrail(sqlite3.OperationalError("database is locked"))
    answer = client.get("/v1/contacts", headers=as_(keys, "sales"))
    assert answer.status_code == 503 and answer.json()["code"] == "store_unavailable"
    assert answer.headers["Retry-After"] and "Lovelace" not in answer.text


def crm(container: Container, *args: str):
    settings = container.settings
    env = {"CRM_DATA_DIR": str(settings.data_dir), "COLUMNS": "200"}
    if settings.event_store:
        env["CRM_EVENT_STORE"] = settings.event_store_url
    return CliRunner().invoke(main, list(args), env=env)


def test_command_line_reads_are_in_the_trail_and_crm_audit_access_lists_them(container, client, keys, people, tmp_path):
    ada = str(people["ada"])
    for args in (
        ("audit", "history", ada),
        ("audit", "state", ada),
        ("export", "dsar", ada, "-o", str(tmp_path / "d")),
    ):
        ran = crm(container, *args)
        assert ran.exit_code == 0, ran.output
    ok(client.get(f"/v1/contacts/{ada}", headers=as_(keys, "sales")))
    user = f"cli:{getpass.getuser()}"
    expected = [
        (user, "crm audit history"),
        (user, "crm audit state"),
        (user, "crm export dsar"),
        ("sales", "GET /v1/contacts/{contact_id}"),
    ]

    as_json = crm(container, "audit", "access", ada, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    listed = json.loads(as_json.output)
    assert [(e["actor"], e["route"]) for e in listed] == expected
    assert listed == trail_of(client, keys, people["ada"])["items"]

    as_csv = crm(container, "audit", "access", ada, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert [(r["actor"], r["route"], r["contact_id"]) for r in rows] == [(a, r, ada) for a, r in expected]

    table = crm(container, "audit", "access", ada)
    assert table.exit_code == 0 and "crm export dsar" in table.output and user in table.output, table.output
    # Listing the trail is not itself a read of the person's data.
    assert len(json.loads(crm(container, "audit", "access", ada, "--format", "json").output)) == 4
    assert json.loads(crm(container, "audit", "access", str(uuid4()), "--format", "json").output) == []


def test_a_command_line_read_that_cannot_be_recorded_shows_nothing(container, people, monkeypatch):
    def refuse(*args: object) -> int:
        raise RuntimeError("disk quota exceeded")

    monkeypatch.setattr(AccessTrail, "record", refuse)
    ran = crm(container, "audit", "state", str(people["ada"]))
    assert ran.exit_code == 1
    assert "could not be recorded in the access trail" in ran.output and "Lovelace" not in ran.output


def test_times_are_utc_whatever_the_database_returns(container, keys, people):
    trail = container.access_trail
    trail.record("someone", "GET /v1/contacts/{contact_id}", [people["bob"]])
    (entry,) = trail.entries(people["bob"])
    assert entry.at.utcoffset() == timedelta(0) and abs(datetime.now(UTC) - entry.at) < timedelta(minutes=1)
