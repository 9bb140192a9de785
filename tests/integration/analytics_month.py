"""A scripted month of CRM activity with explicit business times, recorded through the
command layer, and what every metric must say about it, worked out by hand below.

Contacts are created now (their creation carries no business time); everything else
happens in month A (the first day of the month after next, at 00:00 UTC) and month B
(the month after A), with a little before A, so every business time follows the
contacts' creation. Commands run in business-time order, with the command bus's clock at
that time (consent takes its time from the clock). Automations do not run: lifecycle
changes are scripted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from commands.account import AddContactToAccount, CreateAccount
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
)
from commands.contact import ChangeContactDetails, ChangeLifecycleStage, ConsentChange, CreateContact, RecordInteraction
from commands.deal import CreateDeal, LoseDeal, MoveDeal, ReopenDeal, WinDeal
from commands.handlers import HANDLERS
from commands.pipeline import CreatePipeline, SetStageProbability
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
            ids[name] = result.id

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
        at(
            when,
            lambda n=n, response=response, when=when: RecordCampaignResponse(ids["campaign"], c(n), response, at=when),
        )

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

    for when, make, name in sorted(steps, key=lambda step: step[0]):
        clock.now = when
        run(make(), name)
    return month


# -- what the metrics must say, worked out by hand from the script above -----------------


def percentile(values: list[float], fraction: float) -> float:
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
        # The month has no quotes, orders, contracts or activities yet.
        "metric_quote_to_order": [],
        "metric_average_order_value": [],
        "metric_revenue_by_product": [],
        "metric_contract_renewals": [],
        "metric_overdue_activities": [],
        # k1, its only assignment: sam, 6 minutes after it opened; k1 is resolved. sam never
        # registered as an agent, so no skills, capacity or counted load.
        "metric_case_routing": [
            {
                "agent": "sam",
                "skills": None,
                "capacity": None,
                "cases_taken": 1,
                "first_assignments": 1,
                "median_seconds_to_assignment": 360.0,
                "avg_seconds_to_assignment": 360.0,
                "load": None,
                "open_cases": 0,
            }
        ],
    }
