"""A realistic year of CRM activity, recorded through the command layer: accounts and
their contacts, interactions, consent, deals moving through two pipelines with quotes that
become orders, contracts and their renewals, calls and tasks, support cases routed to
agents by skill with their SLA, and campaigns. Used by ``crm demo``; the same seed tells
the same story."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from commands.account import AddContactToAccount, CreateAccount
from commands.activity import CompleteActivity, ScheduleActivity
from commands.campaign import CreateCampaign, LaunchCampaign, RecordCampaignResponse, SendCampaign
from commands.case import AssignCase, CloseCase, OpenCase, ReopenCase, ResolveCase, RespondToCase
from commands.catalog import CreatePriceList, CreateProduct, SetPrice
from commands.contact import ChangeContactDetails, ConsentChange, CreateContact, RecordInteraction
from commands.contract import SignContract
from commands.deal import CreateDeal, LoseDeal, MoveDeal, WinDeal
from commands.errors import ConcurrencyConflict
from commands.pipeline import CreatePipeline
from commands.quote import AcceptQuote, AddQuoteLine, CreateQuote, PlaceOrder, RejectQuote, SendQuote
from commands.results import CommandResult
from commands.routing import RegisterAgent
from domain.errors import DomainError
from domain.meta import Meta
from domain.pipeline import Stage

Execute = Callable[[object, Meta], CommandResult]

FIRST = [
    "Ana",
    "Ben",
    "Chen",
    "Dana",
    "Eli",
    "Fatima",
    "Goran",
    "Hana",
    "Ivan",
    "Jia",
    "Kofi",
    "Lena",
    "Mateo",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Vera",
]
LAST = [
    "Silva",
    "Okafor",
    "Li",
    "Kowalski",
    "Haddad",
    "Nguyen",
    "Berg",
    "Mensah",
    "Rossi",
    "Tanaka",
    "Moreau",
    "Novak",
    "Dubois",
    "Khan",
    "Larsen",
    "Costa",
    "Fischer",
    "Ito",
]
COMPANIES = [
    "Acme Logistics",
    "Borealis Health",
    "Cobalt Retail",
    "Delta Foods",
    "Evergreen Bank",
    "Fjord Energy",
    "Granite Legal",
    "Harbor Media",
    "Iris Travel",
    "Juniper Labs",
]
INDUSTRIES = ["logistics", "health", "retail", "food", "finance", "energy", "legal", "media", "travel", "research"]
TITLES = ["Head of Sales", "Operations Manager", "CFO", "IT Director", "Marketing Lead", "Buyer"]
OWNERS = ["ana.sales", "ben.sales", "chen.sales", "dana.sales"]
TAGS = ["newsletter", "webinar", "enterprise", "smb", "partner", "trial"]
#: Interaction types and how often each happens relative to the others.
MIX = {
    "email_sent": 30,
    "email_opened": 18,
    "email_clicked": 7,
    "page_visited": 16,
    "content_downloaded": 5,
    "form_submitted": 3,
    "call": 5,
    "meeting": 2,
}
#: The catalog: code, name, list price in EUR.
PRODUCTS = [
    ("CRM-SEAT", "CRM seat, yearly", Decimal("480.00")),
    ("CRM-ANALYTICS", "Analytics add-on, yearly", Decimal("1200.00")),
    ("ONBOARD", "Onboarding package", Decimal("2500.00")),
    ("SUPPORT-PLUS", "Premium support, yearly", Decimal("3000.00")),
]
#: The skill each case subject needs, and the skills of the agents.
CASE_SKILLS = {"Invoice is wrong": "billing", "Integration error": "api", "Export fails": "api"}
AGENT_SKILLS = {"sam.support": ["billing"], "kim.support": ["api"], "lou.support": ["billing", "api"]}
LOST_REASONS = ["price", "timing", "went with a competitor", "no budget", "no decision"]
CASE_SUBJECTS = [
    "Cannot log in",
    "Invoice is wrong",
    "Export fails",
    "Slow dashboard",
    "Missing data",
    "Password reset",
    "Integration error",
    "Feature question",
]


class Story:
    def __init__(self, execute: Execute, seed: int, now: datetime | None = None) -> None:
        self.run = execute
        self.rng = random.Random(seed)
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.start = self.now - timedelta(days=365)

    def moment(self, after: datetime | None = None, within_days: float = 365) -> datetime:
        """A random moment after ``after`` (default: a year ago), never in the future."""
        base = after or self.start
        room = min(within_days * 86400, (self.now - base).total_seconds())
        return base + timedelta(seconds=self.rng.uniform(0, max(room, 0)))

    def do(self, command: object, actor: str, story: str) -> CommandResult | None:
        """One command; a rule that refuses it is part of the story (nothing recorded)."""
        try:
            return self.run(command, Meta(actor, story, f"demo:{story}"))
        except (DomainError, ConcurrencyConflict):
            return None

    def made(self, command: object, actor: str, story: str) -> CommandResult:
        """A command that creates what the story goes on with: no rule may refuse it."""
        return self.run(command, Meta(actor, story, f"demo:{story}"))

    # -- chapters ------------------------------------------------------------------------

    def accounts(self) -> dict[str, UUID]:
        ids = {}
        for company, industry in zip(COMPANIES, INDUSTRIES, strict=True):
            domain = company.split()[0].lower() + ".example"
            result = self.made(
                CreateAccount(
                    company, domain, industry, self.rng.choice(["smb", "mid", "large"]), self.rng.choice(OWNERS)
                ),
                "sales.manager",
                "accounts",
            )
            ids[company] = result.id
        return ids

    def pipelines(self) -> tuple[UUID, UUID]:
        new_business = self.made(
            CreatePipeline(
                "New business",
                (
                    Stage("qualify", "Qualify", 0.1),
                    Stage("discovery", "Discovery", 0.25),
                    Stage("proposal", "Proposal", 0.5),
                    Stage("negotiation", "Negotiation", 0.75),
                ),
            ),
            "sales.manager",
            "pipelines",
        ).id
        renewals = self.made(
            CreatePipeline(
                "Renewals",
                (
                    Stage("review", "Review", 0.5),
                    Stage("quote", "Quote", 0.8),
                ),
            ),
            "sales.manager",
            "pipelines",
        ).id
        return new_business, renewals

    def contact(self, n: int, accounts: dict[str, UUID]) -> tuple[UUID, str, int]:
        rng = self.rng
        first, last, company = rng.choice(FIRST), rng.choice(LAST), rng.choice(COMPANIES)
        owner = rng.choice(OWNERS)
        story = f"contact-{n}"
        contact = self.made(
            CreateContact(
                name=f"{first} {last}",
                email=f"{first}.{last}{n}@{company.split()[0].lower()}.example".lower(),
                phone=f"+44 20 7946 {n:04d}",
                company=company,
                title=rng.choice(TITLES),
                tags=tuple(rng.sample(TAGS, rng.randint(0, 2))),
                owner=owner,
            ),
            owner,
            story,
        ).id
        if rng.random() < 0.6:
            self.do(AddContactToAccount(accounts[company], contact), owner, story)
        if rng.random() < 0.7:
            self.do(ChangeContactDetails(contact, {}, consent=ConsentChange(True, "signup form")), owner, story)
        # Engagement is skewed: most contacts do little, a few do a lot.
        score = 0
        count = min(int(rng.expovariate(1 / 12)), 80)
        for i, at in enumerate(sorted(self.moment() for _ in range(count))):
            kind = rng.choices(list(MIX), list(MIX.values()))[0]
            result = self.do(RecordInteraction(contact, kind, at, {"channel": "demo", "n": i}), owner, story)
            score = result.extra["lead_score"] if result else score
        if rng.random() < 0.1:
            self.do(ChangeContactDetails(contact, {"owner": rng.choice(OWNERS)}), "sales.manager", story)
        return contact, owner, score

    def catalog(self) -> tuple[UUID, list[UUID]]:
        """The products and this year's EUR price list."""
        prices = self.made(
            CreatePriceList("List prices", "EUR", self.start.date() - timedelta(days=30)), "sales.ops", "catalog"
        ).id
        products = []
        for code, name, price in PRODUCTS:
            product = self.made(CreateProduct(code, name), "sales.ops", "catalog").id
            self.made(SetPrice(prices, product, price), "sales.ops", "catalog")
            products.append(product)
        return prices, products

    def agents(self) -> None:
        for agent, skills in AGENT_SKILLS.items():
            self.made(RegisterAgent(agent, skills, capacity=8), "support.lead", "agents")

    def quote(
        self, deal: UUID, owner: str, story: str, at: datetime, prices: UUID, products: list[UUID]
    ) -> UUID | None:
        """A quote sent at ``at``, of one to three products."""
        rng = self.rng
        quote = self.do(CreateQuote(deal, prices, (at + timedelta(days=30)).date(), at=at), owner, story)
        if quote is None:
            return None
        for product in rng.sample(products, rng.randint(1, 3)):
            quantity = Decimal(rng.choice([1, 1, 5, 10, 25]))
            discount = Decimal(rng.choice([0, 0, 100, 250]))
            self.do(AddQuoteLine(quote.id, product, quantity, discount, Decimal(19), at=at), owner, story)
        self.do(SendQuote(quote.id, at=at), owner, story)
        return quote.id

    def follow_up(self, regarding: str, about: UUID, owner: str, story: str, at: datetime) -> None:
        """A call three days out; most are made, some a day late, some still open."""
        due = at + timedelta(days=3)
        call = self.do(ScheduleActivity("call", "Check in", regarding, about, owner, due, [60], at=at), owner, story)
        done = due + timedelta(days=self.rng.choice([-1, 0, 0, 1]))
        if call is not None and done <= self.now and self.rng.random() < 0.85:
            self.do(CompleteActivity(call.id, "Spoke", at=done), owner, story)

    def deal(
        self, n: int, contact: UUID, owner: str, pipelines: tuple[UUID, UUID], catalog: tuple[UUID, list[UUID]]
    ) -> None:
        rng = self.rng
        story = f"deal-{n}"
        renewal = rng.random() < 0.2
        pipeline = pipelines[1] if renewal else pipelines[0]
        stages = ["review", "quote"] if renewal else ["qualify", "discovery", "proposal", "negotiation"]
        at = self.moment(within_days=330)
        amount = Decimal(rng.choice([2_000, 5_000, 8_000, 12_000, 20_000, 35_000, 60_000]))
        expected = (at + timedelta(days=rng.randint(20, 120))).date()
        deal = self.do(
            CreateDeal(
                pipeline,
                f"{'Renewal' if renewal else 'New'} #{n}",
                contact_id=contact,
                amount=amount,
                owner=owner,
                expected_close_on=expected,
                at=at,
            ),
            owner,
            story,
        )
        if deal is None:
            return
        self.follow_up("deal", deal.id, owner, story, at)
        reached = rng.randint(1, len(stages))
        for stage in stages[1:reached]:
            at = at + timedelta(days=rng.expovariate(1 / 12) + 0.5)
            if at > self.now:
                return
            self.do(MoveDeal(deal.id, stage, at=at), owner, story)
        # Half the deals that got this far have a quote, sent as they reached their last stage.
        sent_at = at
        quote = self.quote(deal.id, owner, story, at, *catalog) if rng.random() < 0.5 else None
        outcome = rng.random()
        at = at + timedelta(days=rng.expovariate(1 / 15) + 0.5)
        if at > self.now or outcome < 0.25:
            return  # still open
        if outcome < 0.25 + 0.15 * reached:
            if quote is not None and at <= sent_at + timedelta(days=30):  # accepted while valid
                self.do(AcceptQuote(quote, at=at), "customer.portal", story)
                self.do(PlaceOrder(quote, at=at), owner, story)
                won = self.do(WinDeal(deal.id, None, at.date(), at=at), owner, story)  # at the orders' total
            else:
                factor = Decimal(rng.choice(["0.9", "1", "1", "1.1"]))
                won = self.do(WinDeal(deal.id, amount * factor, at.date(), at=at), owner, story)
            if won is not None:
                self.contract(contact, owner, story, at.date(), amount)
        else:
            if quote is not None:
                self.do(RejectQuote(quote, rng.choice(LOST_REASONS), at=at), "customer.portal", story)
            self.do(LoseDeal(deal.id, rng.choice(LOST_REASONS), at=at), owner, story)

    def contract(self, contact: UUID, owner: str, story: str, won_on: date, value: Decimal) -> None:
        """A contract from the win, for half a year or a year; the deadline watcher opens the
        renewal deal of those in their renewal window and records those ended unrenewed as
        lapsed."""
        self.do(
            SignContract(
                "Subscription",
                won_on,
                won_on + timedelta(days=self.rng.choice([182, 364])),  # half-year terms end sooner
                value,
                contact_id=contact,
                renewal_days=60,
                at=datetime.combine(won_on, datetime.min.time(), UTC) + timedelta(hours=12),
            ),
            owner,
            story,
        )

    def case(self, n: int, contact: UUID) -> None:
        rng = self.rng
        story = f"case-{n}"
        priority = rng.choices(["low", "normal", "high", "urgent"], [3, 5, 2, 1])[0]
        at = self.moment(within_days=360)
        subject = rng.choice(CASE_SUBJECTS)
        skill = CASE_SKILLS.get(subject)
        channel = rng.choice(["email", "phone", "chat", "web"])
        case = self.do(OpenCase(contact, subject, priority, channel, at=at, skill=skill), "customer.portal", story)
        if case is None or case.extra.get("duplicate_of"):
            return  # a repeat of an earlier case is linked to it, not worked
        agent = rng.choice([a for a, skills in AGENT_SKILLS.items() if skill is None or skill in skills])
        steps: list[tuple[Any, str]] = [
            (AssignCase(case.id, agent, at=at + timedelta(minutes=rng.uniform(1, 30))), "support.lead"),
            (RespondToCase(case.id, at=at + timedelta(hours=rng.expovariate(1 / 6))), agent),
        ]
        if rng.random() < 0.35:  # not solved at the first contact
            steps.append((RespondToCase(case.id, at=at + timedelta(hours=rng.uniform(8, 30))), agent))
        resolved = at + timedelta(hours=rng.expovariate(1 / 30) + 1)
        steps.append((ResolveCase(case.id, "solved", at=resolved), agent))
        if rng.random() < 0.1:
            steps.append((ReopenCase(case.id, at=resolved + timedelta(days=rng.uniform(0.5, 9))), "customer.portal"))
            resolved = resolved + timedelta(days=10)
            steps.append((ResolveCase(case.id, "solved again", at=resolved), agent))
        steps.append((CloseCase(case.id, at=resolved + timedelta(days=rng.uniform(1, 5))), agent))
        for command, actor in steps:
            if command.at > self.now:  # the rest is still to come
                return
            self.do(command, actor, story)

    def campaigns(self, contacts: list[UUID]) -> None:
        rng = self.rng
        plans: list[tuple[str, str, dict[str, Any]]] = [
            ("Spring webinar", "webinar", {"tags_any": ["webinar", "trial"]}),
            ("Enterprise newsletter", "email", {"tags_any": ["enterprise"], "min_score": 20}),
            ("Partner day", "event", {"tags_any": ["partner"], "consent_required": False}),
            ("Winback mailing", "email", {"lifecycle_stages": ["subscriber", "lead"]}),
        ]
        for name, channel, audience in plans:
            story = f"campaign-{name}"
            campaign = self.made(CreateCampaign(name, channel, audience, "marketing"), "marketing", story)
            self.do(LaunchCampaign(campaign.id), "marketing", story)
            sent = self.do(
                SendCampaign(campaign.id, tuple(contacts), at=self.moment(within_days=300)), "marketing", story
            )
            skipped = set(sent.extra["skipped"]) if sent else set(map(str, contacts))
            for contact in contacts:
                if str(contact) in skipped:
                    continue
                for response in ("opened", "clicked", "registered", "converted"):
                    if rng.random() > 0.45:
                        break
                    self.do(
                        RecordCampaignResponse(campaign.id, contact, response, at=self.moment(within_days=300)),
                        "marketing",
                        story,
                    )


def record_year(execute: Execute, contacts: int, seed: int, advance: Callable[[], None] = lambda: None) -> None:
    """Calls ``advance`` after each contact's story, for a progress bar."""
    story = Story(execute, seed)
    accounts = story.accounts()
    pipelines = story.pipelines()
    catalog = story.catalog()
    story.agents()
    ids = []
    for n in range(contacts):
        contact, owner, score = story.contact(n, accounts)
        ids.append(contact)
        if score >= 60 or story.rng.random() < 0.1:
            story.deal(n, contact, owner, pipelines, catalog)
        if story.rng.random() < 0.35:
            story.case(n, contact)
        advance()
    story.campaigns(ids)
