"""Quote and order commands and their handlers: a quote for a deal, priced from a price
list, sent and answered; an accepted quote becomes an order at exactly its prices, and the
deal's amount follows its orders."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from commands.bus import Handler, UnitOfWork
from commands.results import CommandResult
from domain.catalog import PriceList, Product
from domain.deal import Deal
from domain.meta import Meta
from domain.order import Order
from domain.quote import Line, Quote


@dataclass(frozen=True)
class CreateQuote:
    """``number`` is the customer-facing one; by default ``Q-<yymmdd>-<6 hex>``."""

    deal_id: UUID
    price_list_id: UUID
    valid_until: date
    number: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class AddQuoteLine:
    quote_id: UUID
    product_id: UUID
    quantity: Decimal
    discount: Decimal = Decimal(0)
    tax_rate: Decimal = Decimal(0)
    description: str | None = None
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class RemoveQuoteLine:
    quote_id: UUID
    line_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class ChangeQuoteValidity:
    quote_id: UUID
    valid_until: date
    expected_version: int | None = None


@dataclass(frozen=True)
class SendQuote:
    quote_id: UUID
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class ReviseQuote:
    quote_id: UUID
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class AcceptQuote:
    quote_id: UUID
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class RejectQuote:
    quote_id: UUID
    reason: str | None = None
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class ExpireQuote:
    quote_id: UUID
    at: datetime | None = None


@dataclass(frozen=True)
class PlaceOrder:
    """From an accepted quote. ``lines``, when given (an order keyed in by hand), must be
    exactly the quote's."""

    quote_id: UUID
    lines: list[Line] | None = field(default=None, hash=False)
    at: datetime | None = None


@dataclass(frozen=True)
class FulfilOrder:
    order_id: UUID
    at: datetime | None = None


@dataclass(frozen=True)
class CancelOrder:
    order_id: UUID
    reason: str | None = None
    at: datetime | None = None


def _answer(uow: UnitOfWork, quote: Quote) -> CommandResult:
    totals = quote.totals
    return uow.save(
        quote,
        status=quote.status,
        revision=quote.revision,
        number=quote.document_number,
        total=str(totals.total),
        currency=quote.currency,
    )


def create(command: CreateQuote, meta: Meta, uow: UnitOfWork) -> CommandResult:
    deal = uow.load(Deal, command.deal_id)
    prices = uow.load(PriceList, command.price_list_id)
    at = uow.at(command.at)
    number = command.number or f"Q-{at:%y%m%d}-{secrets.token_hex(3).upper()}"
    quote = Quote.create(
        deal_id=deal.id, number=number, price_list=prices, valid_until=command.valid_until, at=at, meta=meta
    )
    return _answer(uow, quote)


def add_line(command: AddQuoteLine, meta: Meta, uow: UnitOfWork) -> CommandResult:
    quote = uow.load(Quote, command.quote_id, command.expected_version)
    line_id = quote.add_line(
        product=uow.load(Product, command.product_id),
        price_list=uow.load(PriceList, quote.price_list_id),
        quantity=command.quantity,
        on=uow.at(command.at).date(),
        meta=meta,
        discount=command.discount,
        tax_rate=command.tax_rate,
        description=command.description,
    )
    return uow.save(quote, line_id=str(line_id), total=str(quote.totals.total), currency=quote.currency)


def remove_line(command: RemoveQuoteLine, meta: Meta, uow: UnitOfWork) -> CommandResult:
    quote = uow.load(Quote, command.quote_id, command.expected_version)
    quote.remove_line(command.line_id, meta)
    return _answer(uow, quote)


def change_validity(command: ChangeQuoteValidity, meta: Meta, uow: UnitOfWork) -> CommandResult:
    quote = uow.load(Quote, command.quote_id, command.expected_version)
    quote.change_validity(command.valid_until, meta)
    return _answer(uow, quote)


def send(command: SendQuote, meta: Meta, uow: UnitOfWork) -> CommandResult:
    quote = uow.load(Quote, command.quote_id, command.expected_version)
    quote.send(uow.at(command.at), meta)
    return _answer(uow, quote)


def revise(command: ReviseQuote, meta: Meta, uow: UnitOfWork) -> CommandResult:
    quote = uow.load(Quote, command.quote_id, command.expected_version)
    quote.revise(uow.at(command.at), meta)
    return _answer(uow, quote)


def accept(command: AcceptQuote, meta: Meta, uow: UnitOfWork) -> CommandResult:
    quote = uow.load(Quote, command.quote_id, command.expected_version)
    quote.accept(uow.at(command.at), meta)
    return _answer(uow, quote)


def reject(command: RejectQuote, meta: Meta, uow: UnitOfWork) -> CommandResult:
    quote = uow.load(Quote, command.quote_id, command.expected_version)
    quote.reject(command.reason, uow.at(command.at), meta)
    return _answer(uow, quote)


def expire(command: ExpireQuote, meta: Meta, uow: UnitOfWork) -> CommandResult:
    quote = uow.load(Quote, command.quote_id)
    quote.expire(uow.at(command.at), meta)
    return _answer(uow, quote)


def place_order(command: PlaceOrder, meta: Meta, uow: UnitOfWork) -> CommandResult:
    """The order, the quote marked ordered and the deal's amount: one transaction, so a
    quote becomes at most one order and the deal never shows a total its orders lack."""
    quote = uow.load(Quote, command.quote_id)
    deal = uow.load(Deal, quote.deal_id)
    at = uow.at(command.at)
    order = Order.place(quote, at, meta, command.lines)
    quote.mark_ordered(order.id, at, meta)
    deal.record_order(order.id, order.total, at, meta)
    return uow.save(
        order,
        quote,
        deal,
        status=order.status,
        total=str(order.total),
        currency=order.currency,
        deal_amount=str(deal.amount),
    )


def fulfil_order(command: FulfilOrder, meta: Meta, uow: UnitOfWork) -> CommandResult:
    order = uow.load(Order, command.order_id)
    order.fulfil(uow.at(command.at), meta)
    return uow.save(order, status=order.status)


def cancel_order(command: CancelOrder, meta: Meta, uow: UnitOfWork) -> CommandResult:
    order = uow.load(Order, command.order_id)
    deal = uow.load(Deal, order.deal_id)
    at = uow.at(command.at)
    order.cancel(command.reason, at, meta)
    deal.record_order(order.id, None, at, meta)
    return uow.save(order, deal, status=order.status, deal_amount=str(deal.amount))


HANDLERS: dict[type, Handler] = {
    CreateQuote: create,
    AddQuoteLine: add_line,
    RemoveQuoteLine: remove_line,
    ChangeQuoteValidity: change_validity,
    SendQuote: send,
    ReviseQuote: revise,
    AcceptQuote: accept,
    RejectQuote: reject,
    ExpireQuote: expire,
    PlaceOrder: place_order,
    FulfilOrder: fulfil_order,
    CancelOrder: cancel_order,
}
