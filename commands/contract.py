"""Contract commands and their handlers: signed for an account or a contact, amended,
renewed or terminated by people; a renewal deal opened and a lapse recorded by the
deadline watcher (automations/deadline_watch.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from commands.bus import Handler, UnitOfWork
from commands.results import CommandResult
from domain.account import Account
from domain.contact import Contact
from domain.contract import Contract
from domain.deal import Deal
from domain.meta import Meta
from domain.pipeline import Pipeline


@dataclass(frozen=True)
class SignContract:
    title: str
    starts_on: date
    ends_on: date
    value: Decimal
    currency: str = "EUR"
    account_id: UUID | None = None
    contact_id: UUID | None = None
    renewal_days: int = 60
    at: datetime | None = None


@dataclass(frozen=True)
class AmendContract:
    """Changes the fields given (``None`` leaves a field as it is), with a reason."""

    contract_id: UUID
    reason: str | None
    title: str | None = None
    ends_on: date | None = None
    value: Decimal | None = None
    renewal_days: int | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class OpenContractRenewal:
    """A renewal deal for the contract's next term, in ``pipeline_id``, owned by ``owner``."""

    contract_id: UUID
    pipeline_id: UUID
    owner: str | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class RenewContract:
    contract_id: UUID
    ends_on: date
    value: Decimal
    expected_version: int | None = None


@dataclass(frozen=True)
class TerminateContract:
    contract_id: UUID
    reason: str | None
    effective_on: date | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class LapseContract:
    contract_id: UUID
    at: datetime | None = None


def _answer(uow: UnitOfWork, contract: Contract, *others: Any, **extra: Any) -> CommandResult:
    return uow.save(contract, *others, status=contract.status, ends_on=contract.ends_on.isoformat(), **extra)


def sign(command: SignContract, meta: Meta, uow: UnitOfWork) -> CommandResult:
    if command.account_id is not None:
        uow.load(Account, command.account_id)
    if command.contact_id is not None:
        uow.load(Contact, command.contact_id).require_active()
    contract = Contract.sign(
        title=command.title,
        starts_on=command.starts_on,
        ends_on=command.ends_on,
        value=command.value,
        currency=command.currency,
        at=uow.at(command.at),
        meta=meta,
        account_id=command.account_id,
        contact_id=command.contact_id,
        renewal_days=command.renewal_days,
    )
    return _answer(uow, contract, renewal_due_on=contract.renewal_due_on.isoformat())


def amend(command: AmendContract, meta: Meta, uow: UnitOfWork) -> CommandResult:
    contract = uow.load(Contract, command.contract_id, command.expected_version)
    given = {
        "title": command.title,
        "ends_on": command.ends_on,
        "value": command.value,
        "renewal_days": command.renewal_days,
    }
    contract.amend(command.reason, uow.now, meta, **{k: v for k, v in given.items() if v is not None})
    return _answer(uow, contract)


def open_renewal(command: OpenContractRenewal, meta: Meta, uow: UnitOfWork) -> CommandResult:
    """The deal and the contract's note of it in one transaction: one renewal deal per term
    however often the watcher asks."""
    contract = uow.load(Contract, command.contract_id)
    pipeline = uow.load(Pipeline, command.pipeline_id)
    at = uow.at(command.at)
    deal = Deal.create(
        pipeline=pipeline,
        title=f"Renewal of {contract.title}",
        meta=meta,
        at=at,
        contact_id=contract.contact_id,
        account_id=contract.account_id,
        amount=contract.value,
        currency=contract.currency,
        owner=command.owner,
        expected_close_on=contract.ends_on,
    )
    contract.open_renewal(deal.id, at, meta)
    return _answer(uow, contract, deal, renewal_deal_id=str(deal.id))


def renew(command: RenewContract, meta: Meta, uow: UnitOfWork) -> CommandResult:
    contract = uow.load(Contract, command.contract_id, command.expected_version)
    contract.renew(command.ends_on, command.value, uow.now, meta)
    return _answer(uow, contract)


def terminate(command: TerminateContract, meta: Meta, uow: UnitOfWork) -> CommandResult:
    contract = uow.load(Contract, command.contract_id, command.expected_version)
    contract.terminate(command.reason, command.effective_on or uow.now.date(), uow.now, meta)
    return _answer(uow, contract)


def lapse(command: LapseContract, meta: Meta, uow: UnitOfWork) -> CommandResult:
    contract = uow.load(Contract, command.contract_id)
    contract.lapse(uow.at(command.at), meta)
    return _answer(uow, contract)


HANDLERS: dict[type, Handler] = {
    SignContract: sign,
    AmendContract: amend,
    OpenContractRenewal: open_renewal,
    RenewContract: renew,
    TerminateContract: terminate,
    LapseContract: lapse,
}
