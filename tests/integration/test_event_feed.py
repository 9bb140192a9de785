"""The pull feed (``GET /v1/events``) and the live stream (``GET /v1/events/stream``): every
event once, in position order, chosen by type pattern and subject, sealed as on Kafka,
for the roles allowed ``events:read`` only."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from commands.access import CreateApiKey
from crm.settings import Settings
from crm.wiring import Container
from domain.meta import Meta

ADMIN = Meta("admin", "keys", "keys")
STAGES = [
    {"key": "qualify", "name": "Qualify", "probability": 0.1},
    {"key": "proposal", "name": "Proposal", "probability": 0.5},
]
SSE = {"Accept": "text/event-stream"}


class Story:
    """An embedded store with a key for a service and one for sales, and some of each."""

    ada: str
    deal: str

    def __init__(self, settings: Settings) -> None:
        self.container = Container(settings)
        execute = self.container.commands.execute
        self.service_key = execute(CreateApiKey("feed-reader", ("service",)), ADMIN).extra["key"]
        self.sales_key = execute(CreateApiKey("seller", ("sales",)), ADMIN).extra["key"]
        self.client = TestClient(create_app(self.container))
        self.reader = {"Authorization": f"Bearer {self.service_key}"}
        self.seller = {"Authorization": f"Bearer {self.sales_key}"}

    def write(self, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        answer = self.client.post(path, json=body, headers=self.seller)
        assert answer.status_code == status, answer.text
        return answer.json()

    def contact(self, name: str, **fields: Any) -> str:
        return str(self.write("/v1/contacts", {"name": name, **fields})["id"])

    def head(self) -> int:
        return int(self.container.store.recorder.max_notification_id() or 0)

    def events(self, **params: Any) -> httpx.Response:
        return self.client.get("/v1/events", params=params, headers=self.reader)


def told(settings: Settings) -> Story:
    story = Story(settings)
    story.ada = story.contact("Ada Lovelace", email="ada@example.com")
    for n in range(12):
        story.contact(f"Reader {n}")
    pipeline = story.write("/v1/pipelines", {"name": "New business", "stages": STAGES})["id"]
    story.deal = story.write(
        "/v1/deals", {"pipeline_id": pipeline, "title": "50 seats", "contact_id": story.ada, "amount": "1200"}
    )["id"]
    story.write(f"/v1/deals/{story.deal}/stage", {"stage": "proposal"}, 200)
    story.write(f"/v1/contacts/{story.ada}/interactions", {"type": "content_downloaded"}, 201)
    return story


@pytest.fixture
def story(tmp_path: Path) -> Iterator[Story]:
    """The story over the embedded (SQLite) event store."""
    story = told(Settings(data_dir=tmp_path / "data"))
    yield story
    story.container.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def either_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Story]:
    """The same story over each event store: their recorders select notifications apiece."""
    settings = Settings(data_dir=tmp_path / "data")
    if request.param == "postgresql":
        dsn = request.getfixturevalue("postgres_dsn")
        settings = Settings(data_dir=tmp_path / "data", event_store=dsn, oltp_dsn=dsn)
    story = told(settings)
    yield story
    story.container.close()


def page(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    return answer.json()


def test_paging_after_next_visits_every_event_once_in_position_order(either_store: Story):
    story = either_store
    positions: list[int] = []
    after = 0
    for _ in range(50):  # bounded: 7 a page, about 20 events
        answer = story.events(after=after, limit=7)
        body = page(answer)
        assert answer.headers["link"] == f'</v1/events?after={body["next"]}&limit=7>; rel="next"'
        positions += [event["position"] for event in body["events"]]
        if not body["events"]:
            assert body["next"] == after  # nothing newer: ask again from the same place
            break
        assert len(body["events"]) <= 7
        after = body["next"]
    assert positions == list(range(1, story.head() + 1))


def test_the_feed_answers_the_cloudevents_kafka_carries_with_personal_fields_sealed(story: Story):
    answer = story.events(after=0, limit=1000)
    events = page(answer)["events"]
    first_contact = next(e for e in events if e["type"] == "crm.contact.created.v1")
    assert first_contact["specversion"] == "1.0" and first_contact["subject"] == story.ada
    assert first_contact["source"] == "/eventcrm/contact" and first_contact["chainhash"]
    assert first_contact["data"]["email"].startswith("enc:v1:")
    assert "ada@example.com" not in answer.text and "Lovelace" not in answer.text
    assert [e["actor"] for e in events if e["type"].startswith("crm.contact.")] == ["seller"] * 14


def test_type_patterns_choose_events_and_next_skips_the_rest(either_store: Story):
    story = either_store
    deals = page(story.events(types="crm.deal.*"))
    assert [e["type"] for e in deals["events"]] == ["crm.deal.created.v1", "crm.deal.stage_changed.v1"]
    assert deals["next"] == story.head()  # past the events the filter left out, too

    both = page(story.events(types="crm.deal.*,crm.pipeline.*"))
    repeated = page(story.client.get("/v1/events?types=crm.pipeline.*&types=crm.deal.*", headers=story.reader))
    assert both == repeated
    assert {e["type"].split(".")[1] for e in both["events"]} == {"deal", "pipeline"}
    created = page(story.events(types="crm.contact.created.v?"))["events"]
    assert len(created) == 13 and {e["type"] for e in created} == {"crm.contact.created.v1"}


def test_subjects_choose_the_events_of_those_aggregates(either_store: Story):
    story = either_store
    ada, deal = story.ada, story.deal
    of_ada = page(story.events(subjects=ada))["events"]
    assert {e["subject"] for e in of_ada} == {ada} and len(of_ada) >= 2
    of_both = page(story.client.get(f"/v1/events?subjects={ada}&subjects={deal}", headers=story.reader))["events"]
    assert {e["subject"] for e in of_both} == {ada, deal}
    assert [e["position"] for e in of_both] == sorted(e["position"] for e in of_both)
    deal_moves = page(story.events(subjects=deal, types="crm.deal.stage_changed.*"))["events"]
    assert [e["type"] for e in deal_moves] == ["crm.deal.stage_changed.v1"]


def test_an_unknown_type_pattern_or_a_bad_position_is_refused(story: Story):
    refused = story.events(types="crm.dael.*")
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "unknown_event_type"
    assert "'crm.dael.*'" in refused.json()["detail"] and refused.json()["patterns"] == ["crm.dael.*"]
    for params in ({"after": -1}, {"after": "x"}, {"limit": 0}, {"limit": 1001}, {"subjects": "not-an-id"}):
        answer = story.events(**params)
        assert answer.status_code == 422 and answer.json()["code"] == "validation_error", params
    stream = story.client.get("/v1/events/stream?types=crm.nope", headers={**story.reader, **SSE})
    assert stream.status_code == 422 and stream.json()["code"] == "unknown_event_type"


def test_only_a_role_allowed_events_read_reads_the_feed_and_the_stream(story: Story):
    for path in ("/v1/events", "/v1/events/stream"):
        forbidden = story.client.get(path, headers={**story.seller, **SSE})
        assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden", path
        assert story.client.get(path, headers=SSE).status_code == 401
    assert story.events().status_code == 200


# -- the live stream -------------------------------------------------------------------


def messages(response: httpx.Response, until: int, deadline: float = 10.0) -> Iterator[dict[str, str]]:
    """The stream's blocks, each as its fields (a comment under ``:``), until ``until`` of
    them (the stream keeps going: ``heartbeat=1`` makes sure lines keep coming)."""
    stop = time.monotonic() + deadline
    block: dict[str, str] = {}
    seen = 0
    for line in response.iter_lines():
        assert time.monotonic() < stop, f"only {seen} blocks within {deadline}s"
        if line:
            field, _, value = line.partition(":")
            block[field] = value.removeprefix(" ")
            continue
        yield block
        block = {}
        seen += 1
        if seen == until:
            return


def events_in(blocks: Iterator[dict[str, str]], count: int) -> list[dict[str, str]]:
    """The next ``count`` event messages, keep-alives passed over."""
    found = []
    for block in blocks:
        if "data" in block:
            assert "event" not in block  # the default type: EventSource's onmessage fires
            found.append(block)
            if len(found) == count:
                break
    assert len(found) == count
    return found


def stream(story: Story, query: str = "", **headers: str):
    return story.client.stream(
        "GET", f"/v1/events/stream?heartbeat=1{query}", headers={**story.reader, **SSE, **headers}
    )


def test_the_stream_sends_every_event_with_its_position_as_id_then_new_ones_live(story: Story):
    head = story.head()
    with stream(story, "&after=0") as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert answer.headers["cache-control"] == "no-store" and answer.headers["x-accel-buffering"] == "no"
        blocks = messages(answer, until=head + 20)
        assert next(blocks) == {"retry": "2000"}
        old = events_in(blocks, head)
        assert [int(m["id"]) for m in old] == list(range(1, head + 1))
        assert all(json.loads(m["data"])["position"] == int(m["id"]) for m in old)
        assert all("ada@example.com" not in m["data"] for m in old)

        story.contact("Live one")  # recorded while the stream is open
        (live,) = events_in(blocks, 1)
        assert int(live["id"]) == head + 1 and json.loads(live["data"])["type"] == "crm.contact.created.v1"
        # idle now: a keep-alive comment within about a second
        assert next(blocks) == {"": "keep-alive"}


def test_the_stream_goes_on_after_last_event_id_rather_than_after(story: Story):
    head = story.head()
    with stream(story, "&after=1", **{"Last-Event-ID": "5"}) as answer:
        received = events_in(messages(answer, until=head + 10), head - 5)
    assert [int(m["id"]) for m in received] == list(range(6, head + 1))


def test_the_stream_starts_at_the_newest_event_by_default_and_filters_like_the_feed(story: Story):
    head = story.head()
    with stream(story, "&types=crm.deal.*") as answer:
        blocks = messages(answer, until=20)
        assert next(blocks) == {"retry": "2000"}
        story.contact("Not a deal")
        story.write(f"/v1/deals/{story.deal}/stage", {"stage": "qualify"}, 200)
        (moved,) = events_in(blocks, 1)
    assert int(moved["id"]) == head + 2 and json.loads(moved["data"])["type"] == "crm.deal.stage_changed.v1"


def test_the_stream_refuses_before_it_starts_a_bad_last_event_id_or_a_client_not_accepting_it(story: Story):
    for bad in ("abc", "-1", "1.5"):
        answer = story.client.get("/v1/events/stream", headers={**story.reader, **SSE, "Last-Event-ID": bad})
        assert answer.status_code == 422 and answer.json()["code"] == "validation_error", bad
    for accept in (None, "*/*", "application/json", "text/event-stream;q=0"):
        headers = {**story.reader, **({"Accept": accept} if accept else {})}
        answer = story.client.get("/v1/events/stream", headers=headers)
        assert answer.status_code == 406 and answer.json()["code"] == "not_acceptable", accept
    heartbeat = story.client.get("/v1/events/stream?heartbeat=0", headers={**story.reader, **SSE})
    assert heartbeat.status_code == 422
