"""The web app's guards, without a browser: CSRF refusals change nothing, the session's
cookies carry their flags, every page carries the strict Content-Security-Policy and holds
nothing it would block, the vendored files are the ones recorded, and the audit pages read
the event store (an earlier state by time, a broken link by position)."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from commands.access import CreateApiKey
from commands.contact import ChangeContactDetails, CreateContact
from crm.wiring import Container
from domain.meta import Meta
from web import CONTENT_SECURITY_POLICY

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "web" / "static" / "vendor"
META = Meta("web.test", "web", "web")


def projected(container: Container) -> None:
    container.projector("oltp").run_until_idle(timeout=0.5)


def token_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def history(container: Container, contact: UUID) -> list[str]:
    return [entry.type for entry in container.audit.history(contact)]


@pytest.fixture
def contact(embedded: Container) -> UUID:
    made = embedded.commands.execute(CreateContact(name="Ada Lovelace", email="ada@example.com"), META).id
    projected(embedded)
    return UUID(str(made))


def test_a_form_without_the_sessions_token_is_refused_and_changes_nothing(embedded, contact):
    client = TestClient(create_app(embedded))
    page = client.get(f"/app/contacts/{contact}")
    assert page.status_code == 200
    token = token_of(page.text)
    action = f"/app/contacts/{contact}/lifecycle"

    for sent in ({}, {"csrf_token": "0" * 64}, {"csrf_token": token[:-1] + "x"}):
        refused = client.post(action, data={"stage": "lead", **sent}, follow_redirects=False)
        assert refused.status_code == 403 and 'data-code="csrf_failed"' in refused.text
    # Another browser's token is worth nothing in this one.
    other = TestClient(create_app(embedded))
    other_token = token_of(other.get(f"/app/contacts/{contact}").text)
    assert other_token != token
    refused = client.post(action, data={"stage": "lead", "csrf_token": other_token}, follow_redirects=False)
    assert refused.status_code == 403
    assert history(embedded, contact) == ["crm.contact.created.v1"]

    accepted = client.post(action, data={"stage": "lead", "csrf_token": token}, follow_redirects=False)
    assert accepted.status_code == 303
    # htmx sends the token as a header.
    htmx = client.post(
        action,
        data={"stage": "customer"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        follow_redirects=False,
    )
    assert htmx.status_code == 200
    assert history(embedded, contact)[1:] == ["crm.contact.lifecycle_stage_changed.v1"] * 2


def test_a_refused_command_answers_the_rule_and_records_nothing(embedded, contact):
    client = TestClient(create_app(embedded))
    token = token_of(client.get(f"/app/contacts/{contact}").text)
    client.post(f"/app/contacts/{contact}/lifecycle", data={"stage": "customer", "csrf_token": token})
    refused = client.post(
        f"/app/contacts/{contact}/lifecycle",
        data={"stage": "lead"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert refused.status_code == 409
    assert refused.headers["HX-Retarget"] == "#alerts"
    assert 'data-code="invalid_lifecycle_transition"' in refused.text
    assert "cannot go from customer to lead" in refused.text
    assert len(history(embedded, contact)) == 2


def test_signing_in_sets_httponly_samesite_strict_cookies_secure_over_https(embedded):
    key = embedded.commands.execute(CreateApiKey("sales-key", ("sales",)), META).extra["key"]
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        client = TestClient(create_app(embedded), base_url=base)
        form = client.get("/app/signin")
        signed = client.post(
            "/app/signin",
            data={"key": key, "next": "/app/contacts", "csrf_token": token_of(form.text)},
            follow_redirects=False,
        )
        assert signed.status_code == 303 and signed.headers["location"] == "/app/contacts"
        cookies = {c.split("=", 1)[0]: c for c in signed.headers.get_list("set-cookie")}
        assert set(cookies) == {"crm_key", "crm_session"}
        for cookie in cookies.values():
            flags = {part.strip().lower() for part in cookie.split(";")[1:]}
            assert {"httponly", "samesite=strict", "path=/app"} <= flags
            assert ("secure" in flags) is secure
        # The session changed at sign-in: a value planted before it is worth nothing.
        assert cookies["crm_session"].split(";")[0].split("=", 1)[1] != form.cookies.get("crm_session")


def test_a_wrong_key_is_refused_and_sign_in_goes_nowhere_but_this_app(embedded):
    key = embedded.commands.execute(CreateApiKey("auditor-key", ("auditor",)), META).extra["key"]
    client = TestClient(create_app(embedded))
    assert client.get("/app/audit", follow_redirects=False).headers["location"] == "/app/signin?next=/app/audit"
    token = token_of(client.get("/app/signin").text)
    wrong = client.post("/app/signin", data={"key": key + "x", "csrf_token": token}, follow_redirects=False)
    assert wrong.status_code == 401 and "crm_key" not in wrong.headers.get("set-cookie", "")
    without_token = client.post("/app/signin", data={"key": key}, follow_redirects=False)
    assert without_token.status_code == 403 and "crm_key" not in without_token.headers.get("set-cookie", "")
    away = client.post(
        "/app/signin", data={"key": key, "csrf_token": token, "next": "//evil.example/x"}, follow_redirects=False
    )
    assert away.headers["location"] == "/app/"


def test_every_page_carries_the_strict_policy_and_nothing_it_would_block(embedded, contact):
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "'unsafe-eval'" not in CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    client = TestClient(create_app(embedded))
    pages = [
        "/app/signin",
        "/app/contacts",
        "/app/contacts?q=ada",
        f"/app/contacts/{contact}",
        "/app/audit",
        f"/app/audit/contacts/{contact}",
        f"/app/contacts/{UUID(int=1)}",  # the 404 page
        "/app/nowhere",
    ]
    for path in pages:
        answer = client.get(path)
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert answer.headers["cache-control"] == "no-store", path
        html = answer.text
        scripts = re.findall(r"<script\b([^>]*)>", html)
        assert scripts and all("src=" in s or 'type="application/json"' in s for s in scripts), path
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path
        assert not re.search(r"(src|href)=\"(https?:)?//", html), path  # nothing from another host
    assert client.get("/", follow_redirects=False).headers["location"] == "/app/"


def test_the_pages_stay_out_of_the_api_contract(embedded):
    paths = TestClient(create_app(embedded)).get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith("/app")]


def test_the_vendored_files_are_the_ones_recorded():
    folders = [f for f in VENDOR.iterdir() if f.is_dir()]
    assert "htmx" in {f.name for f in folders}
    for folder in folders:
        record = json.loads((folder / "VENDORED.json").read_text())
        assert record["package"] and record["version"] and record["tarball_integrity"].startswith("sha512-")
        files = {f.name for f in folder.iterdir() if f.name != "VENDORED.json"}
        assert files == set(record["files"]), folder
        for name, expected in record["files"].items():
            assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == expected["sha256"], folder / name
    assert json.loads((VENDOR / "htmx" / "VENDORED.json").read_text())["version"].startswith("2.")


def test_the_audit_page_shows_an_earlier_state_by_time_and_a_broken_link_by_position(embedded, contact):
    embedded.commands.execute(ChangeContactDetails(contact, {"email": "ada@later.example"}), META)
    first, second = list(embedded.audit.history(contact))
    client = TestClient(create_app(embedded))
    now = client.get(f"/app/audit/contacts/{contact}")
    assert 'data-field="email">ada@later.example<' in now.text
    then = client.get(f"/app/audit/contacts/{contact}", params={"as_of": first.time.isoformat()})
    assert 'data-field="email">ada@example.com<' in then.text
    assert 'data-field="version">1<' in then.text
    assert client.get(f"/app/audit/contacts/{contact}", params={"as_of": "yesterday"}).status_code == 422

    assert 'data-clean="true"' in client.get("/app/audit/verify").text
    db = sqlite3.connect(embedded.settings.data_dir / "events.sqlite", isolation_level=None)
    try:
        state = json.loads(
            db.execute("SELECT state FROM stored_events WHERE rowid = ?", (second.position,)).fetchone()[0]
        )
        state["changes"] = {"email": "forged"}
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (json.dumps(state).encode(), second.position))
    finally:
        db.close()
    verdict = client.get("/app/audit/verify").text
    assert 'data-clean="false"' in verdict
    assert re.findall(r'class="num finding-position">(\d+)<', verdict) == [str(second.position)]


def test_the_audit_downloads_answer_what_the_api_answers(embedded, contact):
    client = TestClient(create_app(embedded))
    [created] = list(embedded.audit.history(contact))
    start, end = created.time.replace(microsecond=0), created.time.replace(microsecond=0) + timedelta(seconds=1)
    csv = client.get(
        "/app/audit/trail.csv", params={"from": f"{start:%Y-%m-%dT%H:%M:%S}", "to": f"{end:%Y-%m-%dT%H:%M:%S}"}
    )
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("position,time,") and len(lines) == 2 and str(contact) in lines[1]
    backwards = client.get(
        "/app/audit/trail.csv", params={"from": f"{end:%Y-%m-%dT%H:%M:%S}", "to": f"{start:%Y-%m-%dT%H:%M:%S}"}
    )
    assert backwards.status_code == 422 and 'data-code="validation_error"' in backwards.text

    dsar = client.get(f"/app/audit/contacts/{contact}/export")
    assert dsar.status_code == 200 and json.loads(dsar.text)["contact"]["state"]["email"] == "ada@example.com"
    assert client.get(f"/app/audit/contacts/{UUID(int=7)}/export").status_code == 404
