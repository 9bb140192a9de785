"""Errors a user can cause get problem+json with a stable code, and change nothing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from commands.bus import UnitOfWork
from commands.contact import CreateContact, RecordInteraction
from commands.errors import ConcurrencyConflict
from domain.meta import Meta


@pytest.fixture
def client(embedded):
    return TestClient(create_app(embedded))


@pytest.fixture
def contact_id(client):
    return client.post("/v1/contacts", json={"name": "Ada"}).json()["id"]


def recorded(container) -> int:
    return container.store.recorder.max_notification_id() or 0


def assert_problem(answer, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["code"] == code and body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return body


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        (
            "post",
            "/v1/contacts",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            422,
            "validation_error",
        ),
        ("post", "/v1/contacts", {"json": {"email": "a@b.example"}}, 422, "validation_error"),
        ("post", "/v1/contacts", {"json": {"name": "Ada", "email": "not-an-email"}}, 422, "validation_error"),
        ("post", "/v1/contacts", {"json": {"name": "Ada", "shoe_size": 9}}, 422, "validation_error"),
        ("post", "/v1/contacts/{id}/interactions", {"json": {"type": "telepathy"}}, 422, "validation_error"),
        (
            "post",
            "/v1/contacts/{id}/interactions",
            {"json": {"type": "call", "occurred_at": "2026-01-01T10:00:00"}},
            422,
            "validation_error",
        ),
        ("patch", "/v1/contacts/{id}", {"json": {}}, 422, "validation_error"),
        ("patch", "/v1/contacts/{id}", {"json": {"name": None}}, 422, "validation_error"),
        (
            "patch",
            "/v1/contacts/{id}",
            {"json": {"owner": "x"}, "headers": {"If-Match": '"7"'}},
            409,
            "concurrency_conflict",
        ),
        (
            "patch",
            "/v1/contacts/{id}",
            {"json": {"owner": "x"}, "headers": {"If-Match": "yesterday"}},
            422,
            "validation_error",
        ),
        ("patch", "/v1/contacts/00000000-0000-0000-0000-000000000001", {"json": {"owner": "x"}}, 404, "not_found"),
        ("post", "/v1/contacts/not-a-uuid/interactions", {"json": {"type": "call"}}, 422, "validation_error"),
        ("get", "/v1/contacts/00000000-0000-0000-0000-000000000001", {}, 404, "not_found"),
        ("get", "/v1/nowhere", {}, 404, "not_found"),
        ("delete", "/v1/contacts", {}, 405, "method_not_allowed"),
    ],
)
def test_bad_requests_get_a_problem_and_record_nothing(
    embedded, client, contact_id, method, path, kwargs, status, code
):
    before = recorded(embedded)
    answer = client.request(method.upper(), path.format(id=contact_id), **kwargs)
    assert_problem(answer, status, code)
    assert recorded(embedded) == before


def test_matching_if_match_is_accepted_and_answers_the_new_etag(client, contact_id):
    answer = client.patch(f"/v1/contacts/{contact_id}", json={"owner": "ben"}, headers={"If-Match": '"1"'})
    assert answer.status_code == 200
    assert answer.headers["ETag"] == '"2"'


def test_with_api_keys_a_command_needs_a_known_key_and_records_its_principal(embedded):
    embedded.settings.api_keys = {"alice": SecretStr("s3cret")}
    client = TestClient(create_app(embedded))
    assert_problem(client.post("/v1/contacts", json={"name": "Ada"}), 401, "unauthorized")
    wrong = client.post("/v1/contacts", json={"name": "Ada"}, headers={"Authorization": "Bearer nope"})
    assert_problem(wrong, 401, "unauthorized")
    assert recorded(embedded) == 0
    ok = client.post(
        "/v1/contacts", json={"name": "Ada"}, headers={"Authorization": "Bearer s3cret", "X-Actor": "mallory"}
    )
    assert ok.status_code == 201
    [notification] = embedded.store.recorder.select_notifications(start=1, limit=1)
    assert embedded.store.mapper.to_domain_event(notification).meta.actor == "alice"


def test_racing_commands_on_one_contact_one_wins_the_other_gets_a_conflict(production, monkeypatch):
    meta = Meta(actor="t", correlation_id="race", causation_id="race")
    created = production.commands.execute(CreateContact(name="Ada"), meta)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []
    load = UnitOfWork.load

    def load_then_wait(self, cls, aggregate_id, expected_version=None):
        aggregate = load(self, cls, aggregate_id, expected_version)
        barrier.wait(timeout=10)  # both commands have read version 1 before either saves
        return aggregate

    monkeypatch.setattr(UnitOfWork, "load", load_then_wait)

    def command(kind: str) -> None:
        try:
            outcomes.append(production.commands.execute(RecordInteraction(created.id, kind, datetime.now(UTC)), meta))
        except ConcurrencyConflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=command, args=(k,)) for k in ("email_opened", "page_visited")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    monkeypatch.undo()

    conflicts = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
    wins = [o for o in outcomes if not isinstance(o, ConcurrencyConflict)]
    assert len(conflicts) == 1 and len(wins) == 1
    assert conflicts[0].code == "concurrency_conflict"
    contact = production.store.repository.get(created.id)
    assert contact.version == 2
    assert contact.lead_score == wins[0].extra["lead_score"]
