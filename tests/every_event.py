"""At least one event of every registered type, told with the aggregates themselves: for
the tests that must cover each event type (summaries, the projections' handlers). A new
event type belongs in this story too; ``test_the_story_holds_every_registered_event_type``
says so when it is missing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.access import ApiKey
from domain.account import Account
from domain.campaign import Campaign
from domain.case import Case
from domain.contact import Contact
from domain.deal import Deal
from domain.meta import Meta
from domain.pipeline import Pipeline, Stage
from domain.scoring import ScoringRules
from domain.segment import Segment
from domain.sla import SlaPolicy
from streams.envelope import Envelope, from_domain_event

META = Meta(actor="ana", correlation_id="corr", causation_id="cause")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
#: Personal data and free text in the story: no summary may show any of it.
PERSONAL = ("Grace", "Hopper", "navy.example", "555", "Bob", "Talked", "Too dear", "Budget", "Wants", "Sorted")


def every_event() -> list[Any]:
    """The story's events, as the aggregates record them (before any sealing)."""
    rules, policy = ScoringRules(), SlaPolicy()
    grace = Contact.create(name="Grace Hopper", email="grace@navy.example", phone="555 0100", owner="ana", meta=META)
    grace.change_details({"phone": "555 0199", "owner": "ben", "tags": ["vip"]}, META)
    grace.record_interaction("content_downloaded", T0, {"note": "Talked about COBOL"}, rules, META)
    grace.record_interaction("survey_answered", T0 + HOUR, {"nps": 9}, rules, META)
    grace.give_consent("web form", T0, META)
    grace.withdraw_consent("phone call", T0 + HOUR, META)
    grace.change_lifecycle_stage("lead", T0, META, reason="Wants a demo")
    grace.assign_follow_up("Wants a call back", T0 + DAY, META)
    twin = Contact.create(name="Grace H.", email="gh@navy.example", tags=["event"], meta=META)
    twin.record_interaction("page_visited", T0, {}, rules, META)
    twin.merge_into(grace, META)

    acme = Account.create(name="Acme", domain="acme.example", owner="ana", meta=META)
    acme.change_details({"industry": "software", "name": "Acme Ltd"}, META)
    acme.add_contact(grace.id, META)
    acme.remove_contact(grace.id, META)
    grace.link_account(acme.id, META)

    pipeline = Pipeline.create(
        name="New business", stages=[Stage("qualify", "Qualify", 0.2), Stage("proposal", "Proposal", 0.5)], meta=META
    )
    pipeline.add_stage(Stage("demo", "Demo", 0.3), META, position=1)
    pipeline.rename_stage("demo", "Live demo", META)
    pipeline.set_probability("proposal", 0.6, META)
    pipeline.reorder(["qualify", "proposal", "demo"], META)

    deal = Deal.create(
        pipeline=pipeline, title="Budget for 50 seats", contact_id=grace.id, amount=Decimal("1000.00"), at=T0, meta=META
    )
    deal.update(META, title="Budget for 60 seats", amount=Decimal("1200.00"), expected_close_on=date(2026, 4, 1))
    deal.move_to("proposal", pipeline, T0 + DAY, META)
    deal.lose("Too dear", T0 + 2 * DAY, META)
    deal.reopen(pipeline, T0 + 3 * DAY, META)
    deal.win(Decimal("1100.00"), date(2026, 3, 6), T0 + 4 * DAY, META)

    spring = Campaign.create(name="Spring", channel="email", audience=Segment(consent_required=False), meta=META)
    spring.change_audience(Segment(consent_required=True), META)
    spring.launch(T0, META)
    spring.record_send([grace.id], T0 + HOUR, META)
    spring.record_response(grace.id, "opened", T0 + 2 * HOUR, META)
    spring.complete(T0 + DAY, META)

    case = Case.open(
        contact_id=grace.id,
        subject="Bob cannot log in",
        priority="normal",
        channel="email",
        policy=policy,
        at=T0,
        meta=META,
    )
    case.record_breach("first_response", T0 + 2 * DAY, META)
    case.assign("sam", T0 + 2 * DAY, META)
    case.respond(T0 + 2 * DAY, META)
    case.wait_on_customer(T0 + 2 * DAY + HOUR, META)
    case.customer_replied(T0 + 2 * DAY + 2 * HOUR, META)
    case.change_priority("high", policy, T0 + 2 * DAY + 2 * HOUR, META, reason="Wants it today")
    case.resolve(T0 + 2 * DAY + 3 * HOUR, META, resolution="Sorted it for Bob")
    case.reopen(T0 + 2 * DAY + 4 * HOUR, META, policy)
    case.resolve(T0 + 2 * DAY + 5 * HOUR, META)
    case.close(T0 + 3 * DAY, META)
    grace.erase(T0 + 5 * DAY, META)
    key = ApiKey.create("billing-sync", ["service"], "00" * 32, META)
    key.revoke("rotated", META)

    aggregates = (grace, twin, acme, pipeline, deal, spring, case, key)
    return [event for aggregate in aggregates for event in aggregate.collect_events()]


def every_envelope() -> list[Envelope]:
    """The story's events as every consumer receives them, numbered in order."""
    return [from_domain_event(event, position) for position, event in enumerate(every_event(), start=1)]
