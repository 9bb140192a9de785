"""Every aggregate and event type by its stable name (``crm.<aggregate>.<event>.v<N>``).

The name is also the topic under which the event store records the event, so renaming
or moving a class never breaks replay; the event store registers these names at start.
"""

from __future__ import annotations

from eventsourcing.domain import Aggregate

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
from domain.order import Order
from domain.pipeline import Pipeline
from domain.quote import Quote
from domain.routing import Agent

AGGREGATES: dict[str, type[Aggregate]] = {
    "contact": Contact,
    "account": Account,
    "pipeline": Pipeline,
    "deal": Deal,
    "campaign": Campaign,
    "case": Case,
    "apikey": ApiKey,
    "product": Product,
    "price_list": PriceList,
    "quote": Quote,
    "order": Order,
    "contract": Contract,
    "activity": Activity,
    "agent": Agent,
    "case_thread": CaseThread,
}


def _events_of(aggregate: type[Aggregate]) -> list[type]:
    """The event classes declared in the aggregate's body: those with an event TOPIC
    (``crm.<aggregate>.<event>.v<N>``; eventsourcing's implied base classes have none)."""
    return [
        value
        for value in vars(aggregate).values()
        if isinstance(value, type)
        and issubclass(value, Aggregate.Event)
        and len(getattr(value, "TOPIC", "").split(".")) == 4
    ]


def _topic(event: type) -> str:
    topic: str = event.TOPIC  # type: ignore[attr-defined]  # every CRM event class declares one
    return topic


def topic_of(event: object) -> str:
    """The stable type name of a CRM event (``crm.<aggregate>.<event>.v<N>``)."""
    return _topic(type(event))


EVENT_TYPES: dict[str, type] = {
    _topic(event): event for aggregate in AGGREGATES.values() for event in _events_of(aggregate)
}


def aggregate_type_of(event_type: str) -> str:
    """``crm.contact.created.v1`` → ``contact``."""
    prefix, aggregate, *_ = event_type.split(".")
    if prefix != "crm" or aggregate not in AGGREGATES:
        raise KeyError(f"not a CRM event type: {event_type!r}")
    return aggregate
