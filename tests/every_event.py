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
from domain.activity import Activity
from domain.campaign import Campaign
from domain.case import Case
from domain.case_thread import CaseThread
from domain.catalog import PriceList, Product
from domain.contact import Contact
from domain.contract import Contract
from domain.deal import Deal
from domain.meta import Meta
from domain.order import Order
from domain.pipeline import Pipeline, Stage
from domain.quote import Quote
from domain.routing import Agent
from domain.scoring import ScoringRules
from domain.segment import Segment
from domain.sla import SlaPolicy
from streams.envelope import Envelope, from_domain_event

META = Meta(actor="ana", correlation_id="corr", causation_id="cause")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
#: Personal data and free text in the story: no summary may show any of it.
PERSONAL = (
    "Grace",
    "Hopper",
    "navy.example",
    "555",
    "Bob",
    "Talked",
    "Too dear",
    "Budget",
    "Wants",
    "Sorted",
    "Ring Grace",
    "Agreed",
)


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

    sam = Agent.register(handle="sam", skills=["billing"], capacity=5, at=T0, meta=META)
    sam.change(skills=["billing", "de"], capacity=6, at=T0, meta=META)
    sam.take(case.id, T0 + 2 * DAY, META)
    sam.release(case.id, T0 + 2 * DAY + 3 * HOUR, META)
    again = Case.open(
        contact_id=grace.id,
        subject="RE: Bob cannot log in",
        priority="normal",
        channel="phone",
        policy=policy,
        at=T0 + 2 * DAY,
        meta=META,
        skill="billing",
    )
    thread = CaseThread.start(grace.id, "Bob cannot log in", META)
    thread.add(case.id, None, T0, META)
    thread.add(again.id, case.id, T0 + 2 * DAY, META)
    again.link_duplicate(case.id, T0 + 2 * DAY, META)

    widget = Product.create(code="W-1", name="Widget", model="2026", specification="Blue", at=T0, meta=META)
    widget.update(META, name="Widget Pro")
    gadget = Product.create(code="G-1", name="Gadget", at=T0, meta=META)
    prices = PriceList.create(name="EUR 2026", currency="EUR", valid_from=date(2026, 1, 1), at=T0, meta=META)
    prices.set_price(widget, Decimal("100.00"), T0, META)
    prices.set_price(gadget, Decimal("5.00"), T0, META)
    prices.remove_price(gadget.id, T0 + HOUR, META)
    prices.change_validity(date(2026, 1, 1), date(2026, 12, 31), T0 + HOUR, META)
    gadget.retire(T0 + HOUR, META)
    gadget.reactivate(T0 + 2 * HOUR, META)
    quote = Quote.create(
        deal_id=deal.id, number="Q-1", price_list=prices, valid_until=date(2026, 3, 31), at=T0, meta=META
    )
    line = quote.add_line(product=widget, price_list=prices, quantity=3, on=date(2026, 3, 2), meta=META)
    quote.remove_line(line, META)
    quote.add_line(
        product=widget, price_list=prices, quantity=2, on=date(2026, 3, 2), meta=META, discount=10, tax_rate=20
    )
    quote.change_validity(date(2026, 4, 15), META)
    quote.send(T0 + HOUR, META)
    quote.reject("Too dear", T0 + DAY, META)
    quote.revise(T0 + DAY, META)
    quote.send(T0 + DAY + HOUR, META)
    quote.accept(T0 + 2 * DAY, META)
    order = Order.place(quote, T0 + 2 * DAY, META)
    quote.mark_ordered(order.id, T0 + 2 * DAY, META)
    deal.record_order(order.id, order.totals.total, T0 + 2 * DAY, META)
    order.fulfil(T0 + 3 * DAY, META)
    stale = Quote.create(
        deal_id=deal.id, number="Q-2", price_list=prices, valid_until=date(2026, 3, 3), at=T0, meta=META
    )
    stale.add_line(product=widget, price_list=prices, quantity=1, on=date(2026, 3, 2), meta=META)
    stale.send(T0 + HOUR, META)
    stale.expire(T0 + 3 * DAY, META)
    spare = Order.place(quote, T0 + 2 * DAY, META)
    spare.cancel("Ordered twice", T0 + 2 * DAY + HOUR, META)

    support = Contract.sign(
        title="Support 2026",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
        value=Decimal("1200.00"),
        currency="EUR",
        at=T0,
        meta=META,
        account_id=acme.id,
        renewal_days=30,
    )
    support.amend("More seats", T0 + DAY, META, value=Decimal("1500.00"))
    support.open_renewal(deal.id, datetime(2026, 12, 2, 9, tzinfo=UTC), META)
    support.renew(date(2027, 12, 31), Decimal("1600.00"), datetime(2026, 12, 20, 9, tzinfo=UTC), META)
    support.terminate("Moving away", date(2027, 6, 30), datetime(2027, 3, 1, 9, tzinfo=UTC), META)
    lapsing = Contract.sign(
        title="Pilot",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 2, 28),
        value=Decimal("100.00"),
        currency="EUR",
        at=T0 - 60 * DAY,
        meta=META,
        contact_id=grace.id,
    )
    lapsing.lapse(T0, META)

    call = Activity.schedule(
        kind="call",
        subject="Ring Grace about the quote",
        regarding_type="contact",
        regarding_id=grace.id,
        owner="ana",
        due_at=T0 + DAY,
        at=T0,
        meta=META,
        reminders=[60],
    )
    call.reschedule(T0 + 2 * DAY, T0 + HOUR, META)
    call.reassign("ben", T0 + HOUR, META)
    call.remind(T0 + 2 * DAY - 30 * timedelta(minutes=1), META)
    call.mark_overdue(T0 + 2 * DAY + HOUR, META)
    call.complete("Agreed on two widgets", T0 + 3 * DAY, META)
    meeting = Activity.schedule(
        kind="meeting",
        subject="Kick-off",
        regarding_type="deal",
        regarding_id=deal.id,
        owner="ana",
        due_at=T0 + DAY,
        at=T0,
        meta=META,
    )
    meeting.cancel("Wants to wait", T0 + HOUR, META)
    grace.erase(T0 + 5 * DAY, META)
    key = ApiKey.create("billing-sync", ["service"], "00" * 32, META)
    key.revoke("rotated", META)

    aggregates = (
        grace,
        twin,
        acme,
        pipeline,
        deal,
        spring,
        case,
        key,
        sam,
        again,
        thread,
        widget,
        gadget,
        prices,
        quote,
        order,
        stale,
        spare,
        support,
        lapsing,
        call,
        meeting,
    )
    return [event for aggregate in aggregates for event in aggregate.collect_events()]


def every_envelope() -> list[Envelope]:
    """The story's events as every consumer receives them, numbered in order."""
    return [from_domain_event(event, position) for position, event in enumerate(every_event(), start=1)]
