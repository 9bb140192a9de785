"""The AsyncAPI document names every event type on every transport, with the published
schemas, and the API serves exactly it. (Its validity by the official parser:
tests/integration/test_asyncapi_valid.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from crm.settings import Settings
from crm.wiring import Container
from domain.registry import AGGREGATES, EVENT_TYPES, aggregate_type_of
from streams import asyncapi, contract
from streams.envelope import ATTRIBUTES, CONTENT_TYPE
from streams.topics import all_topics, topic_for


@pytest.fixture(scope="module")
def doc() -> dict:
    return asyncapi.document()


def _resolve(doc: dict, ref: dict) -> dict:
    node = doc
    for part in ref["$ref"].removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _every_ref(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _every_ref(value)]
    if isinstance(node, list):
        return [r for value in node for r in _every_ref(value)]
    return []


def test_the_document_is_asyncapi_3_0_0_written_from_eventcrms_side(doc):
    assert doc["asyncapi"] == "3.0.0"
    assert doc["defaultContentType"] == CONTENT_TYPE == "application/cloudevents+json"
    assert {op["action"] for op in doc["operations"].values()} == {"send"}
    assert "written from eventcrm's side" in doc["info"]["description"]
    assert "/v1/events?after=&types=&limit=" in doc["info"]["description"]


def test_every_topic_has_a_channel_on_the_kafka_server(doc):
    addresses = {c["address"]: c for c in doc["channels"].values() if c["servers"] == [{"$ref": "#/servers/kafka"}]}
    assert sorted(addresses) == sorted(all_topics())
    assert doc["servers"]["kafka"]["protocol"] == "kafka"


def test_a_deployment_prefix_names_the_topics(doc):
    other = asyncapi.document("acme")
    assert [other["channels"][f"kafka.{a}"]["address"] for a in AGGREGATES] == all_topics("acme")
    assert other["components"] == doc["components"]


def test_every_event_type_has_a_message_on_its_topic_on_webhooks_and_on_the_stream(doc):
    for aggregate in AGGREGATES:
        channel = doc["channels"][f"kafka.{aggregate}"]
        assert channel["address"] == topic_for(aggregate)
        assert sorted(channel["messages"]) == sorted(t for t in EVENT_TYPES if aggregate_type_of(t) == aggregate)
    for name in ("webhook", "stream"):
        assert sorted(doc["channels"][name]["messages"]) == sorted(EVENT_TYPES)


def test_every_operation_sends_all_the_messages_of_its_channel(doc):
    for name, operation in doc["operations"].items():
        channel = _resolve(doc, operation["channel"])
        sent = [_resolve(doc, ref) for ref in operation["messages"]]
        assert sent == list(channel["messages"].values()), name


def test_each_message_is_the_cloudevent_of_its_type_with_the_published_schema(doc):
    for channel in doc["channels"].values():
        for event_type, message in channel["messages"].items():
            payload = _resolve(doc, message["payload"])
            published = json.loads((contract.SCHEMA_DIR / f"{event_type}.json").read_text())
            assert payload == {k: v for k, v in published.items() if k not in ("$schema", "$id")}
            assert payload["properties"]["type"] == {"const": event_type}
            assert set(payload["properties"]) == {*ATTRIBUTES, "chainhash", "chainprev"}
            assert message["name"] == event_type and message["contentType"] == CONTENT_TYPE


def test_the_kafka_record_key_is_the_subject(doc):
    trait = doc["components"]["messageTraits"]["kafka"]
    assert trait["bindings"]["kafka"]["key"]["format"] == "uuid"
    assert "subject" in trait["bindings"]["kafka"]["key"]["description"]
    assert trait["headers"]["properties"]["content-type"] == {"const": CONTENT_TYPE}
    for aggregate in AGGREGATES:
        for message in doc["channels"][f"kafka.{aggregate}"]["messages"].values():
            assert message["traits"] == [{"$ref": "#/components/messageTraits/kafka"}]


def test_webhook_requests_carry_the_standard_webhooks_headers(doc):
    channel = doc["channels"]["webhook"]
    assert channel["address"] is None
    assert doc["servers"]["subscriber"]["protocol"] in ("http", "https")
    headers = doc["components"]["messageTraits"]["webhook"]["headers"]
    expected = {"Content-Type", "webhook-id", "webhook-timestamp", "webhook-signature"}
    assert set(headers["required"]) == set(headers["properties"]) == expected
    assert headers["properties"]["Content-Type"] == {"const": CONTENT_TYPE}
    assert doc["operations"]["webhook"]["bindings"]["http"]["method"] == "POST"
    for message in channel["messages"].values():
        assert message["traits"] == [{"$ref": "#/components/messageTraits/webhook"}]
    for promise in ("2xx", "10 s", "3 days", "410 Gone", "per subject", "{webhook-id}.{webhook-timestamp}.{body}"):
        assert promise in channel["description"], promise


def test_the_live_stream_is_server_sent_events_on_the_api(doc):
    channel = doc["channels"]["stream"]
    assert channel["address"] == "/v1/events/stream"
    assert channel["servers"] == [{"$ref": "#/servers/api"}]
    assert doc["servers"]["api"]["protocol"] == "http"
    assert doc["operations"]["stream"]["bindings"]["http"]["method"] == "GET"
    for words in ("Server-Sent Events", "`id:`", "`data:`", "Last-Event-ID", "heartbeat"):
        assert words in channel["description"], words


def test_sealed_fields_are_named_on_their_messages(doc):
    messages = doc["channels"]["kafka.contact"]["messages"]
    assert "`data.email`" in messages["crm.contact.created.v1"]["description"]
    assert "`data.changes.email`" in messages["crm.contact.details_changed.v1"]["description"]
    assert "Sealed" not in messages["crm.contact.erased.v1"]["description"]


def test_the_sales_and_service_topics_have_their_channels(doc):
    new = ("product", "price_list", "quote", "order", "contract", "activity", "agent", "case_thread")
    for aggregate in new:
        channel = doc["channels"][f"kafka.{aggregate}"]
        assert channel["address"] == f"crm.{aggregate}.events"
        assert channel["messages"], aggregate
    assert doc["channels"]["kafka.price_list"]["title"] == "price list events on Kafka"
    assert (
        "Most subscribers need only `crm.case.duplicate_linked.v1`"
        in (doc["channels"]["kafka.case_thread"]["description"])
    )
    assert "crm.quote.sent.v1" in doc["channels"]["kafka.quote"]["messages"]
    assert "crm.deal.orders_changed.v1" in doc["channels"]["kafka.deal"]["messages"]


def test_messages_say_what_is_not_in_their_schema(doc):
    for name in ("kafka.case", "webhook", "stream"):
        skill = doc["channels"][name]["messages"]["crm.case.skill_set.v1"]["description"]
        assert "`data.skill`" in skill and "right after `crm.case.opened.v1`" in skill
    orders = doc["channels"]["kafka.deal"]["messages"]["crm.deal.orders_changed.v1"]["description"]
    assert "orders that stand" in orders and "also once it is won" in orders
    assert sorted(set(asyncapi._NOTES) - set(EVENT_TYPES)) == []  # a note never names a type that is not one


def test_the_sealed_fields_of_activities_are_named(doc):
    messages = doc["channels"]["kafka.activity"]["messages"]
    assert "`data.subject`" in messages["crm.activity.scheduled.v1"]["description"]
    assert "`data.outcome`" in messages["crm.activity.completed.v1"]["description"]
    assert "`data.reason`" in messages["crm.activity.cancelled.v1"]["description"]
    assert "Sealed" not in messages["crm.activity.rescheduled.v1"]["description"]


def test_every_reference_resolves(doc):
    refs = _every_ref(doc)
    assert len(refs) > 3 * len(EVENT_TYPES)
    for ref in refs:
        assert _resolve(doc, {"$ref": ref}) is not None, ref


def test_the_document_is_deterministic():
    first = asyncapi.render()
    assert asyncapi.render() == first
    assert json.loads(first) == asyncapi.document()


def test_the_cli_writes_what_render_gives(tmp_path: Path, capsys):
    out = tmp_path / "asyncapi.json"
    assert asyncapi.main(["--out", str(out)]) == 0
    assert out.read_text() == asyncapi.render()
    assert asyncapi.main(["--prefix", "acme"]) == 0
    assert capsys.readouterr().out == asyncapi.render("acme")


@pytest.mark.parametrize("prefix", ["crm", "acme"])
def test_the_api_serves_the_document_without_a_key(tmp_path: Path, prefix: str):
    settings = Settings(data_dir=tmp_path / "data", kafka_topic_prefix=prefix, api_keys={"boot": SecretStr("k" * 32)})
    with Container(settings) as container:
        client = TestClient(create_app(container))
        assert client.get("/v1/contacts").status_code == 401  # keys are required here...
        served = client.get("/asyncapi.json")  # ...but not for the contract
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/json"
    assert served.json() == asyncapi.document(prefix)
