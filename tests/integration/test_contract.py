"""Every envelope a year of activity produces validates against its published schema."""

import json

import jsonschema

from crm import story
from streams import contract
from streams.envelope import from_domain_event


def test_real_envelopes_validate_against_the_published_schemas(embedded):
    story.record_year(embedded.commands.execute, contacts=25, seed=3)
    schemas = {p.name.removesuffix(".json"): json.loads(p.read_text()) for p in contract.SCHEMA_DIR.glob("*.json")}
    seen = set()
    for notification in embedded.store.recorder.select_notifications(start=1, limit=100_000):
        envelope = json.loads(
            from_domain_event(embedded.store.mapper.to_domain_event(notification), notification.id).to_json()
        )
        jsonschema.validate(envelope, schemas[envelope["type"]])
        seen.add(envelope["type"])
    assert len(seen) >= 20  # the story exercises most of the contract
