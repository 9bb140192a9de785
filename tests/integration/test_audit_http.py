"""The audit routes: history, state as of, DSAR export and audit trail, with their 404s
and 422s, on the embedded store and on PostgreSQL."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from crm.settings import Settings
from crm.wiring import Container


@pytest.fixture(params=["embedded", "production"])
def container(request) -> Container:
    return request.getfixturevalue(request.param)


@pytest.fixture
def client(container) -> TestClient:
    return TestClient(create_app(container), headers={"X-Actor": "ana"})


def ok(answer, status: int = 200):
    assert answer.status_code == status, answer.text
    return answer


def refused(answer, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code, answer.text


def instant() -> str:
    time.sleep(0.002)
    moment = datetime.now(UTC)
    time.sleep(0.002)
    return moment.isoformat().replace("+00:00", "Z")


def a_contact_with_a_case(client) -> tuple[str, str, dict[str, str]]:
    contact = ok(client.post("/v1/contacts", json={"name": "Grace", "owner": "ana"}), 201).json()["id"]
    ok(client.post(f"/v1/contacts/{contact}/interactions", json={"type": "email_opened"}), 201)
    case = ok(client.post("/v1/cases", json={"contact_id": contact, "subject": "Help"}), 201).json()["id"]
    t1 = instant()
    ok(client.post(f"/v1/contacts/{contact}/interactions", json={"type": "page_visited"}), 201)
    ok(client.post(f"/v1/cases/{case}/respond", json={}, headers={"X-Actor": "sam"}))
    t2 = instant()
    return contact, case, {"t1": t1, "t2": t2}


def test_history_streams_a_json_array_in_event_store_order(client):
    contact, case, t = a_contact_with_a_case(client)
    answer = ok(client.get(f"/v1/audit/contacts/{contact}/history"))
    assert answer.headers["content-type"] == "application/json"
    history = answer.json()
    assert [(h["aggregate_type"], h["version"]) for h in history] == [
        ("contact", 1),
        ("contact", 2),
        ("case", 1),
        ("contact", 3),
        ("case", 2),
    ]
    assert [h["position"] for h in history] == sorted(h["position"] for h in history)
    assert history[4]["actor"] == "sam" and history[4]["type"] == "crm.case.responded.v1"
    assert history[3]["summary"] == "Page visited: +20 points, score 30"
    assert {"correlation_id", "causation_id", "time", "data", "aggregate_id"} <= set(history[0])

    cut = ok(client.get(f"/v1/audit/contacts/{contact}/history", params={"as_of": t["t1"]})).json()
    assert cut == history[:3]


def test_state_as_of_is_the_contact_rebuilt_at_that_time(client):
    contact, _, t = a_contact_with_a_case(client)
    then = ok(client.get(f"/v1/audit/contacts/{contact}/state", params={"as_of": t["t1"]})).json()
    assert (then["version"], then["state"]["lead_score"]) == (2, 10)
    assert then["as_of"] == t["t1"]
    now = ok(client.get(f"/v1/audit/contacts/{contact}/state")).json()
    assert (now["version"], now["state"]["lead_score"], now["as_of"]) == (3, 30, None)
    # An offset instead of Z, written %2B in the URL.
    same = client.get(f"/v1/audit/contacts/{contact}/state?as_of={t['t1'][:-1]}%2B00:00")
    assert ok(same).json()["version"] == 2


def test_export_is_the_dsar_document_and_trail_is_csv(client):
    contact, case, t = a_contact_with_a_case(client)
    export = ok(client.get(f"/v1/audit/contacts/{contact}/export"))
    assert "attachment" in export.headers["content-disposition"]
    document = export.json()
    assert document["contact"]["state"]["name"] == "Grace"
    assert [c["state"]["id"] for c in document["cases"]] == [case]
    assert len(document["history"]) == 5

    trail = ok(client.get("/v1/audit/trail", params={"from": t["t1"], "to": t["t2"]}))
    assert trail.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(trail.text)))
    assert [(r["aggregate_type"], r["version"]) for r in rows] == [("contact", "3"), ("case", "2")]


def test_unknown_contacts_are_404_and_bad_times_422(client):
    contact, case, _ = a_contact_with_a_case(client)
    for path in ("history", "state", "export"):
        refused(client.get(f"/v1/audit/contacts/{uuid4()}/{path}"), 404, "not_found")
        refused(client.get(f"/v1/audit/contacts/{case}/{path}"), 404, "not_found")  # a case is not a contact
    refused(
        client.get(f"/v1/audit/contacts/{contact}/state", params={"as_of": "2000-01-01T00:00:00Z"}), 404, "not_found"
    )
    for bad in ("yesterday", "2026-03-01T09:00:00", "2026-13-01T00:00:00Z"):
        refused(client.get(f"/v1/audit/contacts/{contact}/history", params={"as_of": bad}), 422, "validation_error")
        refused(client.get(f"/v1/audit/contacts/{contact}/state", params={"as_of": bad}), 422, "validation_error")
    refused(client.get("/v1/audit/contacts/not-an-id/history"), 422, "validation_error")
    refused(client.get("/v1/audit/trail", params={"from": "2026-03-02T00:00:00Z"}), 422, "validation_error")
    backwards = {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}
    refused(client.get("/v1/audit/trail", params=backwards), 422, "validation_error")


def test_with_api_keys_the_audit_routes_need_a_key(tmp_path):
    container = Container(Settings(data_dir=tmp_path / "data", api_keys={"auditor": "s3cret"}))
    try:
        client = TestClient(create_app(container))
        refused(client.get(f"/v1/audit/contacts/{uuid4()}/history"), 401, "unauthorized")
        refused(
            client.get("/v1/audit/trail", params={"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}),
            401,
            "unauthorized",
        )
        answer = client.get(
            "/v1/audit/trail",
            params={"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"},
            headers={"Authorization": "Bearer s3cret"},
        )
        assert ok(answer).text.splitlines() == [
            "position,time,aggregate_type,aggregate_id,version,type,actor,correlation_id,causation_id,occurred_at,summary"
        ]
    finally:
        container.close()
