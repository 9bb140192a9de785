"""Product catalog routes: what can be sold, active or retired."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.access import permit
from api.commands import Run
from api.deps import ExpectedVersion, ServicesDep
from api.problems import Problem
from api.reads import Page, PagingDep
from api.schemas import CommandAccepted
from commands.catalog import CreateProduct, ReactivateProduct, RetireProduct, UpdateProduct

router = APIRouter(prefix="/v1/products", tags=["catalog"])

ProductStatus = Literal["active", "retired"]


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, description="the catalog's identifier (SKU), unique, no spaces")
    name: str = Field(min_length=1, max_length=200)
    model: str | None = Field(None, max_length=200)
    specification: str | None = Field(None, max_length=4000)


class ProductChange(BaseModel):
    """Only the fields present change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    model: str | None = Field(None, max_length=200)
    specification: str | None = Field(None, max_length=4000)


class ProductAccepted(CommandAccepted):
    status: str | None = None


class ProductPrice(BaseModel):
    price_list_id: UUID
    name: str = Field(description="the price list's name")
    currency: str
    valid_from: date
    valid_until: date | None
    unit_price: Decimal
    previous_price: Decimal | None
    changed_at: datetime


class ProductPublic(BaseModel):
    id: UUID
    code: str
    name: str
    model: str | None
    specification: str | None
    status: str
    retired_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class ProductDetail(ProductPublic):
    prices: list[ProductPrice] = Field(description="its current price in every list that prices it")


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=ProductAccepted, dependencies=[permit("catalog:write")]
)
def create_product(body: ProductCreate, run: Run) -> dict[str, object]:
    return run.created(CreateProduct(body.code, body.name, body.model, body.specification), "/v1/products")


@router.patch("/{product_id}", response_model=ProductAccepted, dependencies=[permit("catalog:write")])
def update_product(product_id: UUID, body: ProductChange, version: ExpectedVersion, run: Run) -> dict[str, object]:
    """A retired product is not changed (``product_retired``)."""
    changes = body.model_dump(exclude_unset=True)
    if not changes or any(value is None for value in changes.values()):
        raise Problem(422, "validation_error", "name at least one field to change, each with a value")
    return run(UpdateProduct(product_id, expected_version=version, **changes))


@router.post("/{product_id}/retire", response_model=ProductAccepted, dependencies=[permit("catalog:write")])
def retire_product(product_id: UUID, run: Run) -> dict[str, object]:
    """Kept for the history; no new quote line or price for it until it is reactivated."""
    return run(RetireProduct(product_id))


@router.post("/{product_id}/reactivate", response_model=ProductAccepted, dependencies=[permit("catalog:write")])
def reactivate_product(product_id: UUID, run: Run) -> dict[str, object]:
    return run(ReactivateProduct(product_id))


@router.get("", response_model=Page[ProductPublic], dependencies=[permit("catalog:read")])
def search_products(
    services: ServicesDep,
    paging: PagingDep,
    q: Annotated[str | None, Query(max_length=200, description="part of the code or the name")] = None,
    status: ProductStatus | None = None,
) -> dict[str, object]:
    """Products by code."""
    return paging.answer(services.catalog_queries.products(q, status, paging.limit, paging.offset))


@router.get("/{product_id}", response_model=ProductDetail, dependencies=[permit("catalog:read")])
def get_product(product_id: UUID, services: ServicesDep, response: Response) -> dict[str, object]:
    product = services.catalog_queries.product(str(product_id))
    if product is None:
        raise Problem(404, "not_found", f"no product {product_id} in the read model")
    response.headers["ETag"] = f'"{product["version"]}"'
    return product
