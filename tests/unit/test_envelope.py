"""The CloudEvents envelope of the Kafka contract."""

import json
from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.contact import Contact
from domain.meta import Meta
from domain.scoring import ScoringRules
from streams.envelope import Envelope, InvalidEnvelope, from_domain_event

META = Meta(actor="ana.sales", correlation_id="corr-9", causation_id="cmd-3")


def contact_events():
    contact = Contact.create(name="Ada", email="ada@example.com", meta=META)
    contact.record_interaction(
        "email_opened", datetime(2026, 2, 1, 8, 0, tzinfo=UTC), {"campaign": "spring"}, ScoringRules(), META
    )
    return contact.id, contact.collect_events()


def test_envelope_carries_every_attribute_of_the_contract():
    contact_id, (created, opened) = contact_events()
    body = json.loads(from_domain_event(opened, position=42).to_json())
    assert body["specversion"] == "1.0"
    assert body["type"] == "crm.contact.interaction_recorded.v1"
    assert body["source"] == "/eventcrm/contact"
    assert body["subject"] == str(contact_id)
    assert body["datacontenttype"] == "application/json"
    assert body["time"].endswith("Z")
    assert (body["sequence"], body["position"]) == (2, 42)
    assert (body["actor"], body["correlationid"], body["causationid"]) == ("ana.sales", "corr-9", "cmd-3")
    assert body["data"] == {
        "interaction_type": "email_opened",
        "occurred_at": "2026-02-01T08:00:00Z",
        "details": {"campaign": "spring"},
        "points": 10,
        "lead_score": 10,
    }
    UUID(body["id"])


def test_event_id_is_stable_for_the_same_event_and_differs_between_events():
    _, (created, opened) = contact_events()
    assert from_domain_event(created, 1).id == from_domain_event(created, 7).id
    assert from_domain_event(created, 1).id != from_domain_event(opened, 2).id


def test_envelope_round_trips_through_json():
    _, (created, _) = contact_events()
    envelope = from_domain_event(created, 5)
    assert Envelope.from_json(envelope.to_json()) == envelope


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"specversion": "1.0"}', "missing attributes"),
    ],
)
def test_bytes_that_are_not_an_eventcrm_cloudevent_are_refused(raw, message):
    with pytest.raises(InvalidEnvelope, match=message):
        Envelope.from_json(raw)
