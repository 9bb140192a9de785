"""The Order aggregate: what a customer bought, made from an accepted quote at exactly the
quoted prices.

confirmed → fulfilled, or confirmed → cancelled (with a reason). A fulfilled or cancelled
order never changes again.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import RuleViolation
from domain.instants import require_aware
from domain.meta import Meta
from domain.quote import ACCEPTED, Line, Quote, Totals, totals_of
from domain.text import clean

CONFIRMED = "confirmed"
FULFILLED = "fulfilled"
CANCELLED = "cancelled"
STATUSES = (CONFIRMED, FULFILLED, CANCELLED)


class QuoteNotAccepted(RuleViolation):
    code = "quote_not_accepted"


class PriceNotQuoted(RuleViolation):
    """An order carries the accepted revision's lines, prices and discounts, nothing else."""

    code = "price_not_quoted"


class OrderClosed(RuleViolation):
    code = "order_closed"


class CancelReasonRequired(RuleViolation):
    code = "cancel_reason_required"


class Order(Aggregate):
    """Holds the quote's deal, so that a won deal's amount and the customer's lifetime value
    follow the orders."""

    TOPIC = "crm.order"

    class Created(Aggregate.Created):
        """Never recorded itself (orders are created by ``Confirmed``); eventsourcing needs
        a topic on it. No version: it names no event type (see ``Case.Created``)."""

        TOPIC = "crm.order.created"

    class Confirmed(Created):
        TOPIC = "crm.order.confirmed.v1"
        quote_id: UUID
        quote_number: str
        deal_id: UUID
        currency: str
        lines: list[dict[str, Any]]
        total: Decimal
        at: datetime
        meta: Meta

    class Fulfilled(Aggregate.Event):
        TOPIC = "crm.order.fulfilled.v1"
        at: datetime
        meta: Meta

    class Cancelled(Aggregate.Event):
        TOPIC = "crm.order.cancelled.v1"
        reason: str
        at: datetime
        meta: Meta

    @classmethod
    def place(cls, quote: Quote, at: datetime, meta: Meta, lines: list[Line] | None = None) -> Order:
        """From ``quote``'s accepted revision. ``lines``, when given (an order keyed in by
        hand), must be exactly the quote's: same products, quantities, prices, discounts and
        taxes."""
        if quote.status != ACCEPTED:
            raise QuoteNotAccepted(f"an order is made from an accepted quote; this one is {quote.status}")
        quoted = quote.lines
        if lines is not None and _terms(lines) != _terms(quoted):
            raise PriceNotQuoted(f"the order's lines differ from quote {quote.document_number}'s")
        return cls(
            quote_id=quote.id,
            quote_number=quote.document_number,
            deal_id=quote.deal_id,
            currency=quote.currency,
            lines=[line.as_dict() for line in quoted],
            total=quote.totals.total,
            at=require_aware(at),
            meta=meta,
        )

    def fulfil(self, at: datetime, meta: Meta) -> None:
        self._require_confirmed()
        self._fulfilled(at=require_aware(at), meta=meta)

    def cancel(self, reason: str | None, at: datetime, meta: Meta) -> None:
        self._require_confirmed()
        cleaned = clean(reason)
        if cleaned is None:
            raise CancelReasonRequired("a cancelled order needs a reason")
        self._cancelled(reason=cleaned, at=require_aware(at), meta=meta)

    @property
    def lines(self) -> list[Line]:
        return [Line.of(line) for line in self._lines]

    @property
    def totals(self) -> Totals:
        return totals_of(self.lines, self.currency)

    def _require_confirmed(self) -> None:
        if self.status != CONFIRMED:
            raise OrderClosed(f"the order is {self.status}")

    @event(Confirmed)
    def __init__(
        self,
        quote_id: UUID,
        quote_number: str,
        deal_id: UUID,
        currency: str,
        lines: list[dict[str, Any]],
        total: Decimal,
        at: datetime,
        meta: Meta,
    ) -> None:
        self.quote_id = quote_id
        self.quote_number = quote_number
        self.deal_id = deal_id
        self.currency = currency
        self._lines = lines
        self.total = total
        self.status = CONFIRMED
        self.cancel_reason: str | None = None
        self.confirmed_at = at

    @event(Fulfilled)
    def _fulfilled(self, at: datetime, meta: Meta) -> None:
        self.status = FULFILLED

    @event(Cancelled)
    def _cancelled(self, reason: str, at: datetime, meta: Meta) -> None:
        self.status = CANCELLED
        self.cancel_reason = reason


def _terms(lines: list[Line]) -> list[tuple[Any, ...]]:
    """What an order may not change, line by line, in a stable order (ids aside)."""
    return sorted((line.product_id, line.quantity, line.unit_price, line.discount, line.tax_rate) for line in lines)
