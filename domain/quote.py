"""The Quote aggregate: a priced offer for a deal, sent to the customer in revisions.

A quote is edited only as a draft. Sending it freezes that revision: the ``Sent`` event
carries the lines and totals the customer saw, under the quote's stable number and the
revision's number. Changing a sent quote means revising it, which opens the next revision
as a draft holding the same lines. A sent revision is then accepted, rejected, or expires
on the day after its validity date.

Totals are computed here and only here (``totals_of``), with exact decimals rounded to the
currency's minor unit line by line, so the quote's total is the sum of its lines' totals
to the cent and an order at the quoted prices carries the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from domain.catalog import PriceList, Product
from domain.errors import InvalidValue, RuleViolation
from domain.instants import require_aware, require_date
from domain.meta import Meta
from domain.money import require_amount, require_currency, require_decimal, round_money
from domain.text import clean

DRAFT = "draft"
SENT = "sent"
ACCEPTED = "accepted"
REJECTED = "rejected"
EXPIRED = "expired"
STATUSES = (DRAFT, SENT, ACCEPTED, REJECTED, EXPIRED)


class QuoteNotDraft(RuleViolation):
    """Only a draft is edited; a sent revision is never changed."""

    code = "quote_not_draft"


class QuoteEmpty(RuleViolation):
    code = "quote_empty"


class QuoteNotSent(RuleViolation):
    code = "quote_not_sent"


class QuoteExpired(RuleViolation):
    code = "quote_expired"


class QuoteStillValid(RuleViolation):
    code = "quote_still_valid"


class QuoteAccepted(RuleViolation):
    """An accepted quote is final: it became, or will become, an order."""

    code = "quote_accepted"


class QuoteOrdered(RuleViolation):
    code = "quote_ordered"


class DiscountAbovePrice(RuleViolation):
    code = "discount_above_price"


class CurrencyMismatch(RuleViolation):
    code = "currency_mismatch"


class RejectReasonRequired(RuleViolation):
    code = "reject_reason_required"


@dataclass(frozen=True)
class Line:
    """One product on a quote or an order. ``unit_price`` is the list price that held when
    the line was made; ``discount`` is an amount off the line, at most its price before
    tax; ``tax_rate`` is a percentage (``20`` for 20 %)."""

    line_id: UUID
    product_id: UUID
    code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    tax_rate: Decimal

    @classmethod
    def of(cls, data: dict[str, Any]) -> Line:
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        return {
            "line_id": self.line_id,
            "product_id": self.product_id,
            "code": self.code,
            "description": self.description,
            "quantity": self.quantity,
            "unit_price": self.unit_price,
            "discount": self.discount,
            "tax_rate": self.tax_rate,
        }


@dataclass(frozen=True)
class LineTotals:
    gross: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class Totals:
    """Sums of the lines' rounded figures: ``total == net + tax`` exactly."""

    gross: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal

    def as_dict(self) -> dict[str, Decimal]:
        return {"gross": self.gross, "discount": self.discount, "net": self.net, "tax": self.tax, "total": self.total}


def line_totals(line: Line, currency: str) -> LineTotals:
    gross = round_money(line.quantity * line.unit_price, currency)
    net = gross - line.discount
    tax = round_money(net * line.tax_rate / 100, currency)
    return LineTotals(gross=gross, discount=line.discount, net=net, tax=tax, total=net + tax)


def totals_of(lines: list[Line], currency: str) -> Totals:
    each = [line_totals(line, currency) for line in lines]
    zero = round_money(Decimal(0), currency)
    return Totals(
        gross=sum((t.gross for t in each), zero),
        discount=sum((t.discount for t in each), zero),
        net=sum((t.net for t in each), zero),
        tax=sum((t.tax for t in each), zero),
        total=sum((t.total for t in each), zero),
    )


def make_line(
    *,
    product: Product,
    unit_price: Decimal,
    quantity: Decimal | int,
    currency: str,
    discount: Decimal | int = 0,
    tax_rate: Decimal | int = 0,
    description: str | None = None,
    line_id: UUID | None = None,
) -> Line:
    """A line for ``product`` at ``unit_price``, checked: a positive quantity, a tax rate
    from 0 to 100 %, and a discount no greater than the line's price."""
    product.require_active()
    count = require_decimal(quantity, "quantity")
    if count <= 0:
        raise InvalidValue(f"quantity {quantity} must be above zero")
    rate = require_decimal(tax_rate, "tax_rate")
    if not 0 <= rate <= 100:
        raise InvalidValue(f"tax_rate {tax_rate} must be a percentage from 0 to 100")
    price = require_amount(unit_price, "unit_price")
    off = round_money(require_amount(discount, "discount"), currency)
    gross = round_money(count * price, currency)
    if off > gross:
        raise DiscountAbovePrice(f"a discount of {off} is above the line's price of {gross}")
    return Line(
        line_id=line_id or uuid4(),
        product_id=product.id,
        code=product.code,
        description=clean(description) or product.name,
        quantity=count,
        unit_price=price,
        discount=off,
        tax_rate=rate,
    )


