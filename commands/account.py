"""Account commands and their handlers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from commands.bus import Handler, UnitOfWork
from commands.results import CommandResult
from domain.account import Account
from domain.contact import Contact
from domain.meta import Meta


@dataclass(frozen=True)
class CreateAccount:
    name: str
    domain: str | None = None
    industry: str | None = None
    size: str | None = None
    owner: str | None = None


@dataclass(frozen=True)
class ChangeAccountDetails:
    account_id: UUID
    changes: Mapping[str, Any]
    expected_version: int | None = None


@dataclass(frozen=True)
class AddContactToAccount:
    account_id: UUID
    contact_id: UUID


@dataclass(frozen=True)
class RemoveContactFromAccount:
    account_id: UUID
    contact_id: UUID


def create(command: CreateAccount, meta: Meta, uow: UnitOfWork) -> CommandResult:
    account = Account.create(
        name=command.name,
        domain=command.domain,
        industry=command.industry,
        size=command.size,
        owner=command.owner,
        meta=meta,
    )
    return uow.save(account)


def change_details(command: ChangeAccountDetails, meta: Meta, uow: UnitOfWork) -> CommandResult:
    account = uow.load(Account, command.account_id, command.expected_version)
    account.change_details(command.changes, meta)
    return uow.save(account)


def add_contact(command: AddContactToAccount, meta: Meta, uow: UnitOfWork) -> CommandResult:
    """The account lists the contact and the contact points at the account, in one save."""
    account = uow.load(Account, command.account_id)
    contact = uow.load(Contact, command.contact_id)
    if contact.account_id not in (None, account.id):
        previous = uow.load(Account, contact.account_id)
        previous.remove_contact(contact.id, meta)
        account.add_contact(contact.id, meta)
        contact.link_account(account.id, meta)
        return uow.save(account, contact, previous)
    account.add_contact(contact.id, meta)
    contact.link_account(account.id, meta)
    return uow.save(account, contact)


def remove_contact(command: RemoveContactFromAccount, meta: Meta, uow: UnitOfWork) -> CommandResult:
    account = uow.load(Account, command.account_id)
    contact = uow.load(Contact, command.contact_id)
    account.remove_contact(contact.id, meta)
    if contact.account_id == account.id:
        contact.link_account(None, meta)
    return uow.save(account, contact)


HANDLERS: dict[type, Handler] = {
    CreateAccount: create,
    ChangeAccountDetails: change_details,
    AddContactToAccount: add_contact,
    RemoveContactFromAccount: remove_contact,
}
