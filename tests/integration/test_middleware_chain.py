"""The API's middlewares (plain ASGI): what each does to a request or an answer that no
other test looks at directly, and that an event stream passes through them as it is sent."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from api.app import create_app
from api.masking import MASK, MaskPersonalFields


@pytest.fixture
def client(embedded) -> TestClient:
    return TestClient(create_app(embedded), headers={"X-Actor": "ana"})


def recorded(container) -> int:
    return container.store.recorder.max_notification_id() or 0


@pytest.mark.parametrize(
    ("url", "what"),
    [("/v1/contacts?q=Ada%00", "a NUL character"), ("/v1/contacts/%FF%FE", "bytes that are not UTF-8")],
)
def test_a_url_no_store_can_hold_is_refused_422(client, url, what):
    answer = client.get(url)
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["code"] == "invalid_text" and what in body["detail"]
    assert body["instance"].startswith("/v1/contacts")


def test_while_the_gate_is_closed_v1_requests_are_answered_503_without_running(embedded, client):
    before = recorded(embedded)
    client.app.state.store_gate.trip()  # as a request that just found a store down does
    answer = client.post("/v1/contacts", json={"name": "Ada"})
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.json()["code"] == "store_unavailable" and answer.json()["instance"] == "/v1/contacts"
    assert recorded(embedded) == before
    assert client.get("/healthz").status_code == 200  # not a /v1/ route: answered


def test_a_first_page_gets_a_session_cookie_and_every_page_the_strict_headers(client):
    page = client.get("/app/signin")
    assert page.status_code == 200
    cookies = [c for c in page.headers.get_list("set-cookie") if c.startswith("crm_session=")]
    assert len(cookies) == 1
    flags = {part.strip().lower() for part in cookies[0].split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/app"} <= flags
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]

    again = client.get("/app/signin")  # the client sends the cookie back: it is kept
    assert not any(c.startswith("crm_session=") for c in again.headers.get_list("set-cookie"))

    style = client.get("/app/static/app.css")  # static: the policy, but cacheable
    assert style.status_code == 200 and style.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" not in style.headers.get("Cache-Control", "")
    assert "Content-Security-Policy" not in client.get("/healthz").headers


def run(app, sent: list[Message]) -> None:
    scope: Scope = {"type": "http", "method": "GET", "path": "/v1/x", "headers": [], "state": {}}

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    # A loop of its own in a thread of its own: the process may already run one (Playwright's
    # sync API keeps a loop running in the main thread once a browser test has used it).
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, MaskPersonalFields(app)(scope, receive, send)).result()


def test_a_masked_json_answer_sent_in_pieces_is_masked_whole_with_its_new_length():
    whole = json.dumps({"id": "c1", "name": "Ada Lovelace", "email": "ada@example.com", "score": 7}).encode()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"]["masked"] = True
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(whole)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": whole[:20], "more_body": True})
        await send({"type": "http.response.body", "body": whole[20:], "more_body": False})

    sent: list[Message] = []
    run(app, sent)
    start, body = sent
    shown = json.loads(body["body"])
    assert shown == {"id": "c1", "name": MASK, "email": MASK, "score": 7}
    assert dict(start["headers"])[b"content-length"] == str(len(body["body"])).encode()
    assert [k for k, _ in start["headers"]].count(b"content-length") == 1


def test_a_stream_to_a_masked_caller_passes_each_piece_on_as_it_is_sent():
    sent: list[Message] = []
    seen_before_next: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["state"]["masked"] = True
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        for block in (b"id: 1\ndata: {}\n\n", b"id: 2\ndata: {}\n\n"):
            await send({"type": "http.response.body", "body": block, "more_body": True})
            seen_before_next.append(len(sent))
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    run(app, sent)
    assert seen_before_next == [2, 3]  # the start and each block reached the server at once
    assert [m.get("body") for m in sent[1:]] == [b"id: 1\ndata: {}\n\n", b"id: 2\ndata: {}\n\n", b""]