class Quote(Aggregate):
    """``number`` is stable for the life of the quote (the command layer gives each quote
    the next one); the document a customer reads is named ``{number}-{revision}``."""

    TOPIC = "crm.quote"

    class Created(Aggregate.Created):
        TOPIC = "crm.quote.created.v1"
        deal_id: UUID
        number: str
        currency: str
        price_list_id: UUID
        valid_until: date
        at: datetime
        meta: Meta

    class LineAdded(Aggregate.Event):
        TOPIC = "crm.quote.line_added.v1"
        line: dict[str, Any]
        meta: Meta

    class LineRemoved(Aggregate.Event):
        TOPIC = "crm.quote.line_removed.v1"
        line_id: UUID
        meta: Meta

    class ValidityChanged(Aggregate.Event):
        TOPIC = "crm.quote.validity_changed.v1"
        valid_until: date
        meta: Meta

    class Sent(Aggregate.Event):
        TOPIC = "crm.quote.sent.v1"
        revision: int
        lines: list[dict[str, Any]]
        totals: dict[str, Decimal]
        valid_until: date
        at: datetime
        meta: Meta

    class Revised(Aggregate.Event):
        TOPIC = "crm.quote.revised.v1"
        revision: int
        at: datetime
        meta: Meta

    class Accepted(Aggregate.Event):
        TOPIC = "crm.quote.accepted.v1"
        revision: int
        total: Decimal
        at: datetime
        meta: Meta

    class Rejected(Aggregate.Event):
        TOPIC = "crm.quote.rejected.v1"
        revision: int
        reason: str
        at: datetime
        meta: Meta

    class Expired(Aggregate.Event):
        TOPIC = "crm.quote.expired.v1"
        revision: int
        valid_until: date
        at: datetime
        meta: Meta

    class Ordered(Aggregate.Event):
        TOPIC = "crm.quote.ordered.v1"
        order_id: UUID
        at: datetime
        meta: Meta

    @classmethod
    def create(
        cls,
        *,
        deal_id: UUID,
        number: str,
        price_list: PriceList,
        valid_until: date,
        at: datetime,
        meta: Meta,
    ) -> Quote:
        """In the price list's currency; ``valid_until`` is the last day it may be accepted."""
        if not isinstance(deal_id, UUID):
            raise InvalidValue(f"{deal_id!r} is not a deal id")
        cleaned = clean(number)
        if cleaned is None:
            raise InvalidValue("a quote needs a number")
        return cls(
            deal_id=deal_id,
            number=cleaned,
            currency=require_currency(price_list.currency),
            price_list_id=price_list.id,
            valid_until=require_date(valid_until, "valid_until"),
            at=require_aware(at),
            meta=meta,
        )

    # -- commands ------------------------------------------------------------------

    def add_line(
        self,
        *,
        product: Product,
        price_list: PriceList,
        quantity: Decimal | int,
        on: date,
        meta: Meta,
        discount: Decimal | int = 0,
        tax_rate: Decimal | int = 0,
        description: str | None = None,
    ) -> UUID:
        """At the price ``price_list`` gives the product on ``on``; answers the line's id."""
        self._require_draft()
        if price_list.currency != self.currency:
            raise CurrencyMismatch(
                f"the quote is in {self.currency}; price list {price_list.name!r} is in {price_list.currency}"
            )
        line = make_line(
            product=product,
            unit_price=price_list.price_of(product.id, on),
            quantity=quantity,
            currency=self.currency,
            discount=discount,
            tax_rate=tax_rate,
            description=description,
        )
        self._line_added(line=line.as_dict(), meta=meta)
        return line.line_id

    def remove_line(self, line_id: UUID, meta: Meta) -> None:
        self._require_draft()
        if line_id not in self._lines:
            raise InvalidValue(f"the quote has no line {line_id}")
        self._line_removed(line_id=line_id, meta=meta)

    def change_validity(self, valid_until: date, meta: Meta) -> None:
        self._require_draft()
        day = require_date(valid_until, "valid_until")
        if day != self.valid_until:
            self._validity_changed(valid_until=day, meta=meta)

    def send(self, at: datetime, meta: Meta) -> None:
        """Freezes this revision: its lines and totals go in the event."""
        self._require_draft()
        require_aware(at)
        if not self._lines:
            raise QuoteEmpty("a quote needs at least one line to be sent")
        if at.date() > self.valid_until:
            raise QuoteExpired(f"the quote's validity ended on {self.valid_until.isoformat()}; change it first")
        self._sent(
            revision=self.revision,
            lines=[line.as_dict() for line in self.lines],
            totals=self.totals.as_dict(),
            valid_until=self.valid_until,
            at=at,
            meta=meta,
        )

    def revise(self, at: datetime, meta: Meta) -> None:
        """Opens the next revision as a draft with the same lines. Refused for a draft (edit
        it) and for an accepted quote (it is final)."""
        require_aware(at)
        if self.status == DRAFT:
            raise QuoteNotSent("a draft is edited, not revised")
        if self.status == ACCEPTED:
            raise QuoteAccepted("an accepted quote is final")
        self._revised(revision=self.revision + 1, at=at, meta=meta)

    def accept(self, at: datetime, meta: Meta) -> None:
        self._require_sent()
        require_aware(at)
        if at.date() > self.valid_until:
            raise QuoteExpired(f"the quote could be accepted until {self.valid_until.isoformat()}")
        self._accepted(revision=self.revision, total=self.totals.total, at=at, meta=meta)

    def reject(self, reason: str | None, at: datetime, meta: Meta) -> None:
        self._require_sent()
        cleaned = clean(reason)
        if cleaned is None:
            raise RejectReasonRequired("a rejected quote needs a reason")
        self._rejected(revision=self.revision, reason=cleaned, at=require_aware(at), meta=meta)

    def expire(self, at: datetime, meta: Meta) -> None:
        """Recorded on the day after the validity date; before that it is refused."""
        self._require_sent()
        require_aware(at)
        if at.date() <= self.valid_until:
            raise QuoteStillValid(f"the quote is valid until {self.valid_until.isoformat()}")
        self._expired(revision=self.revision, valid_until=self.valid_until, at=at, meta=meta)

    def mark_ordered(self, order_id: UUID, at: datetime, meta: Meta) -> None:
        """Once: an accepted quote becomes one order."""
        if self.status != ACCEPTED:
            raise QuoteNotSent(f"only an accepted quote becomes an order; this one is {self.status}")
        if self.order_id is not None:
            raise QuoteOrdered(f"the quote already became order {self.order_id}")
        self._ordered(order_id=order_id, at=require_aware(at), meta=meta)

    # -- reads -----------------------------------------------------------------------

    @property
    def lines(self) -> list[Line]:
        return list(self._lines.values())

    @property
    def totals(self) -> Totals:
        return totals_of(self.lines, self.currency)

    @property
    def document_number(self) -> str:
        return f"{self.number}-{self.revision}"

    # -- guards ------------------------------------------------------------------------

    def _require_draft(self) -> None:
        if self.status != DRAFT:
            raise QuoteNotDraft(f"revision {self.revision} is {self.status}: a sent quote is never edited, revise it")

    def _require_sent(self) -> None:
        if self.status != SENT:
            raise QuoteNotSent(f"only a sent quote can be answered; this one is {self.status}")

    # -- state changes -----------------------------------------------------------------

    @event(Created)
    def __init__(
        self,
        deal_id: UUID,
        number: str,
        currency: str,
        price_list_id: UUID,
        valid_until: date,
        at: datetime,
        meta: Meta,
    ) -> None:
        self.deal_id = deal_id
        self.number = number
        self.currency = currency
        self.price_list_id = price_list_id
        self.valid_until = valid_until
        self.revision = 1
        self.status = DRAFT
        self._lines: dict[UUID, Line] = {}
        self.sent_at: datetime | None = None
        self.order_id: UUID | None = None
        self.created_at = at

    @event(LineAdded)
    def _line_added(self, line: dict[str, Any], meta: Meta) -> None:
        added = Line.of(line)
        self._lines[added.line_id] = added

    @event(LineRemoved)
    def _line_removed(self, line_id: UUID, meta: Meta) -> None:
        del self._lines[line_id]

    @event(ValidityChanged)
    def _validity_changed(self, valid_until: date, meta: Meta) -> None:
        self.valid_until = valid_until

    @event(Sent)
    def _sent(
        self,
        revision: int,
        lines: list[dict[str, Any]],
        totals: dict[str, Decimal],
        valid_until: date,
        at: datetime,
        meta: Meta,
    ) -> None:
        self.status = SENT
        self.sent_at = at

    @event(Revised)
    def _revised(self, revision: int, at: datetime, meta: Meta) -> None:
        self.revision = revision
        self.status = DRAFT
        self.sent_at = None

    @event(Accepted)
    def _accepted(self, revision: int, total: Decimal, at: datetime, meta: Meta) -> None:
        self.status = ACCEPTED

    @event(Rejected)
    def _rejected(self, revision: int, reason: str, at: datetime, meta: Meta) -> None:
        self.status = REJECTED

    @event(Expired)
    def _expired(self, revision: int, valid_until: date, at: datetime, meta: Meta) -> None:
        self.status = EXPIRED

    @event(Ordered)
    def _ordered(self, order_id: UUID, at: datetime, meta: Meta) -> None:
        self.order_id = order_id
