"""The sales and service commands through the command bus on the embedded store: quotes
that become orders, the deal's amount following them, case routing by skill with the
agents' loads, repeated cases, and the deadline watcher's renewals, lapses, reminders,
overdue marks and expiries. Each refusal records nothing."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from automations.deadline_watch import DeadlineWatcher
from commands.activity import CompleteActivity, ScheduleActivity
from commands.case import AssignCase, OpenCase, ResolveCase
from commands.catalog import CreatePriceList, CreateProduct, SetPrice
from commands.contact import CreateContact, EraseContact
from commands.contract import SignContract, TerminateContract
from commands.deal import CreateDeal, WinDeal
from commands.errors import ConcurrencyConflict
from commands.pipeline import CreatePipeline
from commands.quote import (
    AcceptQuote,
    AddQuoteLine,
    CancelOrder,
    CreateQuote,
    PlaceOrder,
    SendQuote,
)
from commands.routing import RegisterAgent, RouteNewCase
from crm.wiring import Container
from domain.activity import Activity
from domain.contract import Contract
from domain.deal import Deal
from domain.errors import DomainError
from domain.meta import Meta
from domain.pipeline import Stage
from domain.privacy import ERASED
from domain.quote import Line, Quote
from domain.routing import agent_id
from streams.log import NotificationLogSource

META = Meta("ana", "corr-sales", "cmd")


def refused(crm: Container, command: object, code: str) -> None:
    """The command is refused with ``code`` and records nothing."""
    before = crm.store.recorder.max_notification_id()
    with pytest.raises(DomainError) as caught:
        crm.commands.execute(command, META)
    assert caught.value.code == code
    assert crm.store.recorder.max_notification_id() == before


def load(crm: Container, aggregate_id: UUID):
    return crm.store.repository.get(aggregate_id)


@pytest.fixture
def deal(embedded: Container) -> UUID:
    contact = embedded.commands.execute(CreateContact(name="Ada", owner="ben"), META).id
    pipeline = embedded.commands.execute(CreatePipeline("Sales", (Stage("demo", "Demo", 0.3),)), META).id
    return embedded.commands.execute(CreateDeal(pipeline, "Pilot", contact_id=contact, amount=Decimal(999)), META).id


def accepted_quote(crm: Container, deal: UUID, valid_for: timedelta = timedelta(days=30), accept: bool = True) -> UUID:
    run = crm.commands.execute
    widget = run(CreateProduct("W-1", "Widget"), META).id
    prices = run(CreatePriceList("EUR", "EUR", date(2026, 1, 1)), META).id
    run(SetPrice(prices, widget, Decimal("100.00")), META)
    quote = run(CreateQuote(deal, prices, date.today() + valid_for), META).id
    run(AddQuoteLine(quote, widget, Decimal(2), discount=Decimal(10), tax_rate=Decimal(20)), META)
    run(SendQuote(quote), META)
    if accept:
        run(AcceptQuote(quote), META)
    return quote


def test_an_order_is_the_accepted_quote_and_the_deal_amount_follows_the_orders(embedded, deal):
    quote_id = accepted_quote(embedded, deal)
    quote: Quote = load(embedded, quote_id)
    # 2 × 100.00 − 10.00 off the line = 190.00 net, 20 % tax 38.00: 228.00
    assert quote.totals.total == Decimal("228.00")
    other_price = [Line.of({**quote.lines[0].as_dict(), "unit_price": "90.00"})]
    refused(embedded, PlaceOrder(quote_id, other_price), "price_not_quoted")

    placed = embedded.commands.execute(PlaceOrder(quote_id, quote.lines), META)
    assert placed.extra["deal_amount"] == "228.00"
    assert load(embedded, deal).amount == Decimal("228.00")  # not the 999 typed in
    refused(embedded, PlaceOrder(quote_id), "quote_ordered")  # a quote becomes one order
    refused(embedded, WinDeal(deal, Decimal(999), date.today()), "amount_follows_orders")
    embedded.commands.execute(WinDeal(deal, None, date.today()), META)
    won = load(embedded, deal)
    assert (won.status, won.amount) == ("won", Decimal("228.00"))

    embedded.commands.execute(CancelOrder(placed.id, "Ordered by mistake"), META)
    assert load(embedded, deal).amount == Decimal("0")  # the won deal follows its orders
    refused(embedded, CancelOrder(placed.id, "again"), "order_closed")


def test_a_sent_quote_is_never_edited(embedded, deal):
    quote_id = accepted_quote(embedded, deal)
    widget = load(embedded, quote_id).lines[0].product_id
    refused(embedded, AddQuoteLine(quote_id, widget, Decimal(1)), "quote_not_draft")


@pytest.fixture
def team(embedded: Container) -> tuple[str, ...]:
    embedded.commands.execute(RegisterAgent("ana", ["billing"], capacity=2), META)
    embedded.commands.execute(RegisterAgent("ben", ["api"], capacity=2), META)
    return ("ana", "ben")


def test_a_case_goes_to_the_agent_with_its_skill_and_never_by_hand_to_one_without(embedded, team):
    contact = embedded.commands.execute(CreateContact(name="Grace"), META).id
    billing = embedded.commands.execute(OpenCase(contact, "Invoice wrong", skill="Billing"), META).id
    routed = embedded.commands.execute(RouteNewCase(billing, team), META)
    assert routed.extra == {"agent": "ana", "load": 1}
    refused(embedded, AssignCase(billing, "ben"), "agent_lacks_skill")
    assert load(embedded, agent_id("ana")).seat.load == 1

    embedded.commands.execute(ResolveCase(billing), META)
    assert load(embedded, agent_id("ana")).seat.load == 0  # released with the resolution
    plain = embedded.commands.execute(OpenCase(contact, "Question"), META).id
    embedded.commands.execute(RouteNewCase(plain, team), META)
    # No skill: round-robin; ana had the last case, so ben's turn.
    assert load(embedded, plain).agent == "ben"


def test_two_cases_routed_at_once_never_share_an_agents_last_place(embedded):
    embedded.commands.execute(RegisterAgent("ana", ["billing"], capacity=1), META)
    contact = embedded.commands.execute(CreateContact(name="Grace"), META).id
    cases = [embedded.commands.execute(OpenCase(contact, f"Invoice {n}", skill="billing"), META).id for n in (1, 2)]
    start = threading.Barrier(2)

    def route(case_id: UUID) -> None:
        start.wait()
        for _ in range(5):  # as the automation does: on a conflict, decide again
            try:
                embedded.commands.execute(RouteNewCase(case_id, ("ana",)), META)
                return
            except ConcurrencyConflict:
                continue

    threads = [threading.Thread(target=route, args=(c,)) for c in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    agents = [load(embedded, c).agent for c in cases]
    assert agents.count("ana") == 1  # ana had room for one; the other case waits
    assert load(embedded, agent_id("ana")).seat.load == 1


def test_a_repeated_case_from_the_same_person_is_linked_not_worked_twice(embedded, team):
    contact = embedded.commands.execute(CreateContact(name="Grace"), META).id
    now = datetime.now(UTC)
    first = embedded.commands.execute(OpenCase(contact, "Cannot log in", at=now), META)
    again = embedded.commands.execute(OpenCase(contact, "RE: cannot  log in!", at=now + timedelta(hours=5)), META)
    assert (first.extra["duplicate_of"], again.extra["duplicate_of"]) == (None, str(first.id))
    repeated = load(embedded, again.id)
    assert (repeated.status, repeated.duplicate_of) == ("closed", first.id)
    routed = embedded.commands.execute(RouteNewCase(again.id, team), META)
    assert routed.extra["agent"] is None  # nobody works the repeat
    later = embedded.commands.execute(OpenCase(contact, "Cannot log in", at=now + timedelta(days=4)), META)
    assert later.extra["duplicate_of"] is None  # outside the window: a case of its own
    other = embedded.commands.execute(CreateContact(name="Alan"), META).id
    assert embedded.commands.execute(OpenCase(other, "Cannot log in", at=now), META).extra["duplicate_of"] is None


def test_the_deadline_watcher_renews_lapses_reminds_marks_overdue_and_expires(embedded, deal):
    run = embedded.commands.execute
    renewals = run(CreatePipeline("Renewals", (Stage("talk", "Talk", 0.5),)), META).id
    account = embedded.commands.execute(CreateContact(name="Acme buyer"), META).id
    today = date.today()
    renewing = run(
        SignContract(
            "Support",
            today - timedelta(days=300),
            today + timedelta(days=20),
            Decimal(1200),
            contact_id=account,
            renewal_days=30,
        ),
        META,
    ).id
    ending = run(
        SignContract(
            "Pilot",
            today - timedelta(days=60),
            today + timedelta(days=2),
            Decimal(100),
            contact_id=account,
            renewal_days=1,  # its renewal window opens tomorrow
        ),
        META,
    ).id
    terminated = run(
        SignContract("Old", today - timedelta(days=60), today + timedelta(days=2), Decimal(100), contact_id=account),
        META,
    ).id
    run(TerminateContract(terminated, "Moved away"), META)
    due = datetime.now(UTC) + timedelta(hours=2)
    call = run(ScheduleActivity("call", "Ring Ada", "deal", deal, "ben", due, reminders=[60, 180]), META).id
    done = run(ScheduleActivity("task", "Send deck", "deal", deal, "ben", due), META).id
    run(CompleteActivity(done, "Sent"), META)
    refused(embedded, CompleteActivity(done, "Sent again"), "activity_closed")
    quote = accepted_quote(embedded, deal)
    unanswered = accepted_quote(embedded, deal, valid_for=timedelta(days=1), accept=False)

    clock = [datetime.now(UTC)]
    watcher = DeadlineWatcher(embedded.commands, NotificationLogSource(embedded.store), renewals, lambda: clock[0])
    watcher.catch_up()
    assert watcher.tick() == 2  # the renewal window is open (20 days left of 30); the 180-minute reminder
    contract: Contract = load(embedded, renewing)
    renewal: Deal = load(embedded, contract.renewal_deal_id)
    assert (renewal.pipeline_id, renewal.amount, renewal.contact_id) == (renewals, Decimal(1200), account)
    assert load(embedded, call).reminded == [180]
    assert watcher.tick() == 0  # nothing twice

    clock[0] = datetime.now(UTC) + timedelta(days=3)
    watcher.catch_up()
    # Pilot lapses (Old was terminated); the 60-minute reminder, then overdue; the unanswered
    # quote expires, the accepted one does not.
    assert watcher.tick() == 4
    assert load(embedded, ending).status == "lapsed"
    assert load(embedded, terminated).status == "terminated"
    activity: Activity = load(embedded, call)
    assert (activity.reminded, activity.overdue) == ([180, 60], True)
    assert load(embedded, quote).status == "accepted"
    assert load(embedded, unanswered).status == "expired"
    # A second watcher, from the beginning, finds everything done.
    again = DeadlineWatcher(embedded.commands, NotificationLogSource(embedded.store), renewals, lambda: clock[0])
    again.catch_up()
    before = embedded.store.recorder.max_notification_id()
    again.tick()
    assert embedded.store.recorder.max_notification_id() == before


def test_the_free_text_of_an_activity_about_a_persons_deal_goes_with_the_person(embedded, deal):
    """Sealed with the key of the deal's contact, so erasing that contact shreds it."""
    about_deal = embedded.commands.execute(
        ScheduleActivity("call", "Ring Ada about her divorce", "deal", deal, "ben", datetime.now(UTC)), META
    ).id
    contact = load(embedded, deal).contact_id
    assert load(embedded, about_deal).contact_id == contact
    [stored] = embedded.store.recorder.select_events(about_deal)
    assert b"divorce" not in stored.state  # sealed in the store
    assert embedded.store.mapper.to_domain_event(stored).subject == "Ring Ada about her divorce"
    embedded.commands.execute(EraseContact(contact), META)
    assert embedded.store.mapper.to_domain_event(stored).subject == ERASED


def test_an_auditor_sees_a_persons_contracts_and_the_activities_about_them_or_their_deals(embedded, deal):
    contact = load(embedded, deal).contact_id
    other = embedded.commands.execute(CreateContact(name="Alan"), META).id
    today = date.today()
    contract = embedded.commands.execute(
        SignContract("Support", today, today + timedelta(days=90), Decimal(100), contact_id=contact), META
    ).id
    call = embedded.commands.execute(
        ScheduleActivity("call", "Ring Ada", "deal", deal, "ben", datetime.now(UTC)), META
    ).id
    embedded.commands.execute(ScheduleActivity("call", "Ring Alan", "contact", other, "ben", datetime.now(UTC)), META)
    history = list(embedded.audit.history(contact))
    assert {(e.aggregate_type, e.aggregate_id) for e in history} >= {("contract", contract), ("activity", call)}
    assert {e.aggregate_type for e in history} == {"contact", "deal", "contract", "activity"}
    export = json.loads("".join(embedded.audit.dsar(contact)))
    assert [c["state"]["id"] for c in export["contracts"]] == [str(contract)]
    assert [a["state"]["id"] for a in export["activities"]] == [str(call)]  # not Alan's
