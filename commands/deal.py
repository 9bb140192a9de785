"""Deal commands and their handlers. A deal's rules need its pipeline's stages: the
handler loads the pipeline and hands it to the deal, read only."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from commands.bus import Handler, UnitOfWork
from commands.results import CommandResult
from domain.account import Account
from domain.contact import Contact
from domain.deal import Deal
from domain.meta import Meta
from domain.pipeline import Pipeline


@dataclass(frozen=True)
class CreateDeal:
    pipeline_id: UUID
    title: str
    contact_id: UUID | None = None
    account_id: UUID | None = None
    amount: Decimal | None = None
    currency: str = "EUR"
    owner: str | None = None
    expected_close_on: date | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class MoveDeal:
    deal_id: UUID
    stage: str
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class WinDeal:
    deal_id: UUID
    amount: Decimal | None
    closed_on: date | None
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class LoseDeal:
    deal_id: UUID
    reason: str | None
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class ReopenDeal:
    deal_id: UUID
    stage: str | None = None
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class ChangeDealDetails:
    deal_id: UUID
    changes: Mapping[str, Any]
    expected_version: int | None = None


def _answer(uow: UnitOfWork, deal: Deal) -> CommandResult:
    return uow.save(deal, stage=deal.stage, status=deal.status, probability=deal.probability)


def create(command: CreateDeal, meta: Meta, uow: UnitOfWork) -> CommandResult:
    pipeline = uow.load(Pipeline, command.pipeline_id)
    # The party must exist; the deal itself checks there is exactly one.
    if command.contact_id is not None:
        uow.load(Contact, command.contact_id).require_active()
    if command.account_id is not None:
        uow.load(Account, command.account_id)
    deal = Deal.create(
        pipeline=pipeline,
        title=command.title,
        contact_id=command.contact_id,
        account_id=command.account_id,
        amount=command.amount,
        currency=command.currency,
        owner=command.owner,
        expected_close_on=command.expected_close_on,
        at=uow.at(command.at),
        meta=meta,
    )
    return _answer(uow, deal)


def move(command: MoveDeal, meta: Meta, uow: UnitOfWork) -> CommandResult:
    deal = uow.load(Deal, command.deal_id, command.expected_version)
    deal.move_to(command.stage, uow.load(Pipeline, deal.pipeline_id), uow.at(command.at), meta)
    return _answer(uow, deal)


def win(command: WinDeal, meta: Meta, uow: UnitOfWork) -> CommandResult:
    deal = uow.load(Deal, command.deal_id, command.expected_version)
    deal.win(command.amount, command.closed_on, uow.at(command.at), meta)
    return _answer(uow, deal)


def lose(command: LoseDeal, meta: Meta, uow: UnitOfWork) -> CommandResult:
    deal = uow.load(Deal, command.deal_id, command.expected_version)
    deal.lose(command.reason, uow.at(command.at), meta)
    return _answer(uow, deal)


def reopen(command: ReopenDeal, meta: Meta, uow: UnitOfWork) -> CommandResult:
    deal = uow.load(Deal, command.deal_id, command.expected_version)
    deal.reopen(uow.load(Pipeline, deal.pipeline_id), uow.at(command.at), meta, command.stage)
    return _answer(uow, deal)


def change_details(command: ChangeDealDetails, meta: Meta, uow: UnitOfWork) -> CommandResult:
    deal = uow.load(Deal, command.deal_id, command.expected_version)
    deal.update(meta, **command.changes)
    return _answer(uow, deal)


HANDLERS: dict[type, Handler] = {
    CreateDeal: create,
    MoveDeal: move,
    WinDeal: win,
    LoseDeal: lose,
    ReopenDeal: reopen,
    ChangeDealDetails: change_details,
}
