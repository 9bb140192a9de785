"""A small CRM story told with the domain aggregates themselves, as the envelopes the
operational projection receives: shared by its unit and integration tests."""

from __future__ import annotations

import re
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
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
SLA = {"policy": SlaPolicy()}
#: What no summary may ever show: Ada's, Erin's and Fay's personal data and free text.
PERSONAL = ("Ada", "Lovelace", "example.com", "7946", "loved", "Erin", "Fay", "log in", "Told", "pricey")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def personal_in(text: str, words: tuple[str, ...] = PERSONAL) -> list[str]:
    """The personal values ``text`` shows; ids aside, since a random id may hold "7946"."""
    plain = _UUID.sub("", text)
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
        contact_id=ada.id, subject="Ada cannot log in", priority="urgent", channel="email", **SLA, at=T0, meta=META
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
        contact_id=erin.id, subject="Erin wants out", priority="low", channel="web", **SLA, at=T0, meta=META
    )
    erin.erase(T0 + DAY, META)
    fay = Contact.create(name="Fay Gone", email="fay@example.com", meta=META)
    fay_case = Case.open(
        contact_id=fay.id, subject="Fay wants out", priority="low", channel="web", **SLA, at=T0, meta=META
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
