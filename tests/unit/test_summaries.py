"""One summary of an event: every registered type has one, it never shows personal data,
and the contact timeline and the audit history say the same words."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import Notification

from domain.registry import EVENT_TYPES
from projections.oltp import timeline
from replay.history import entry
from streams.envelope import from_domain_event
from streams.summaries import SUMMARIES, summary
from tests.every_event import PERSONAL, every_envelope, every_event
from tests.oltp_story import personal_in

ENVELOPES = every_envelope()


def test_every_registered_event_type_has_a_summary():
    assert sorted(set(EVENT_TYPES) - set(SUMMARIES)) == []
    assert sorted(set(SUMMARIES) - set(EVENT_TYPES)) == []  # and no summary names a type that is not one


def test_the_story_holds_every_registered_event_type():
    assert sorted(set(EVENT_TYPES) - {e.type for e in ENVELOPES}) == []


@pytest.mark.parametrize("envelope", ENVELOPES, ids=lambda e: f"{e.type}@{e.position}")
def test_a_summary_is_one_line_of_facts_without_personal_data(envelope):
    text = summary(envelope.type, envelope.data)
    assert text and "\n" not in text
    assert personal_in(text, PERSONAL) == [], text


def test_summaries_state_facts_in_words():
    first = {}
    for envelope in ENVELOPES:
        first.setdefault(envelope.type, summary(envelope.type, envelope.data))
    assert first["crm.contact.details_changed.v1"] == "Details changed: owner → ben; phone; tags → vip"
    assert first["crm.contact.interaction_recorded.v1"] == "Content downloaded: +40 points, score 40"
    assert (
        first["crm.deal.details_changed.v1"] == "Deal changed: amount → 1200.00; expected close on → 2026-04-01; title"
    )
    assert first["crm.deal.reopened.v1"] == "Deal reopened into proposal (was lost)"
    assert first["crm.case.reopened.v1"] == "Case reopened (reopen #1)"
    assert first["crm.campaign.sent.v1"] == "Campaign sent to 1 contact (1 in all)"
    assert first["crm.case.sla_breached.v1"] == "SLA breached: first response was due 2026-03-02 17:00 UTC"


def test_a_type_without_a_summary_gets_its_name_in_words():
    assert summary("crm.deal.handed_over.v1", {}) == "Handed over"


def test_the_timeline_and_the_audit_history_say_the_same():
    for position, event in enumerate(every_event(), start=1):
        envelope = from_domain_event(event, position)
        notification = Notification(
            id=position,
            originator_id=event.originator_id,
            originator_version=event.originator_version,
            topic=envelope.type,
            state=b"",
        )
        audited = entry(notification, event).summary
        assert audited == summary(envelope.type, envelope.data)
        row = timeline.project(envelope)
        if envelope.aggregate_type in timeline.AGGREGATES:
            assert row is not None and row.values["summary"] == audited
        else:
            assert row is None
