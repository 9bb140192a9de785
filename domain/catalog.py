"""The product catalog and its price lists.

A product is what can be sold; a price list says what it costs, in one currency, between
two dates. A price change is an event of the price list, so the price that held on any day
is in the history, and a quote line copies the price it was made with.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidValue, RuleViolation
from domain.instants import require_aware, require_date
from domain.meta import Meta
from domain.money import require_amount, require_currency
from domain.text import clean

ACTIVE = "active"
RETIRED = "retired"


class ProductRetired(RuleViolation):
    """A retired product is kept for the history but is neither changed nor sold."""

    code = "product_retired"


class ProductActive(RuleViolation):
    code = "product_active"


class NoPrice(RuleViolation):
    code = "no_price"


class PriceListNotValid(RuleViolation):
    """The price list does not apply on the day asked (before it starts or after it ends)."""

    code = "price_list_not_valid"


class Product(Aggregate):
    """``code`` is the catalog's own identifier (a SKU), unique among products: the command
    layer keeps it unique, the aggregate keeps it well formed."""

    TOPIC = "crm.product"

    class Created(Aggregate.Created):
        TOPIC = "crm.product.created.v1"
        code: str
        name: str
        model: str | None
        specification: str | None
        at: datetime
        meta: Meta

    class DetailsChanged(Aggregate.Event):
        TOPIC = "crm.product.details_changed.v1"
        changes: dict[str, Any]
        meta: Meta

    class Retired(Aggregate.Event):
        TOPIC = "crm.product.retired.v1"
        at: datetime
        meta: Meta

    class Reactivated(Aggregate.Event):
        TOPIC = "crm.product.reactivated.v1"
        at: datetime
        meta: Meta

    @classmethod
    def create(
        cls,
        *,
        code: str,
        name: str,
        at: datetime,
        meta: Meta,
        model: str | None = None,
        specification: str | None = None,
    ) -> Product:
        return cls(
            code=_require_code(code),
            name=_require_name(name),
            model=clean(model),
            specification=clean(specification),
            at=require_aware(at),
            meta=meta,
        )

    def update(self, meta: Meta, **given: Any) -> None:
        """Changes only the fields given (``name``, ``model``, ``specification``) and records
        only those that really differ."""
        self.require_active()
        unknown = set(given) - set(_PRODUCT_CLEANERS)
        if unknown:
            raise InvalidValue(f"a product has no field {sorted(unknown)[0]!r} to change")
        cleaned = {field: _PRODUCT_CLEANERS[field](value) for field, value in given.items()}
        changes = {field: value for field, value in cleaned.items() if getattr(self, field) != value}
        if changes:
            self._details_changed(changes=changes, meta=meta)

    def retire(self, at: datetime, meta: Meta) -> None:
        self.require_active()
        self._retired(at=require_aware(at), meta=meta)

    def reactivate(self, at: datetime, meta: Meta) -> None:
        if self.status == ACTIVE:
            raise ProductActive(f"product {self.code} is already active")
        self._reactivated(at=require_aware(at), meta=meta)

    def require_active(self) -> None:
        if self.status == RETIRED:
            raise ProductRetired(f"product {self.code} is retired")

    @event(Created)
    def __init__(
        self, code: str, name: str, model: str | None, specification: str | None, at: datetime, meta: Meta
    ) -> None:
        self.code = code
        self.name = name
        self.model = model
        self.specification = specification
        self.status = ACTIVE
        self.created_at = at

    @event(DetailsChanged)
    def _details_changed(self, changes: dict[str, Any], meta: Meta) -> None:
        for field, value in changes.items():
            setattr(self, field, value)

    @event(Retired)
    def _retired(self, at: datetime, meta: Meta) -> None:
        self.status = RETIRED

    @event(Reactivated)
    def _reactivated(self, at: datetime, meta: Meta) -> None:
        self.status = ACTIVE


class PriceList(Aggregate):
    """Unit prices of products in one currency, valid from one date through another (or
    with no end). Prices are net of tax: the quote line adds the tax."""

    TOPIC = "crm.price_list"

    class Created(Aggregate.Created):
        TOPIC = "crm.price_list.created.v1"
        name: str
        currency: str
        valid_from: date
        valid_until: date | None
        at: datetime
        meta: Meta

    class PriceSet(Aggregate.Event):
        TOPIC = "crm.price_list.price_set.v1"
        product_id: UUID
        unit_price: Decimal
        previous_price: Decimal | None
        at: datetime
        meta: Meta

    class PriceRemoved(Aggregate.Event):
        TOPIC = "crm.price_list.price_removed.v1"
        product_id: UUID
        previous_price: Decimal
        at: datetime
        meta: Meta

    class ValidityChanged(Aggregate.Event):
        TOPIC = "crm.price_list.validity_changed.v1"
        valid_from: date
        valid_until: date | None
        at: datetime
        meta: Meta

    @classmethod
    def create(
        cls,
        *,
        name: str,
        currency: str,
        valid_from: date,
        at: datetime,
        meta: Meta,
        valid_until: date | None = None,
    ) -> PriceList:
        start, end = _require_validity(valid_from, valid_until)
        return cls(
            name=_require_name(name),
            currency=require_currency(currency),
            valid_from=start,
            valid_until=end,
            at=require_aware(at),
            meta=meta,
        )

    def set_price(self, product: Product, unit_price: Decimal, at: datetime, meta: Meta) -> None:
        """A retired product gets no new price; setting the price it already has records
        nothing."""
        product.require_active()
        price = require_amount(unit_price, "unit_price")
        previous = self.prices.get(product.id)
        if previous == price:
            return
        self._price_set(
            product_id=product.id, unit_price=price, previous_price=previous, at=require_aware(at), meta=meta
        )

    def remove_price(self, product_id: UUID, at: datetime, meta: Meta) -> None:
        previous = self.prices.get(product_id)
        if previous is None:
            raise NoPrice(f"price list {self.name!r} has no price for product {product_id}")
        self._price_removed(product_id=product_id, previous_price=previous, at=require_aware(at), meta=meta)

    def change_validity(self, valid_from: date, valid_until: date | None, at: datetime, meta: Meta) -> None:
        start, end = _require_validity(valid_from, valid_until)
        if (start, end) != (self.valid_from, self.valid_until):
            self._validity_changed(valid_from=start, valid_until=end, at=require_aware(at), meta=meta)

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def price_of(self, product_id: UUID, on: date) -> Decimal:
        """The unit price on ``on``: refused when the list does not apply that day or does
        not price the product."""
        if not self.is_valid_on(on):
            until = self.valid_until.isoformat() if self.valid_until else "no end"
            span = f"from {self.valid_from.isoformat()} to {until}"
            raise PriceListNotValid(f"price list {self.name!r} applies {span}, not on {on.isoformat()}")
        price = self.prices.get(product_id)
        if price is None:
            raise NoPrice(f"price list {self.name!r} has no price for product {product_id}")
        return price

    @event(Created)
    def __init__(
        self, name: str, currency: str, valid_from: date, valid_until: date | None, at: datetime, meta: Meta
    ) -> None:
        self.name = name
        self.currency = currency
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.prices: dict[UUID, Decimal] = {}

    @event(PriceSet)
    def _price_set(
        self, product_id: UUID, unit_price: Decimal, previous_price: Decimal | None, at: datetime, meta: Meta
    ) -> None:
        self.prices[product_id] = unit_price

    @event(PriceRemoved)
    def _price_removed(self, product_id: UUID, previous_price: Decimal, at: datetime, meta: Meta) -> None:
        del self.prices[product_id]

    @event(ValidityChanged)
    def _validity_changed(self, valid_from: date, valid_until: date | None, at: datetime, meta: Meta) -> None:
        self.valid_from = valid_from
        self.valid_until = valid_until


def _require_validity(valid_from: object, valid_until: object) -> tuple[date, date | None]:
    start = require_date(valid_from, "valid_from")
    end = None if valid_until is None else require_date(valid_until, "valid_until")
    if end is not None and end < start:
        raise InvalidValue(f"valid_until {end.isoformat()} is before valid_from {start.isoformat()}")
    return start, end


def _require_name(name: object) -> str:
    cleaned = clean(name)  # type: ignore[arg-type]  # clean refuses what is not text
    if cleaned is None:
        raise InvalidValue("a name is required")
    return cleaned


def _require_code(code: object) -> str:
    cleaned = clean(code)  # type: ignore[arg-type]  # clean refuses what is not text
    if cleaned is None or any(c.isspace() for c in cleaned) or len(cleaned) > 64:
        raise InvalidValue(f"product code {code!r} must be 1 to 64 characters without spaces")
    return cleaned.upper()


_PRODUCT_CLEANERS: dict[str, Any] = {"name": _require_name, "model": clean, "specification": clean}
