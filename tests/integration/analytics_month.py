"""A scripted month of CRM activity with explicit business times, recorded through the
command layer, and what every metric must say about it, worked out by hand below.

Contacts are created now (their creation carries no business time); everything else
happens in month A (the first day of the month after next, at 00:00 UTC) and month B
(the month after A), with a little before A, so every business time follows the
contacts' creation. Commands run in business-time order, with the command bus's clock at
that time (consent, agents, contract renewals and terminations, and some activity steps
take their time from the clock). Automations do not run: lifecycle changes, overdue
activities and contracts' lapses are scripted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from commands.account import AddContactToAccount, CreateAccount
from commands.activity import (
    CancelActivity,
    CompleteActivity,
    MarkActivityOverdue,
    ReassignActivity,
    RescheduleActivity,
    ScheduleActivity,
)
from commands.bus import CommandBus
from commands.campaign import CreateCampaign, LaunchCampaign, RecordCampaignResponse, SendCampaign
from commands.case import (
    AssignCase,
    CloseCase,
    MarkCasePending,
    OpenCase,
    RecordCustomerReply,
    RecordSlaBreach,
    ReopenCase,
    ResolveCase,
    RespondToCase,
    SetCaseSkill,
)
from commands.catalog import CreatePriceList, CreateProduct, SetPrice, UpdateProduct
from commands.contact import ChangeContactDetails, ChangeLifecycleStage, ConsentChange, CreateContact, RecordInteraction
from commands.contract import AmendContract, LapseContract, RenewContract, SignContract, TerminateContract
from commands.deal import CreateDeal, LoseDeal, MoveDeal, ReopenDeal, WinDeal
from commands.handlers import HANDLERS
from commands.pipeline import CreatePipeline, SetStageProbability
from commands.quote import (
    AcceptQuote,
    AddQuoteLine,
    CancelOrder,
    CreateQuote,
    FulfilOrder,
    PlaceOrder,
    RejectQuote,
    RemoveQuoteLine,
    ReviseQuote,
    SendQuote,
)
from commands.routing import RegisterAgent, RouteNewCase
from crm.wiring import Container
from domain.meta import Meta
from domain.pipeline import Stage

#: Personal data the script records; none of it may reach the warehouse.
PERSONAL = {
    "names": ["Zelda Quixote", "Yorick Umbra", "Xanthe Vole", "Wystan Pike", "Ulla Brisk", "Tobias Crane"],
    "emails": [f"{n}@quixote-mail.example" for n in ("zelda", "yorick", "xanthe", "wystan", "ulla", "tobias")],
    "phones": [f"+44 20 7946 09{n:02d}" for n in range(6)],
    "subjects": ["Printer on fire", "Invoice double charged", "Cannot reset password", "Export truncated"],
    "free_text": ["Replaced the toner cartridge", "Quixote windmill deal", "Quixote Holdings", "mentioned her divorce"],
}


def month_after_next(now: datetime) -> datetime:
    year, month = now.year, now.month + 2
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def next_month(first: datetime) -> datetime:
    return first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Month:
    a: datetime
    b: datetime
    ids: dict[str, UUID] = field(default_factory=dict)
    last_position: int = 0

    def day(self, n: int) -> date:
        return (self.a + timedelta(days=n)).date()

    @property
    def before_a(self) -> date:
        """The month before A (the first consents and customers)."""
        return (self.a - timedelta(days=1)).date().replace(day=1)


def record_month(container: Container) -> Month:
    clock = Clock()
    bus = CommandBus(container.store, container.commands.config, HANDLERS, clock=clock)
    month = Month(month_after_next(clock.now), next_month(month_after_next(clock.now)))
    ids = month.ids
    steps: list[tuple[datetime, Callable[[], Any], str | None]] = []

    def run(command: Any, name: str | None = None) -> None:
        result = bus.execute(command, Meta("script", "analytics-month", "analytics-month"))
        month.last_position = max(month.last_position, result.position or 0)
        if name:
            # A quote line's step names the line (to remove it later), not the quote.
            ids[name] = UUID(result.extra["line_id"]) if "line_id" in result.extra else result.id

    def A(days: float, hours: float = 9) -> datetime:
        return month.a + timedelta(days=days, hours=hours)

    def B(days: float, hours: float = 9) -> datetime:
        return month.b + timedelta(days=days, hours=hours)

    def at(when: datetime, make: Callable[[], Any], name: str | None = None) -> None:
        steps.append((when, make, name))

    # -- set-up, recorded now ------------------------------------------------------------
    run(
        CreatePipeline(
            "New business",
            (
                Stage("qualify", "Qualify", 0.1),
                Stage("proposal", "Proposal", 0.5),
                Stage("negotiation", "Negotiation", 0.8),
            ),
        ),
        "p1",
    )
    run(CreatePipeline("Renewals", (Stage("review", "Review", 0.5), Stage("quote", "Quote", 0.8))), "p2")
    run(CreateAccount("Quixote Holdings", "quixote.example", "energy", "smb", "ana"), "account")
    owners = ["ana", "ana", "ana", "ben", "ben", "ben"]
    for n in range(6):
        run(
            CreateContact(
                name=PERSONAL["names"][n],
                email=PERSONAL["emails"][n],
                phone=PERSONAL["phones"][n],
                company="Quixote Holdings",
                owner=owners[n],
            ),
            f"c{n + 1}",
        )
    run(AddContactToAccount(ids["account"], ids["c1"]))
    run(AddContactToAccount(ids["account"], ids["c2"]))
    run(ChangeContactDetails(ids["c2"], {"owner": "ben"}))  # now c2 is ben's
    # The catalog: three products on one EUR price list.
    run(CreateProduct("SUP-1", "Support hours"), "support")
    run(CreateProduct("LIC-1", "Licence"), "licence")
    run(CreateProduct("ONB-1", "Onboarding"), "onboarding")
    run(CreatePriceList("Standard", "EUR", clock.now.date()), "prices")
    for product, price in (("support", "100.00"), ("licence", "1500.00"), ("onboarding", "1250.00")):
        run(SetPrice(ids["prices"], ids[product], Decimal(price)))

    def c(n: int) -> UUID:
        return ids[f"c{n}"]

    def consent(n: int, given: bool) -> Callable[[], Any]:
        return lambda: ChangeContactDetails(c(n), {}, consent=ConsentChange(given, "web form"))

    def lifecycle(n: int, stage: str, when: datetime) -> None:
        at(when, lambda: ChangeLifecycleStage(c(n), stage, at=when))

    def interaction(n: int, kind: str, when: datetime, details: dict | None = None) -> None:
        at(when, lambda: RecordInteraction(c(n), kind, when, details or {}))

    # -- lifecycle -------------------------------------------------------------------------
    lifecycle(3, "customer", A(-10))
    lifecycle(4, "customer", A(-5))
    lifecycle(6, "customer", A(8))
    lifecycle(1, "customer", A(9))
    lifecycle(5, "customer", A(12))
    lifecycle(3, "churned", A(15))
    lifecycle(6, "evangelist", A(20))
    lifecycle(1, "churned", B(3))
    lifecycle(4, "churned", B(10))
    lifecycle(4, "customer", B(20))  # won back

    # -- consent (its time comes from the clock) -------------------------------------------
    at(A(-3), consent(1, True))
    at(A(-2), consent(2, True))
    at(A(1), consent(3, True))
    at(A(2), consent(4, True))
    at(A(5), consent(1, False))
    at(B(1), consent(5, True))
    at(B(2), consent(2, False))

    # -- interactions: scores, surveys, purchases ----------------------------------------
    for d in (1, 2, 3):
        interaction(1, "content_downloaded", A(d, 8))  # c1: 120
        interaction(2, "page_visited", A(d, 8))  # c2: 60
    interaction(2, "call", A(3, 12), {"note": PERSONAL["free_text"][3]})
    interaction(3, "email_opened", A(1, 8))  # c3: 10
    for d in (1, 2, 3, 4, 5):
        interaction(5, "content_downloaded", A(d, 8))  # c5: 200
    interaction(1, "survey_answered", A(3, 10), {"nps": 10})
    interaction(2, "survey_answered", A(4, 10), {"nps": 9, "ces": 2})
    interaction(3, "survey_answered", A(5, 10), {"nps": 7})
    interaction(4, "survey_answered", A(6, 10), {"nps": 3, "ces": 6})
    interaction(5, "survey_answered", B(2, 10), {"nps": 0})
    interaction(6, "survey_answered", B(3, 10), {"ces": 5})
    interaction(3, "purchase", A(16), {"amount": "250.00"})
    interaction(4, "purchase", A(17), {"amount": "99.50"})
    interaction(2, "purchase", A(18), {"amount": "10.00"})  # not a customer: no lifetime value

    # -- the campaign: sent to the consented contacts (c1-c4 at A+3) -----------------------
    at(A(0, 1), lambda: CreateCampaign("Winter promo", "email", {}, "mia"), "campaign")
    at(A(0, 2), lambda: LaunchCampaign(ids["campaign"]))
    at(A(3, 11), lambda: SendCampaign(ids["campaign"], tuple(c(n) for n in range(1, 7)), at=A(3, 11)))
    for n, response, when in [
        (1, "opened", A(4, 11)),  # email_opened: +10 → c1 130
        (2, "opened", A(4, 12)),  # c2 70
        (2, "clicked", A(5, 11)),
        (2, "converted", A(6, 11)),
        (3, "unsubscribed", A(5, 12)),
    ]:

        def respond(n: int = n, response: str = response, when: datetime = when) -> RecordCampaignResponse:
            return RecordCampaignResponse(ids["campaign"], c(n), response, at=when)

        at(when, respond)

    # -- deals -----------------------------------------------------------------------------
    def deal(
        name: str, when: datetime, pipeline: str, contact: int, owner: str, amount: int, expected: date | None
    ) -> None:
        at(
            when,
            lambda: CreateDeal(
                ids[pipeline],
                PERSONAL["free_text"][1],
                contact_id=c(contact),
                amount=Decimal(amount),
                owner=owner,
                expected_close_on=expected,
                at=when,
            ),
            name,
        )

    def move(name: str, stage: str, when: datetime) -> None:
        at(when, lambda: MoveDeal(ids[name], stage, at=when))

    def win(name: str, amount: int, when: datetime) -> None:
        at(when, lambda: WinDeal(ids[name], Decimal(amount), when.date(), at=when))

    def lose(name: str, reason: str, when: datetime) -> None:
        at(when, lambda: LoseDeal(ids[name], reason, at=when))

    deal("d1", A(0), "p1", 1, "ana", 1000, month.day(20))
    move("d1", "proposal", A(2))
    move("d1", "negotiation", A(5))
    win("d1", 1200, A(9))
    deal("d2", A(1), "p1", 2, "ana", 2000, None)
    move("d2", "proposal", A(4))
    lose("d2", "price", A(10))
    deal("d3", A(2), "p1", 3, "ben", 3000, month.day(25))
    lose("d3", "timing", A(3))
    at(A(4), lambda: ReopenDeal(ids["d3"], at=A(4)))  # back in qualify, open
    deal("d4", A(3), "p1", 4, "ben", 4000, (month.b + timedelta(days=14)).date())
    move("d4", "proposal", A(5))
    move("d4", "negotiation", A(6))
    deal("d5", A(4), "p1", 5, "ben", 5000, None)
    win("d5", 5000, A(12))  # straight from qualify
    deal("d6", A(5), "p2", 6, "ana", 6000, None)
    move("d6", "quote", A(7))
    win("d6", 6000, A(8))
    deal("d7", A(6), "p1", 1, "ana", 7000, month.day(20))
    at(A(21), lambda: SetStageProbability(ids["p1"], "qualify", 0.2))  # the forecast uses it

    # -- cases (SLA: urgent 1h/4h, high 4h/24h, normal 8h/72h, low 24h/168h) ----------------
    def case(name: str, contact: int, priority: str, channel: str, when: datetime, subject: int) -> None:
        at(when, lambda: OpenCase(c(contact), PERSONAL["subjects"][subject], priority, channel, at=when), name)

    def then(when: datetime, make: Callable[[UUID], Any], name: str) -> None:
        at(when, lambda: make(ids[name]))

    case("k1", 1, "high", "email", A(1), 0)
    then(A(1, 9.1), lambda k: AssignCase(k, "sam", at=A(1, 9.1)), "k1")
    then(A(1, 10), lambda k: RespondToCase(k, at=A(1, 10)), "k1")  # 1h: met
    then(A(1, 15), lambda k: ResolveCase(k, PERSONAL["free_text"][0], at=A(1, 15)), "k1")  # 6h: met, FCR
    then(A(3), lambda k: CloseCase(k, at=A(3)), "k1")
    case("k2", 2, "normal", "phone", A(2), 1)
    then(A(2, 19), lambda k: RespondToCase(k, agent="kim", at=A(2, 19)), "k2")  # 10h: missed
    then(A(3), lambda k: RespondToCase(k, agent="kim", at=A(3)), "k2")
    then(A(4), lambda k: ResolveCase(k, "done", at=A(4)), "k2")  # 48h: met, not FCR
    case("k3", 3, "urgent", "chat", A(3), 2)
    then(A(3, 9.5), lambda k: RespondToCase(k, agent="sam", at=A(3, 9.5)), "k3")  # 0.5h: met
    then(A(3, 13.5), lambda k: RecordSlaBreach(k, "resolution", at=A(3, 13.5)), "k3")
    then(A(3, 15), lambda k: ResolveCase(k, "done", at=A(3, 15)), "k3")  # 6h: missed, FCR
    case("k4", 4, "low", "web", A(10), 3)
    then(A(10, 20), lambda k: RespondToCase(k, agent="lou", at=A(10, 20)), "k4")  # 11h: met
    then(A(11), lambda k: ResolveCase(k, "done", at=A(11)), "k4")
    then(A(12), lambda k: ReopenCase(k, at=A(12)), "k4")
    then(A(12, 10), lambda k: RespondToCase(k, agent="lou", at=A(12, 10)), "k4")
    then(A(13), lambda k: ResolveCase(k, "done again", at=A(13)), "k4")  # 72h from opening: met, not FCR
    case("k5", 5, "normal", "email", B(5), 0)
    then(B(5, 18), lambda k: RecordSlaBreach(k, "first_response", at=B(5, 18)), "k5")  # never answered
    case("k6", 6, "high", "phone", B(1), 1)
    then(B(1, 12), lambda k: RespondToCase(k, agent="kim", at=B(1, 12)), "k6")  # 3h: met
    then(B(1, 13), lambda k: MarkCasePending(k, at=B(1, 13)), "k6")
    then(B(2, 8), lambda k: RecordCustomerReply(k, at=B(2, 8)), "k6")
    then(B(2, 12), lambda k: ResolveCase(k, "done", at=B(2, 12)), "k6")  # 27h: missed, FCR

    # -- case routing: skills, agents and assignments -------------------------------------
    # sam, kim and max register before k1 is assigned; lou never does. Assignments change
    # no case figure above (none is a response), and k4 and k5 stay unassigned.
    at(A(0, 12), lambda: RegisterAgent("sam", ["printers", "Hardware"], 3))
    at(A(0, 12.1), lambda: RegisterAgent("kim", ["billing"], 2))
    at(A(0, 12.2), lambda: RegisterAgent("max", ["hardware", "billing"], 4))  # never given a case
    then(A(1, 9.05), lambda k: SetCaseSkill(k, "hardware"), "k1")  # sam has it: he may take k1
    then(A(2, 11), lambda k: AssignCase(k, "kim", at=A(2, 11)), "k2")  # 2h after opening
    then(A(3, 9.25), lambda k: AssignCase(k, "lou", at=A(3, 9.25)), "k3")  # 15 min
    then(A(3, 10), lambda k: AssignCase(k, "sam", at=A(3, 10)), "k3")  # not a first assignment
    then(B(1, 9.25), lambda k: SetCaseSkill(k, "billing"), "k6")
    then(B(1, 9.5), lambda k: RouteNewCase(k, ("sam", "kim")), "k6")  # kim alone has billing: 30 min

    # -- quotes and orders -----------------------------------------------------------------
    # Orders only on won deals, at exactly their won amount, placed after the win: the deal's
    # amount follows its orders and stays as won. Quotes on open deals are never ordered.
    # Prices: support 100.00, licence 1500.00, onboarding 1250.00.
    def quote(name: str, deal_name: str, when: datetime, valid_until: date) -> None:
        at(when, lambda: CreateQuote(ids[deal_name], ids["prices"], valid_until, at=when), name)

    def line(
        name: str,
        product: str,
        quantity: int,
        when: datetime,
        line_name: str | None = None,
        *,
        off: int = 0,
        tax: int = 0,
    ) -> None:
        at(
            when,
            lambda: AddQuoteLine(ids[name], ids[product], Decimal(quantity), Decimal(off), Decimal(tax), at=when),
            line_name,
        )

    def step(when: datetime, make: Callable[[UUID, datetime], Any], name: str, result: str | None = None) -> None:
        at(when, lambda: make(ids[name], when), result)

    # q1 on d1 (won at 1200 on A+9): 12 support hours = 1200.00, no tax; ordered A+10, fulfilled.
    quote("q1", "d1", A(5, 14), month.day(10))
    line("q1", "support", 12, A(5, 14.5))
    step(A(5, 15), lambda q, t: SendQuote(q, at=t), "q1")
    step(A(8, 11), lambda q, t: AcceptQuote(q, at=t), "q1")
    step(A(10, 10), lambda q, t: PlaceOrder(q, at=t), "q1", "o1")
    step(A(14, 10), lambda o, t: FulfilOrder(o, at=t), "o1")
    # q2 on d5 (won at 5000 on A+12 9:00): first sent with 20 support hours (2000.00) and two
    # licences (3000.00 + 20 % tax = 3600.00): 5600.00. Revised: the licences 500.00 off (net
    # 2500.00, tax 500.00, 3000.00): 5000.00, net 4500.00. Accepted, ordered A+13.
    quote("q2", "d5", A(10, 10), month.day(20))
    line("q2", "support", 20, A(10, 10.2))
    line("q2", "licence", 2, A(10, 10.4), "q2 licences", tax=20)
    step(A(10, 11), lambda q, t: SendQuote(q, at=t), "q2")
    step(A(11, 10), lambda q, t: ReviseQuote(q, at=t), "q2")
    at(A(11, 10.2), lambda: RemoveQuoteLine(ids["q2"], ids["q2 licences"]))
    line("q2", "licence", 2, A(11, 10.4), off=500, tax=20)
    step(A(11, 11), lambda q, t: SendQuote(q, at=t), "q2")
    step(A(11, 15), lambda q, t: AcceptQuote(q, at=t), "q2")
    step(A(13, 10), lambda q, t: PlaceOrder(q, at=t), "q2", "o2")
    # q3 on d2 (open until lost on price at A+10): two onboardings, rejected.
    quote("q3", "d2", A(4, 10), month.day(15))
    line("q3", "onboarding", 2, A(4, 10.5), tax=20)
    step(A(4, 11), lambda q, t: SendQuote(q, at=t), "q3")
    step(A(9, 10), lambda q, t: RejectQuote(q, "too expensive", at=t), "q3")
    # q6 on d6 (won at 6000 on A+8): four onboardings, 5000.00 + 20 % tax = 6000.00; accepted
    # in A, ordered in B.
    quote("q6", "d6", A(7, 10), month.day(14))
    line("q6", "onboarding", 4, A(7, 10.5), tax=20)
    step(A(7, 11), lambda q, t: SendQuote(q, at=t), "q6")
    step(A(7, 16), lambda q, t: AcceptQuote(q, at=t), "q6")
    step(B(2, 10), lambda q, t: PlaceOrder(q, at=t), "q6", "o3")
    # q7 on d6 as well, two licences (3000.00), ordered by mistake on B+6 and cancelled an hour
    # later: d6's amount is 9000 for that hour, then 6000 again. The quote counts as ordered.
    quote("q7", "d6", B(5, 10), month.day(40))
    line("q7", "licence", 2, B(5, 10.5))
    step(B(5, 11), lambda q, t: SendQuote(q, at=t), "q7")
    step(B(5, 15), lambda q, t: AcceptQuote(q, at=t), "q7")
    step(B(6, 10), lambda q, t: PlaceOrder(q, at=t), "q7", "o4")
    step(B(6, 11), lambda o, t: CancelOrder(o, "ordered twice", at=t), "o4")
    # q4 on d4 (open in negotiation): sent in B, still awaiting an answer.
    quote("q4", "d4", B(3, 10), (month.b + timedelta(days=27)).date())
    line("q4", "licence", 1, B(3, 10.5))
    step(B(3, 11), lambda q, t: SendQuote(q, at=t), "q4")
    # q5 on d7: a draft never sent.
    quote("q5", "d7", A(7, 12), month.day(25))
    line("q5", "support", 5, A(7, 12.5))
    # The onboarding is renamed after its order: the revenue by product names it as it is now.
    at(B(5, 12), lambda: UpdateProduct(ids["onboarding"], name="Onboarding programme"))

    # -- contracts ---------------------------------------------------------------------------
    # The lapse the deadline watcher would record is scripted; no renewal deal is opened (it
    # would be a deal of its own, in the deal metrics above).
    def sign(name: str, when: datetime, title: str, starts: date, ends: date, value: int, whose: str) -> None:
        """``whose``: the account, or a contact (c1 to c6)."""
        account = ids["account"] if whose == "account" else None
        contact = ids[whose] if whose != "account" else None
        at(
            when,
            lambda: SignContract(title, starts, ends, Decimal(value), account_id=account, contact_id=contact, at=when),
            name,
        )

    def b_day(n: int) -> date:
        return (month.b + timedelta(days=n)).date()

    # K1, the account's: term 1 ends A+14, renewed at A+10 to B+14 (13000); term 2 renewed at B+12.
    sign("K1", A(-8), "Support plan", month.day(-351), month.day(14), 12000, "account")
    then(A(10, 12), lambda k: RenewContract(k, b_day(14), Decimal(13000)), "K1")
    then(B(12, 12), lambda k: RenewContract(k, b_day(14 + 365), Decimal(14000)), "K1")
    # K2, c3's: runs to B+40, terminated when c3 churned (A+15), effective B+4.
    sign("K2", A(-7), "Maintenance", month.day(-100), b_day(40), 3000, "c3")
    then(A(15, 12), lambda k: TerminateContract(k, "customer left", b_day(4)), "K2")
    # K3, c4's: ends on A's last day, lapses the day after.
    sign("K3", A(-6), "Hosting", month.day(-200), b_day(-1), 2000, "c4")
    then(B(0, 12), lambda k: LapseContract(k, at=B(0, 12)), "K3")
    # K4, c6's: signed to end A+19, amended at A+15 to end B+19 at 6500, renewed at B+18.
    sign("K4", A(8, 12), "Licence subscription", month.day(8), month.day(19), 6000, "c6")
    then(A(15, 14), lambda k: AmendContract(k, "extended", ends_on=b_day(19), value=Decimal(6500)), "K4")
    then(B(18, 12), lambda k: RenewContract(k, b_day(19 + 365), Decimal(7000)), "K4")
    # K5, c5's: ends B+25, undecided.
    sign("K5", A(12, 12), "Support plan", month.day(12), b_day(25), 4000, "c5")

    # -- activities (subjects and outcomes are personal) ------------------------------------
    def activity(name: str, when: datetime, kind: str, about: str, about_id: str, owner: str, due: datetime) -> None:
        at(
            when,
            lambda: ScheduleActivity(kind, PERSONAL["subjects"][0], about, ids[about_id], owner, due, at=when),
            name,
        )

    def done(name: str, when: datetime) -> None:
        at(when, lambda: CompleteActivity(ids[name], PERSONAL["free_text"][0], at=when))

    def overdue(name: str, when: datetime) -> None:
        at(when, lambda: MarkActivityOverdue(ids[name], at=when))

    activity("a1", A(1, 10), "call", "contact", "c1", "ana", A(2, 10))
    done("a1", A(2, 9))  # on time
    activity("a2", A(3, 10), "meeting", "deal", "d1", "ana", A(5, 12))
    overdue("a2", A(5, 13))
    done("a2", A(6, 10))  # late: recorded overdue
    activity("a3", A(6, 12), "task", "deal", "d7", "ana", B(25, 12))  # open, due at B+25
    activity("a4", A(10, 10), "task", "case", "k4", "ben", A(11, 9))
    done("a4", A(11, 12))  # late: after its due time, never recorded overdue
    activity("a5", B(1, 10), "call", "deal", "d4", "ben", B(2, 9))
    overdue("a5", B(3, 9))  # open, overdue since B+2 9:00
    activity("a6", B(1, 11), "task", "contact", "c5", "ben", B(6, 9))
    at(B(4, 12), lambda: CancelActivity(ids["a6"], PERSONAL["free_text"][0]))  # counts nowhere
    activity("a7", A(8, 13), "call", "contact", "c6", "ana", A(9, 12))
    at(A(8, 14), lambda: ReassignActivity(ids["a7"], "ben"))
    done("a7", A(9, 10))  # ben's, on time
    activity("a8", A(12, 10), "meeting", "contact", "c5", "ben", A(13, 10))
    overdue("a8", A(13, 11))
    at(A(13, 12), lambda: RescheduleActivity(ids["a8"], A(15, 10)))  # no longer overdue
    done("a8", A(14, 10))  # on time: after the first due time, before the new one

    for when, make, name in sorted(steps, key=lambda step: step[0]):
        clock.now = when
        run(make(), name)
    return month


# -- what the metrics must say, worked out by hand from the script above -----------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """percentile_cont: linear interpolation between the closest ranks."""
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


#: Days each deal sat in each stage it left (pipeline, stage, days), from the deal steps.
INTERVALS = [
    ("p1", "qualify", 2), ("p1", "proposal", 3), ("p1", "negotiation", 4),  # d1: won
    ("p1", "qualify", 3), ("p1", "proposal", 6),  # d2: lost
    ("p1", "qualify", 1),  # d3: lost (then reopened)
    ("p1", "qualify", 2), ("p1", "proposal", 1),  # d4: open in negotiation
    ("p1", "qualify", 8),  # d5: won
    ("p2", "review", 2), ("p2", "quote", 1),  # d6: won
]  # fmt: skip


def expected(month: Month) -> dict[str, list[dict[str, Any]]]:
    ids = {k: str(v) for k, v in month.ids.items()}
    p1, p2 = ids["p1"], ids["p2"]
    a, b, before = month.a.date(), month.b.date(), month.before_a
    created_month = datetime.now(UTC).date().replace(day=1)  # the contacts' creation
    months_before_a = []
    m = created_month
    while m < before:
        months_before_a.append(m)
        m = (m + timedelta(days=32)).replace(day=1)

    def stage_stats(pipeline: str, stage: str) -> dict[str, Any]:
        days = [d for p, s, d in INTERVALS if (p, s) == (pipeline, stage)]
        return {
            "intervals": len(days),
            "median_days": percentile(days, 0.5),
            "mean_days": sum(days) / len(days),
            "p90_days": percentile(days, 0.9),
        }

    # Purchase amounts reach the warehouse (docs/ANALYTICS.md): they count towards lifetime value.
    purchase = Decimal("250.00")  # c3
    purchase4 = Decimal("99.50")  # c4
    revenue = {"c1": Decimal(1200), "c3": purchase, "c4": purchase4, "c5": Decimal(5000), "c6": Decimal(6000)}
    old_cohort = revenue["c3"] + revenue["c4"]
    new_cohort = revenue["c1"] + revenue["c5"] + revenue["c6"]
    return {
        "metric_funnel": [
            {
                "pipeline_id": p1,
                "stage": "qualify",
                "next_stage": "proposal",
                "entered": 6,
                "converted": 4,
                "conversion_rate": 4 / 6,
            },
            {
                "pipeline_id": p1,
                "stage": "proposal",
                "next_stage": "negotiation",
                "entered": 3,
                "converted": 2,
                "conversion_rate": 2 / 3,
            },
            {
                "pipeline_id": p1,
                "stage": "negotiation",
                "next_stage": None,
                "entered": 2,
                "converted": 1,
                "conversion_rate": 1 / 2,
            },
            {
                "pipeline_id": p2,
                "stage": "review",
                "next_stage": "quote",
                "entered": 1,
                "converted": 1,
                "conversion_rate": 1.0,
            },
            {
                "pipeline_id": p2,
                "stage": "quote",
                "next_stage": None,
                "entered": 1,
                "converted": 1,
                "conversion_rate": 1.0,
            },
        ],
        "metric_close_rate": [
            {"month": a, "pipeline_id": p1, "won": 2, "lost": 1, "close_rate": 2 / 3, "won_amount": Decimal(6200)},
            {"month": a, "pipeline_id": p2, "won": 1, "lost": 0, "close_rate": 1.0, "won_amount": Decimal(6000)},
        ],
        "metric_sales_cycle": [
            {"pipeline_id": p1, "won": 2, "median_days": 8.5, "mean_days": 8.5},  # d1: 9 days, d5: 8 days
            {"pipeline_id": p2, "won": 1, "median_days": 3.0, "mean_days": 3.0},  # d6
        ],
        "metric_stage_durations": [
            {"pipeline_id": p1, "stage": "qualify", "stage_order": 1, **stage_stats("p1", "qualify")},
            {"pipeline_id": p1, "stage": "proposal", "stage_order": 2, **stage_stats("p1", "proposal")},
            {"pipeline_id": p1, "stage": "negotiation", "stage_order": 3, **stage_stats("p1", "negotiation")},
            {"pipeline_id": p2, "stage": "review", "stage_order": 1, **stage_stats("p2", "review")},
            {"pipeline_id": p2, "stage": "quote", "stage_order": 2, **stage_stats("p2", "quote")},
        ],
        # Open: d3 and d7 in qualify (now 0.2) expected in A, d4 in negotiation (0.8) in B.
        "metric_forecast": [
            {
                "month": a,
                "pipeline_id": p1,
                "currency": "EUR",
                "open_deals": 2,
                "amount": Decimal(10000),
                "weighted_amount": 2000.0,
            },
            {
                "month": b,
                "pipeline_id": p1,
                "currency": "EUR",
                "open_deals": 1,
                "amount": Decimal(4000),
                "weighted_amount": 3200.0,
            },
        ],
        # The deals board: d3 and d7 in qualify, d4 in negotiation; the other stages empty.
        "metric_pipeline": [
            {
                "pipeline_id": p1,
                "stage": "qualify",
                "stage_order": 1,
                "currency": "EUR",
                "open_deals": 2,
                "amount": Decimal(10000),
                "weighted_amount": 2000.0,
            },
            {
                "pipeline_id": p1,
                "stage": "proposal",
                "stage_order": 2,
                "currency": None,
                "open_deals": 0,
                "amount": Decimal(0),
                "weighted_amount": 0.0,
            },
            {
                "pipeline_id": p1,
                "stage": "negotiation",
                "stage_order": 3,
                "currency": "EUR",
                "open_deals": 1,
                "amount": Decimal(4000),
                "weighted_amount": 3200.0,
            },
            {
                "pipeline_id": p2,
                "stage": "review",
                "stage_order": 1,
                "currency": None,
                "open_deals": 0,
                "amount": Decimal(0),
                "weighted_amount": 0.0,
            },
            {
                "pipeline_id": p2,
                "stage": "quote",
                "stage_order": 2,
                "currency": None,
                "open_deals": 0,
                "amount": Decimal(0),
                "weighted_amount": 0.0,
            },
        ],  # fmt: skip
        # Customers at the start: A: c3, c4; B: c1, c4, c5, c6 (c3 churned in A). Churned:
        # A: c3; B: c1, c4.
        "metric_churn": [
            *({"month": m, "customers_at_start": 0, "churned": 0, "churn_rate": None} for m in months_before_a),
            {"month": before, "customers_at_start": 0, "churned": 0, "churn_rate": None},
            {"month": a, "customers_at_start": 2, "churned": 1, "churn_rate": 0.5},
            {"month": b, "customers_at_start": 4, "churned": 2, "churn_rate": 0.5},
        ],
        # Cohorts: c3, c4 became customers before A; c1, c5, c6 in A.
        "metric_churn_by_cohort": [
            {"cohort_month": before, "month": a, "customers_at_start": 2, "churned": 1, "churn_rate": 0.5},
            {"cohort_month": before, "month": b, "customers_at_start": 1, "churned": 1, "churn_rate": 1.0},
            {"cohort_month": a, "month": b, "customers_at_start": 3, "churned": 1, "churn_rate": 1 / 3},
        ],
        "metric_lifetime_value": [
            {"customers": 5, "revenue": sum(revenue.values()), "lifetime_value": float(sum(revenue.values())) / 5},
        ],
        "metric_lifetime_value_by_cohort": [
            {"cohort_month": before, "customers": 2, "revenue": old_cohort, "lifetime_value": float(old_cohort) / 2},
            {"cohort_month": a, "customers": 3, "revenue": new_cohort, "lifetime_value": float(new_cohort) / 3},
        ],
        # Consents: before A: c1, c2 given; A: c3, c4 given, c1 withdrawn; B: c5 given, c2 withdrawn.
        "metric_list_growth": [
            {"month": before, "consented_at_start": 0, "new_consented": 2, "withdrawals": 0, "growth_rate": None},
            {"month": a, "consented_at_start": 2, "new_consented": 2, "withdrawals": 1, "growth_rate": 0.5},
            {"month": b, "consented_at_start": 3, "new_consented": 1, "withdrawals": 1, "growth_rate": 0.0},
        ],
        # Consented now: c3, c4, c5 (c1 and c2 withdrew, c6 never gave it).
        "metric_list_size": [{"contacts": 6, "consented": 3, "consented_share": 0.5}],
        # A: NPS 10, 9, 7, 3 → 2 promoters, 1 detractor of 4; CES 2, 6. B: NPS 0; CES 5.
        "metric_nps": [
            {
                "month": a,
                "nps_answers": 4,
                "promoters": 2,
                "passives": 1,
                "detractors": 1,
                "nps": 25.0,
                "ces_answers": 2,
                "ces": 4.0,
            },
            {
                "month": b,
                "nps_answers": 1,
                "promoters": 0,
                "passives": 0,
                "detractors": 1,
                "nps": -100.0,
                "ces_answers": 1,
                "ces": 5.0,
            },
        ],
        # Resolved in A: k1 (FCR), k2, k3 (FCR), k4 (reopened, two responses); in B: k6 (FCR).
        "metric_first_contact_resolution": [
            {"month": a, "resolved": 4, "first_contact_resolved": 2, "first_contact_resolution_rate": 0.5},
            {"month": b, "resolved": 1, "first_contact_resolved": 1, "first_contact_resolution_rate": 1.0},
        ],
        "metric_case_resolution": [
            {
                "priority": "urgent",
                "cases": 1,
                "responded": 1,
                "median_first_response_hours": 0.5,
                "p90_first_response_hours": 0.5,
                "resolved": 1,
                "median_resolution_hours": 6.0,
                "p90_resolution_hours": 6.0,
            },
            {
                "priority": "high",
                "cases": 2,
                "responded": 2,
                "median_first_response_hours": 2.0,
                "p90_first_response_hours": percentile([1, 3], 0.9),
                "resolved": 2,
                "median_resolution_hours": 16.5,
                "p90_resolution_hours": percentile([6, 27], 0.9),
            },
            {
                "priority": "normal",
                "cases": 2,
                "responded": 1,
                "median_first_response_hours": 10.0,
                "p90_first_response_hours": 10.0,
                "resolved": 1,
                "median_resolution_hours": 48.0,
                "p90_resolution_hours": 48.0,
            },
            {
                "priority": "low",
                "cases": 1,
                "responded": 1,
                "median_first_response_hours": 11.0,
                "p90_first_response_hours": 11.0,
                "resolved": 1,
                "median_resolution_hours": 72.0,
                "p90_resolution_hours": 72.0,
            },
        ],  # fmt: skip
        # Decided cases by resolution deadline: A: k1 (both met), k2 (first response missed),
        # k3 (resolution missed), k4 (both met); B: k6 (resolution missed). k5 is undecided.
        "metric_sla": [
            {"month": a, "priority": "urgent", "cases_due": 1, "met_both": 0, "compliance": 0.0},
            {"month": a, "priority": "high", "cases_due": 1, "met_both": 1, "compliance": 1.0},
            {"month": a, "priority": "normal", "cases_due": 1, "met_both": 0, "compliance": 0.0},
            {"month": a, "priority": "low", "cases_due": 1, "met_both": 1, "compliance": 1.0},
            {"month": b, "priority": "high", "cases_due": 1, "met_both": 0, "compliance": 0.0},
        ],
        # Unresolved: k5 (normal, never assigned), its first-response breach recorded; its
        # resolution deadline (B+8) is still ahead of now.
        "metric_case_backlog": [
            {
                "priority": "normal",
                "status": "new",
                "cases": 1,
                "first_response_breached": 1,
                "resolution_breached": 0,
                "within_sla": 0,
                "within_sla_rate": 0.0,
            },
        ],  # fmt: skip
        # Now: c1 churned 130, c2 subscriber 70, c3 churned 10, c4 customer 0, c5 customer 200,
        # c6 evangelist 0.
        "metric_lead_scores": [
            {"lifecycle_stage": "subscriber", "score_band": "50-99", "contacts": 1, "share_of_stage": 1.0},
            {"lifecycle_stage": "customer", "score_band": "0-49", "contacts": 1, "share_of_stage": 0.5},
            {"lifecycle_stage": "customer", "score_band": "200+", "contacts": 1, "share_of_stage": 0.5},
            {"lifecycle_stage": "evangelist", "score_band": "0-49", "contacts": 1, "share_of_stage": 1.0},
            {"lifecycle_stage": "churned", "score_band": "0-49", "contacts": 1, "share_of_stage": 0.5},
            {"lifecycle_stage": "churned", "score_band": "100-199", "contacts": 1, "share_of_stage": 0.5},
        ],
        # Sent to c1-c4 (consented at A+3); c1 opened; c2 opened, clicked, converted; c3 unsubscribed.
        "metric_campaigns": [
            {
                "campaign_id": ids["campaign"],
                "campaign_name": "Winter promo",
                "sent": 4,
                "responded": 3,
                "opened": 2,
                "clicked": 1,
                "converted": 1,
                "unsubscribed": 1,
                "response_rate": 0.75,
                "conversion_rate": 0.25,
            },
        ],  # fmt: skip
        # Quotes by the month first sent: A: q3 (A+4), q1 (A+5), q6 (A+7), q2 (A+10, sent again
        # at A+11 after its revision: counted once); accepted and ordered: q1, q2, q6 (q6's order
        # is in B, its quote still counts in A); q3 rejected. B: q4, still sent, and q7, ordered
        # (its order cancelled since). q5 never sent.
        "metric_quote_to_order": [
            {"month": a, "quotes_sent": 4, "quotes_accepted": 3, "quotes_ordered": 3, "conversion_rate": 0.75},
            {"month": b, "quotes_sent": 2, "quotes_accepted": 1, "quotes_ordered": 1, "conversion_rate": 0.5},
        ],
        # A: o1 (1200.00, no tax; fulfilled) and o2 (5000.00, net 2000.00 + 2500.00 = 4500.00);
        # B: o3 (6000.00, net 5000.00); o4 was cancelled.
        "metric_average_order_value": [
            {
                "month": a,
                "currency": "EUR",
                "orders": 2,
                "revenue": Decimal(6200),
                "net_revenue": Decimal(5700),
                "average_order_value": 3100.0,
                "average_net_order_value": 2850.0,
            },
            {
                "month": b,
                "currency": "EUR",
                "orders": 1,
                "revenue": Decimal(6000),
                "net_revenue": Decimal(5000),
                "average_order_value": 6000.0,
                "average_net_order_value": 5000.0,
            },
        ],
        # Support hours: 12 (o1) + 20 (o2), no tax. Licences: 2 on o2, 3000.00 less 500.00, plus
        # 20 % tax (o4's two are cancelled). Onboarding: 4 on o3 plus 20 % tax, under the name it
        # was given since.
        "metric_revenue_by_product": [
            {
                "product_id": ids["support"],
                "code": "SUP-1",
                "product_name": "Support hours",
                "currency": "EUR",
                "orders": 2,
                "quantity": Decimal(32),
                "net_revenue": Decimal(3200),
                "revenue": Decimal(3200),
            },
            {
                "product_id": ids["licence"],
                "code": "LIC-1",
                "product_name": "Licence",
                "currency": "EUR",
                "orders": 1,
                "quantity": Decimal(2),
                "net_revenue": Decimal(2500),
                "revenue": Decimal(3000),
            },
            {
                "product_id": ids["onboarding"],
                "code": "ONB-1",
                "product_name": "Onboarding programme",
                "currency": "EUR",
                "orders": 1,
                "quantity": Decimal(4),
                "net_revenue": Decimal(5000),
                "revenue": Decimal(6000),
            },
        ],
        # Terms by the month they ended: A: K1's first (A+14, renewed, 12000), K3 (A's last day,
        # lapsed on B+0). B: K2 (terminated on A+15, effective B+4, its term running to B+40),
        # K1's second (B+14, renewed, 13000), K4's first (signed to end A+19, amended to B+19
        # and 6500, renewed). K5 (B+25) and the terms the renewals opened are undecided.
        "metric_contract_renewals": [
            {
                "month": a,
                "terms_ended": 2,
                "renewed": 1,
                "terminated": 0,
                "lapsed": 1,
                "renewal_rate": 0.5,
                "renewed_value": Decimal(12000),
            },
            {
                "month": b,
                "terms_ended": 3,
                "renewed": 2,
                "terminated": 1,
                "lapsed": 0,
                "renewal_rate": 2 / 3,
                "renewed_value": Decimal(19500),
            },
        ],
        # ana: a1 done on time, a2 done late (recorded overdue), a3 open; a7 went to ben. ben: a4
        # done late (after its due time), a7 on time, a8 on time (recorded overdue, then given a
        # later due time and done before it),
        # a5 open, a6 cancelled. Every due time is after now: nothing open is overdue yet (as of
        # an instant of the month: test_analytics.py).
        "metric_overdue_activities": [
            {
                "owner": "ana",
                "open": 1,
                "open_overdue": 0,
                "completed": 2,
                "completed_late": 1,
                "overdue_share_of_completed": 0.5,
            },
            {
                "owner": "ben",
                "open": 1,
                "open_overdue": 0,
                "completed": 3,
                "completed_late": 1,
                "overdue_share_of_completed": 1 / 3,
            },
        ],
        # First assignments: k1 sam 6 minutes after it opened, k2 kim 2 hours, k3 lou 15 minutes
        # (then sam: taken, not first), k6 kim 30 minutes (routed: the only agent with billing).
        # Every case assigned is resolved: no load. lou never registered (no skills, capacity or
        # load); max registered and was never given a case. Skills read sorted and lower case.
        "metric_case_routing": [
            {
                "agent": "sam",
                "skills": "hardware,printers",
                "capacity": 3,
                "cases_taken": 2,
                "first_assignments": 1,
                "median_seconds_to_assignment": 360.0,
                "avg_seconds_to_assignment": 360.0,
                "load": 0,
                "open_cases": 0,
            },
            {
                "agent": "kim",
                "skills": "billing",
                "capacity": 2,
                "cases_taken": 2,
                "first_assignments": 2,
                "median_seconds_to_assignment": 4500.0,
                "avg_seconds_to_assignment": 4500.0,
                "load": 0,
                "open_cases": 0,
            },
            {
                "agent": "lou",
                "skills": None,
                "capacity": None,
                "cases_taken": 1,
                "first_assignments": 1,
                "median_seconds_to_assignment": 900.0,
                "avg_seconds_to_assignment": 900.0,
                "load": None,
                "open_cases": 0,
            },
            {
                "agent": "max",
                "skills": "billing,hardware",
                "capacity": 4,
                "cases_taken": 0,
                "first_assignments": 0,
                "median_seconds_to_assignment": None,
                "avg_seconds_to_assignment": None,
                "load": 0,
                "open_cases": 0,
            },
        ],
    }
