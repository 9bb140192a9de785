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


def _said() -> dict[str, list[str]]:
    """Per event type, the summaries of its events in the story, in order."""
    said: dict[str, list[str]] = {}
    for envelope in ENVELOPES:
        said.setdefault(envelope.type, []).append(summary(envelope.type, envelope.data))
    return said


def test_sales_summaries_show_codes_quantities_and_amounts_not_descriptions():
    said = _said()
    assert said["crm.product.created.v1"] == ["Product W-1 created", "Product G-1 created"]
    assert said["crm.product.details_changed.v1"] == ["Product changed: name"]  # the new name is not shown
    assert said["crm.quote.line_added.v1"][1] == "Line added: 2 × W-1 at 100.00, 10.00 off, tax 20%"
    assert said["crm.quote.sent.v1"][0] == "Quote revision 1 sent: 1 line, total 228.00, valid until 2026-04-15"
    assert said["crm.quote.rejected.v1"] == ["Quote revision 1 rejected"]  # without its reason
    assert said["crm.order.confirmed.v1"][0] == "Order confirmed from quote Q-1-2: 1 line, total 228.00 EUR"
    assert said["crm.order.cancelled.v1"] == ["Order cancelled"]
    assert said["crm.price_list.price_removed.v1"][0].endswith(" removed (was 5.00)")
    assert said["crm.contract.amended.v1"] == ["Contract amended: value → 1500.00"]
    assert said["crm.contract.terminated.v1"] == ["Contract terminated, effective 2027-06-30"]


#: Free text of the story's sales and service events that is not a person's (product names and
#: specifications, titles, reasons, activity subjects): no summary shows it either.
FREE_TEXT = ("Widget", "Blue", "Support 2026", "Pilot", "EUR 2026", "Kick-off", "More seats", "Moving", "twice")


def test_no_summary_shows_the_free_text_of_catalog_contracts_or_activities():
    shown = [text for texts in _said().values() for text in texts]
    assert [(text, word) for text in shown for word in FREE_TEXT if word in text] == []


def test_a_deal_summary_says_what_its_orders_add_up_to():
    placed = next(e for e in ENVELOPES if e.type == "crm.deal.orders_changed.v1")
    order = placed.data["order_id"]
    assert summary(placed.type, placed.data) == f"Order {order} placed (228.00); deal amount 228.00 from 1 order"
    cancelled = {**placed.data, "order_total": None, "amount": "0.00", "orders": 0}
    assert summary(placed.type, cancelled) == f"Order {order} cancelled; deal amount 0.00 from 0 orders"


def test_service_summaries_name_skills_repeats_and_handles_not_subjects():
    said = _said()
    assert said["crm.case.opened.v1"] == [
        "Case opened: normal priority, via email",
        "Case opened: normal priority, via phone",
    ]
    assert said["crm.case.skill_set.v1"] == ["Case needs the skill billing"]
    original = next(e.subject for e in ENVELOPES if e.type == "crm.case.opened.v1")
    assert said["crm.case.duplicate_linked.v1"] == [f"Case closed as a repeat of case {original}"]
    assert said["crm.case_thread.case_added.v1"][1].endswith(f" joined the thread as a repeat of case {original}")
    assert said["crm.agent.registered.v1"] == ["Agent sam registered: skills billing; capacity 5"]
    assert said["crm.agent.case_released.v1"] == [f"Released case {original} (0 cases now)"]
    assert said["crm.activity.reassigned.v1"] == ["Activity reassigned to ben (was ana)"]
    assert said["crm.activity.completed.v1"] == ["Activity completed after it was overdue"]  # not its outcome
    assert said["crm.activity.cancelled.v1"] == ["Activity cancelled"]  # not its reason


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
