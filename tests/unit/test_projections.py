"""Projections are pure: given envelopes, then row changes."""

from datetime import UTC, datetime

from domain.contact import Contact
from domain.meta import Meta
from domain.scoring import ScoringRules
from projections.olap import events as olap_events
from projections.oltp import contacts
from streams.envelope import from_domain_event

META = Meta(actor="ana.sales", correlation_id="c", causation_id="c")
AT = datetime(2026, 4, 2, 10, 0, tzinfo=UTC)


def envelopes():
    contact = Contact.create(name="Ada", email="ada@example.com", phone="+44 1", tags=["vip"], meta=META)
    contact.record_interaction("page_visited", AT, {"url": "/pricing"}, ScoringRules(), META)
    contact.change_details({"owner": "ben.sales", "email": "ada@engines.example"}, META)
    contact.record_interaction("content_downloaded", AT, {}, ScoringRules(), META)
    return [from_domain_event(e, position=100 + i) for i, e in enumerate(contact.collect_events())]


def test_contact_patches_merge_into_the_final_row_state():
    [merged] = contacts.merge([contacts.project(e) for e in envelopes()])
    assert merged.creates
    assert (merged.version, merged.position) == (4, 103)
    assert merged.values["lead_score"] == 60
    assert merged.values["owner"] == "ben.sales"
    assert merged.values["email"] == "ada@engines.example"
    assert merged.values["tags"] == ["vip"]
    assert merged.values["last_interaction_at"] == "2026-04-02T10:00:00Z"


def test_a_later_patch_alone_only_sets_what_its_event_changed():
    later = contacts.project(envelopes()[2])
    assert not later.creates
    assert set(later.values) == {"owner", "email", "email_key", "updated_at"}  # the key follows the email
    assert later.version == 3


def test_warehouse_rows_are_typed_and_hold_no_personal_data():
    rows = [olap_events.row(e) for e in envelopes()]
    assert [r["sequence"] for r in rows] == [1, 2, 3, 4]
    assert rows[1]["interaction_type"] == "page_visited"
    assert (rows[1]["points"], rows[1]["lead_score"]) == (20, 20)
    assert rows[1]["occurred_at"] == AT
    everything = " ".join(r["data"] for r in rows)
    for personal in ("Ada", "ada@example.com", "+44 1", "ada@engines.example", "/pricing"):
        assert personal not in everything
    assert '"owner": "ben.sales"' in rows[2]["data"]
    table = olap_events.to_arrow(rows)
    assert table.num_rows == 4 and table.schema == olap_events.SCHEMA
