"""Price-list routes: prices per product in one currency, between two dates. A price
change is an event of the list, so every quote line knows the price that held."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.access import permit
from api.commands import Run
from api.deps import ServicesDep
from api.params import Day
from api.problems import Problem
from api.reads import Page, PagingDep
from api.schemas import CommandAccepted, Currency, Money
from commands.catalog import ChangePriceListValidity, CreatePriceList, RemovePrice, SetPrice

router = APIRouter(prefix="/v1/price-lists", tags=["catalog"])


class PriceListCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    currency: Currency
    valid_from: date
    valid_until: date | None = None


class PriceSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_price: Money


class Validity(BaseModel):
    model_config = ConfigDict(extra="forbid")

    valid_from: date
    valid_until: date | None = None


class ListedPrice(BaseModel):
    product_id: UUID
    code: str | None = None
    name: str | None = None
    unit_price: Decimal
    previous_price: Decimal | None
    changed_at: datetime


class PriceListPublic(BaseModel):
    id: UUID
    name: str
    currency: str
    valid_from: date
    valid_until: date | None
    prices: list[ListedPrice] = Field(description="the prices that hold now, by product code")
    created_at: datetime
    updated_at: datetime
    version: int


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=CommandAccepted, dependencies=[permit("catalog:write")]
)
def create_price_list(body: PriceListCreate, run: Run) -> dict[str, object]:
    command = CreatePriceList(body.name, body.currency, body.valid_from, body.valid_until)
    return run.created(command, "/v1/price-lists")


@router.put(
    "/{price_list_id}/prices/{product_id}", response_model=CommandAccepted, dependencies=[permit("catalog:write")]
)
def set_price(price_list_id: UUID, product_id: UUID, body: PriceSet, run: Run) -> dict[str, object]:
    """The product's price in this list from now on; a retired product gets none."""
    return run(SetPrice(price_list_id, product_id, body.unit_price))


@router.delete(
    "/{price_list_id}/prices/{product_id}", response_model=CommandAccepted, dependencies=[permit("catalog:write")]
)
def remove_price(price_list_id: UUID, product_id: UUID, run: Run) -> dict[str, object]:
    return run(RemovePrice(price_list_id, product_id))


@router.put("/{price_list_id}/validity", response_model=CommandAccepted, dependencies=[permit("catalog:write")])
def change_validity(price_list_id: UUID, body: Validity, run: Run) -> dict[str, object]:
    """The days the list applies: from ``valid_from`` through ``valid_until`` (none: no end)."""
    return run(ChangePriceListValidity(price_list_id, body.valid_from, body.valid_until))


@router.get("", response_model=Page[PriceListPublic], dependencies=[permit("catalog:read")])
def search_price_lists(
    services: ServicesDep,
    paging: PagingDep,
    currency: Annotated[str | None, Query(pattern=r"^[A-Za-z]{3}$")] = None,
    valid_on: Day | None = None,
) -> dict[str, object]:
    """Price lists by name, each with its prices; ``valid_on``: those that apply that day."""
    found = services.catalog_queries.price_lists(
        currency.upper() if currency else None, valid_on, paging.limit, paging.offset
    )
    return paging.answer(found)


@router.get("/{price_list_id}", response_model=PriceListPublic, dependencies=[permit("catalog:read")])
def get_price_list(price_list_id: UUID, services: ServicesDep, response: Response) -> dict[str, object]:
    found = services.catalog_queries.price_list(str(price_list_id))
    if found is None:
        raise Problem(404, "not_found", f"no price list {price_list_id} in the read model")
    response.headers["ETag"] = f'"{found["version"]}"'
    return found
