"""Product catalog and price-list commands and their handlers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from commands.bus import Handler, UnitOfWork
from commands.results import CommandResult
from domain.catalog import PriceList, Product
from domain.meta import Meta


@dataclass(frozen=True)
class CreateProduct:
    code: str
    name: str
    model: str | None = None
    specification: str | None = None


@dataclass(frozen=True)
class UpdateProduct:
    """Changes the fields given (``None`` leaves a field as it is)."""

    product_id: UUID
    name: str | None = None
    model: str | None = None
    specification: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class RetireProduct:
    product_id: UUID


@dataclass(frozen=True)
class ReactivateProduct:
    product_id: UUID


@dataclass(frozen=True)
class CreatePriceList:
    name: str
    currency: str
    valid_from: date
    valid_until: date | None = None


@dataclass(frozen=True)
class SetPrice:
    price_list_id: UUID
    product_id: UUID
    unit_price: Decimal


@dataclass(frozen=True)
class RemovePrice:
    price_list_id: UUID
    product_id: UUID


@dataclass(frozen=True)
class ChangePriceListValidity:
    price_list_id: UUID
    valid_from: date
    valid_until: date | None = None


def create_product(command: CreateProduct, meta: Meta, uow: UnitOfWork) -> CommandResult:
    product = Product.create(
        code=command.code,
        name=command.name,
        model=command.model,
        specification=command.specification,
        at=uow.now,
        meta=meta,
    )
    return uow.save(product, status=product.status)


def update_product(command: UpdateProduct, meta: Meta, uow: UnitOfWork) -> CommandResult:
    product = uow.load(Product, command.product_id, command.expected_version)
    given = {"name": command.name, "model": command.model, "specification": command.specification}
    product.update(meta, **{field: value for field, value in given.items() if value is not None})
    return uow.save(product)


def retire_product(command: RetireProduct, meta: Meta, uow: UnitOfWork) -> CommandResult:
    product = uow.load(Product, command.product_id)
    product.retire(uow.now, meta)
    return uow.save(product, status=product.status)


def reactivate_product(command: ReactivateProduct, meta: Meta, uow: UnitOfWork) -> CommandResult:
    product = uow.load(Product, command.product_id)
    product.reactivate(uow.now, meta)
    return uow.save(product, status=product.status)


def create_price_list(command: CreatePriceList, meta: Meta, uow: UnitOfWork) -> CommandResult:
    prices = PriceList.create(
        name=command.name,
        currency=command.currency,
        valid_from=command.valid_from,
        valid_until=command.valid_until,
        at=uow.now,
        meta=meta,
    )
    return uow.save(prices)


def set_price(command: SetPrice, meta: Meta, uow: UnitOfWork) -> CommandResult:
    prices = uow.load(PriceList, command.price_list_id)
    prices.set_price(uow.load(Product, command.product_id), command.unit_price, uow.now, meta)
    return uow.save(prices)


def remove_price(command: RemovePrice, meta: Meta, uow: UnitOfWork) -> CommandResult:
    prices = uow.load(PriceList, command.price_list_id)
    prices.remove_price(command.product_id, uow.now, meta)
    return uow.save(prices)


def change_validity(command: ChangePriceListValidity, meta: Meta, uow: UnitOfWork) -> CommandResult:
    prices = uow.load(PriceList, command.price_list_id)
    prices.change_validity(command.valid_from, command.valid_until, uow.now, meta)
    return uow.save(prices)


HANDLERS: dict[type, Handler] = {
    CreateProduct: create_product,
    UpdateProduct: update_product,
    RetireProduct: retire_product,
    ReactivateProduct: reactivate_product,
    CreatePriceList: create_price_list,
    SetPrice: set_price,
    RemovePrice: remove_price,
    ChangePriceListValidity: change_validity,
}
