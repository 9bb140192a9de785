"""Order routes: an accepted quote becomes an order at exactly its prices; the deal's
amount follows its standing orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import NAMESPACE_URL, UUID, uuid5

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.access import permit
from api.commands import Run
from api.deps import ServicesDep
from api.problems import Problem
from api.quotes import LinePublic, Totals
from api.reads import Page, PagingDep
from api.schemas import CommandAccepted, Money, Percent, Quantity
from commands.quote import CancelOrder, FulfilOrder, PlaceOrder
from domain.quote import Line

router = APIRouter(prefix="/v1/orders", tags=["orders"])

OrderStatus = Literal["confirmed", "fulfilled", "cancelled"]


class OrderLine(BaseModel):
    """A line as keyed in from a purchase order: it must match a line of the quote."""

    model_config = ConfigDict(extra="forbid")

    product_id: UUID
    quantity: Quantity
    unit_price: Money
    discount: Money = Decimal(0)
    tax_rate: Percent = Decimal(0)


class OrderPlace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quote_id: UUID = Field(description="an accepted quote; it becomes one order")
    lines: list[OrderLine] | None = Field(
        None,
        max_length=500,
        description="when given (an order keyed in by hand), exactly the quote's lines: same products, "
        "quantities, prices, discounts and taxes, or price_not_quoted",
    )


class OrderCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500)


class OrderAnswer(CommandAccepted):
    status: str | None = None
    total: Decimal | None = None
    currency: str | None = None
    deal_amount: Decimal | None = Field(None, description="the deal's amount now: the total of its standing orders")


class OrderPublic(BaseModel):
    id: UUID
    deal_id: UUID
    quote_id: UUID
    quote_number: str = Field(description="the document number of the accepted revision")
    currency: str
    lines: list[LinePublic]
    totals: Totals
    total: Decimal
    status: str
    cancel_reason: str | None
    confirmed_at: datetime
    fulfilled_at: datetime | None
    cancelled_at: datetime | None
    updated_at: datetime
    version: int


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrderAnswer, dependencies=[permit("orders:write")])
def place_order(body: OrderPlace, run: Run) -> dict[str, object]:
    """From an accepted quote, at its prices; the quote is marked ordered and the deal's
    amount becomes the total of its standing orders, in one transaction."""
    lines = None
    if body.lines is not None:
        # Ids are not terms of the order; made from the position, a retry is the same command.
        lines = [
            Line(
                line_id=uuid5(NAMESPACE_URL, f"urn:eventcrm:order-line:{body.quote_id}:{index}"),
                product_id=line.product_id,
                code="",
                description="",
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                tax_rate=line.tax_rate,
            )
            for index, line in enumerate(body.lines)
        ]
    return run.created(PlaceOrder(body.quote_id, lines), "/v1/orders")


@router.post("/{order_id}/fulfil", response_model=OrderAnswer, dependencies=[permit("orders:write")])
def fulfil(order_id: UUID, run: Run) -> dict[str, object]:
    return run(FulfilOrder(order_id))


@router.post("/{order_id}/cancel", response_model=OrderAnswer, dependencies=[permit("orders:write")])
def cancel(order_id: UUID, body: OrderCancel, run: Run) -> dict[str, object]:
    """With a reason; the deal's amount no longer counts the order."""
    return run(CancelOrder(order_id, body.reason))


@router.get("", response_model=Page[OrderPublic], dependencies=[permit("orders:read")])
def search_orders(
    services: ServicesDep,
    paging: PagingDep,
    deal_id: UUID | None = None,
    status: OrderStatus | None = None,
) -> dict[str, object]:
    """Orders, newest first: ``deal_id`` gives a deal's orders."""
    found = services.sales_queries.orders(str(deal_id) if deal_id else None, status, paging.limit, paging.offset)
    return paging.answer(found)


@router.get("/{order_id}", response_model=OrderPublic, dependencies=[permit("orders:read")])
def get_order(order_id: UUID, services: ServicesDep, response: Response) -> dict[str, object]:
    order = services.sales_queries.order(str(order_id))
    if order is None:
        raise Problem(404, "not_found", f"no order {order_id} in the read model")
    response.headers["ETag"] = f'"{order["version"]}"'
    return order
