"""A small CRM story told with the domain aggregates themselves, as the envelopes the
operational projection receives: shared by its unit and integration tests."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

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
from streams.records import Record

META = Meta(actor="ana", correlation_id="corr", causation_id="cause")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
POLICY = SlaPolicy()
#: What no summary may ever show: Ada's, Erin's and Fay's personal data and free text.
PERSONAL = ("Ada", "Lovelace", "example.com", "7946", "loved", "Erin", "Fay", "log in", "Told", "pricey")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")


def personal_in(text: str, words: tuple[str, ...] = PERSONAL) -> list[str]:
    """The personal values ``text`` shows; ids and times aside, since a random id or a
    time's microseconds may hold "7946" or "555"."""
    plain = _TIME.sub("", _UUID.sub("", text))
    return [word for word in words if word in plain]


@dataclass
class Story:
    #: Each aggregate's envelopes, in version order, by the story's name for it.
    envelopes: dict[str, list[Envelope]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def record(self, name: str, aggregate: Any) -> None:
        """The aggregate's events, numbered after every event recorded so far."""
        self.ids[name] = str(aggregate.id)
        position = sum(map(len, self.envelopes.values()))
        for event in aggregate.collect_events():
            position += 1
            self.envelopes.setdefault(name, []).append(from_domain_event(event, position))

    def of(self, *names: str) -> list[Envelope]:
        return [e for name in names for e in self.envelopes[name]]

    @property
    def all(self) -> list[Envelope]:
        return sorted((e for es in self.envelopes.values() for e in es), key=lambda e: e.position)


def tell() -> Story:
    story = Story()
    ada = Contact.create(
        name="Ada Lovelace", email="Ada@example.com", phone="+44 20 7946 0958", tags=["vip"], owner="ana", meta=META
    )
    ada.record_interaction("content_downloaded", T0, {"note": "Ada loved it"}, ScoringRules(), META)
    acme = Account.create(name="Acme", owner="ana", meta=META)
    acme.add_contact(ada.id, META)
    ada.link_account(acme.id, META)
    ada.change_details({"owner": "ben", "email": "ada@engines.example.com"}, META)
    pipeline = Pipeline.create(
        name="New business", stages=[Stage("qualify", "Qualify", 0.2), Stage("proposal", "Proposal", 0.5)], meta=META
    )
    deal = Deal.create(
        pipeline=pipeline, title="50 seats", contact_id=ada.id, amount=Decimal("1000.00"), owner="ben", at=T0, meta=META
    )
    deal.move_to("proposal", pipeline, T0 + DAY, META)
    big = Deal.create(
        pipeline=pipeline, title="Site licence", account_id=acme.id, amount=Decimal("5000"), at=T0, meta=META
    )
    big.lose("Ada found it pricey", T0 + 2 * DAY, META)
    pipeline.set_probability("proposal", 0.6, META)
    case = Case.open(
        contact_id=ada.id,
        subject="Ada cannot log in",
        priority="urgent",
        channel="email",
        policy=POLICY,
        at=T0,
        meta=META,
    )
    case.record_breach("first_response", T0 + 2 * HOUR, META)
    case.assign("sam", T0 + 3 * HOUR, META)
    case.respond(T0 + 3 * HOUR, META)
    case.resolve(T0 + 4 * HOUR, META, resolution="Told Ada how")
    spring = Campaign.create(name="Spring", channel="email", audience=Segment(consent_required=False), meta=META)
    spring.launch(T0, META)
    spring.record_send([ada.id], T0 + HOUR, META)
    spring.record_response(ada.id, "opened", T0 + 2 * HOUR, META)
    # Erin is erased after her case was opened; Fay before hers is projected.
    erin = Contact.create(name="Erin Erased", email="erin@example.com", phone="555 123 4567", meta=META)
    erin_case = Case.open(
        contact_id=erin.id, subject="Erin wants out", priority="low", channel="web", policy=POLICY, at=T0, meta=META
    )
    erin.erase(T0 + DAY, META)
    fay = Contact.create(name="Fay Gone", email="fay@example.com", meta=META)
    fay_case = Case.open(
        contact_id=fay.id, subject="Fay wants out", priority="low", channel="web", policy=POLICY, at=T0, meta=META
    )
    fay.erase(T0 + DAY, META)
    for name, aggregate in (
        ("ada", ada),
        ("acme", acme),
        ("pipeline", pipeline),
        ("deal", deal),
        ("big", big),
        ("case", case),
        ("spring", spring),
        ("erin", erin),
        ("erin_case", erin_case),
        ("fay", fay),
        ("fay_case", fay_case),
    ):
        story.record(name, aggregate)
    return story


def records(envelopes: list[Envelope]) -> list[Record]:
    """As a Kafka source would hand them over: one partition per aggregate type."""
    return [Record(f"crm.{e.aggregate_type}.events", 0, e.position, e.subject.encode(), e.to_json()) for e in envelopes]


def tell_sales() -> Story:
    """Sales and service: a catalog and a price list, quotes that become orders (one of
    them cancelled) on a deal that was won meanwhile, contracts (one due for renewal with
    its deal open, one amended, one lapsed, one terminated), activities (overdue, reminded,
    rescheduled, done, and about a person who is then erased), agents and their load, and
    a case linked as the duplicate of another."""
    from domain.activity import Activity
    from domain.catalog import PriceList, Product
    from domain.contract import Contract
    from domain.order import Order
    from domain.quote import Quote
    from domain.routing import Agent

    story = Story()
    day = T0.date()
    ada = Contact.create(name="Ada Lovelace", email="ada@example.com", owner="ana", meta=META)
    acme = Account.create(name="Acme", owner="ana", meta=META)
    pipeline = Pipeline.create(name="New business", stages=[Stage("qualify", "Qualify", 0.2)], meta=META)
    deal = Deal.create(
        pipeline=pipeline, title="50 seats", contact_id=ada.id, amount=Decimal("1000.00"), owner="ben", at=T0, meta=META
    )

    widget = Product.create(code="w-1", name="Widget", model="2026", specification="Blue", at=T0, meta=META)
    widget.update(META, name="Widget Pro")
    gadget = Product.create(code="G-1", name="Gadget", at=T0, meta=META)
    prices = PriceList.create(name="EUR 2026", currency="EUR", valid_from=day.replace(month=1, day=1), at=T0, meta=META)
    prices.set_price(widget, Decimal("100.00"), T0, META)
    prices.set_price(gadget, Decimal("5.00"), T0, META)
    prices.set_price(widget, Decimal("120.00"), T0 + HOUR, META)
    prices.remove_price(gadget.id, T0 + HOUR, META)
    prices.change_validity(day.replace(month=1, day=1), day.replace(month=12, day=31), T0 + HOUR, META)
    gadget.retire(T0 + 2 * HOUR, META)
    usd = PriceList.create(
        name="USD 2025",
        currency="USD",
        valid_from=day.replace(year=2025, month=1, day=1),
        at=T0,
        valid_until=day.replace(year=2025, month=12, day=31),
        meta=META,
    )
    usd.set_price(widget, Decimal("130.00"), T0, META)

    # a line removed, then sent, rejected, revised, sent again and accepted: order 1.
    q1 = Quote.create(deal_id=deal.id, number="Q-1", price_list=prices, valid_until=day + 30 * DAY, at=T0, meta=META)
    dropped = q1.add_line(product=widget, price_list=prices, quantity=5, on=day, meta=META)
    q1.add_line(product=widget, price_list=prices, quantity=2, on=day, meta=META, discount=10, tax_rate=20)
    q1.remove_line(dropped, META)
    q1.send(T0 + HOUR, META)
    q1.reject("Too dear", T0 + DAY, META)
    q1.revise(T0 + DAY, META)
    q1.send(T0 + DAY + HOUR, META)
    q1.accept(T0 + 2 * DAY, META)
    first = Order.place(q1, T0 + 2 * DAY, META)
    q1.mark_ordered(first.id, T0 + 2 * DAY, META)
    deal.record_order(first.id, first.totals.total, T0 + 2 * DAY, META)
    # accepted too, order 2; the deal is won on its orders, then order 2 is cancelled.
    q2 = Quote.create(deal_id=deal.id, number="Q-2", price_list=prices, valid_until=day + 30 * DAY, at=T0, meta=META)
    q2.add_line(product=widget, price_list=prices, quantity=1, on=day, meta=META, tax_rate=20)
    q2.send(T0 + 2 * DAY, META)
    q2.accept(T0 + 2 * DAY, META)
    second = Order.place(q2, T0 + 2 * DAY, META)
    q2.mark_ordered(second.id, T0 + 2 * DAY, META)
    deal.record_order(second.id, second.totals.total, T0 + 2 * DAY, META)
    deal.win(None, day + 3 * DAY, T0 + 3 * DAY, META)
    first.fulfil(T0 + 3 * DAY, META)
    second.cancel("Ordered twice", T0 + 4 * DAY, META)
    deal.record_order(second.id, None, T0 + 4 * DAY, META)
    # a draft, never sent.
    q3 = Quote.create(deal_id=deal.id, number="Q-3", price_list=prices, valid_until=day + 30 * DAY, at=T0, meta=META)
    q3.add_line(product=widget, price_list=prices, quantity=3, on=day, meta=META)

    support = Contract.sign(
        title="Support 2026",
        starts_on=day.replace(month=1, day=1),
        ends_on=day.replace(month=12, day=31),
        value=Decimal("1200.00"),
        currency="EUR",
        at=T0,
        meta=META,
        account_id=acme.id,
        renewal_days=30,
    )
    support.amend("Longer notice", T0 + DAY, META, renewal_days=45, value=Decimal("1500.00"))
    pilot = Contract.sign(
        title="Pilot",
        starts_on=day.replace(month=1, day=1),
        ends_on=day.replace(month=6, day=30),
        value=Decimal("100.00"),
        currency="EUR",
        at=T0,
        meta=META,
        contact_id=ada.id,
        renewal_days=60,
    )
    pilot.open_renewal(deal.id, T0.replace(month=5, day=2), META)
    trial = Contract.sign(
        title="Trial",
        starts_on=day.replace(month=1, day=1),
        ends_on=day.replace(month=2, day=28),
        value=Decimal("10.00"),
        currency="EUR",
        at=T0 - 60 * DAY,
        meta=META,
        contact_id=ada.id,
    )
    trial.lapse(T0, META)
    old = Contract.sign(
        title="Old terms",
        starts_on=day.replace(month=1, day=1),
        ends_on=day.replace(month=3, day=31),
        value=Decimal("50.00"),
        currency="EUR",
        at=T0,
        meta=META,
        account_id=acme.id,
    )
    old.terminate("Moving away", day + DAY, T0 + DAY, META)

    k1 = Case.open(
        contact_id=ada.id,
        subject="Invoice wrong",
        priority="high",
        channel="email",
        policy=POLICY,
        at=T0,
        meta=META,
        skill="Billing",
    )
    k2 = Case.open(
        contact_id=ada.id,
        subject="RE: Invoice wrong",
        priority="high",
        channel="web",
        policy=POLICY,
        at=T0 + HOUR,
        meta=META,
    )
    k2.link_duplicate(k1.id, T0 + HOUR, META)
    k3 = Case.open(contact_id=ada.id, subject="Login", priority="low", channel="email", policy=POLICY, at=T0, meta=META)
    sam = Agent.register(handle="sam", skills=["billing"], capacity=2, at=T0, meta=META)
    kim = Agent.register(handle="kim", skills=["Billing", "de"], capacity=1, at=T0, meta=META)
    sam.take(k1.id, T0 + HOUR, META)
    sam.take(k3.id, T0 + 2 * HOUR, META)
    sam.release(k1.id, T0 + 3 * HOUR, META)
    kim.take(k1.id, T0 + 3 * HOUR, META)
    sam.change(skills=["billing", "api"], capacity=3, at=T0 + 4 * HOUR, meta=META)

    # Ana's activities: one overdue (and reminded), two open, one rescheduled out of being
    # overdue (its reminder falls due again), one done; Ben's is about Erin, then erased.
    call = Activity.schedule(
        kind="call",
        subject="Ring Ada about the quote",
        regarding_type="contact",
        regarding_id=ada.id,
        owner="ben",
        due_at=T0 + DAY,
        at=T0,
        meta=META,
        reminders=[60, 15],
    )
    call.reassign("ana", T0 + HOUR, META)
    call.remind(T0 + DAY - 30 * MINUTE, META)
    call.mark_overdue(T0 + DAY + HOUR, META)
    task = Activity.schedule(
        kind="task",
        subject="Send the contract",
        regarding_type="deal",
        regarding_id=deal.id,
        owner="ana",
        due_at=T0 + 2 * DAY,
        at=T0,
        meta=META,
    )
    meeting = Activity.schedule(
        kind="meeting",
        subject="Review the invoice",
        regarding_type="case",
        regarding_id=k1.id,
        owner="ana",
        due_at=T0 + 3 * DAY,
        at=T0,
        meta=META,
        reminders=[30],
    )
    moved = Activity.schedule(
        kind="task",
        subject="Chase payment",
        regarding_type="deal",
        regarding_id=deal.id,
        owner="ana",
        due_at=T0 + HOUR,
        at=T0,
        meta=META,
        reminders=[30],
    )
    moved.remind(T0 + 30 * MINUTE, META)
    moved.mark_overdue(T0 + 2 * HOUR, META)
    moved.reschedule(T0 + 5 * DAY, T0 + 3 * HOUR, META)
    done = Activity.schedule(
        kind="call",
        subject="Thank Ada",
        regarding_type="contact",
        regarding_id=ada.id,
        owner="ana",
        due_at=T0,
        at=T0 - HOUR,
        meta=META,
    )
    done.complete("Ada loved it", T0, META)
    erin = Contact.create(name="Erin Erased", email="erin@example.com", meta=META)
    before = Activity.schedule(
        kind="call",
        subject="Call Erin back",
        regarding_type="contact",
        regarding_id=erin.id,
        owner="ben",
        due_at=T0 + DAY,
        at=T0,
        meta=META,
    )
    erin.erase(T0 + DAY, META)
    after = Activity.schedule(  # about her deal: hers through it
        kind="task",
        subject="Erin wants out",
        regarding_type="deal",
        regarding_id=uuid.uuid5(uuid.NAMESPACE_URL, "erin's deal"),
        contact_id=erin.id,
        owner="ben",
        due_at=T0 + 2 * DAY,
        at=T0 + 2 * DAY,
        meta=META,
    )
    after.cancel("Erin is gone", T0 + 2 * DAY, META)

    for name, aggregate in (
        ("ada", ada), ("acme", acme), ("pipeline", pipeline), ("deal", deal),
        ("widget", widget), ("gadget", gadget), ("prices", prices), ("usd", usd),
        ("q1", q1), ("first", first), ("q2", q2), ("second", second), ("q3", q3),
        ("support", support), ("pilot", pilot), ("trial", trial), ("old", old),
        ("k1", k1), ("k2", k2), ("k3", k3), ("sam", sam), ("kim", kim),
        ("call", call), ("task", task), ("meeting", meeting), ("moved", moved), ("done", done),
        ("erin_call", before), ("erin", erin), ("erin_task", after),
    ):  # fmt: skip
        story.record(name, aggregate)
    return story
