"""Contact commands (imperative, frozen) and their handlers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from commands.bus import Handler, UnitOfWork
from commands.results import CommandResult
from domain.contact import Contact
from domain.meta import Meta


@dataclass(frozen=True)
class CreateContact:
    name: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    title: str | None = None
    tags: tuple[str, ...] = ()
    owner: str | None = None
    lifecycle_stage: str = "subscriber"


@dataclass(frozen=True)
class ConsentChange:
    given: bool
    source: str


@dataclass(frozen=True)
class ChangeContactDetails:
    """Details and consent change together, in one save."""

    contact_id: UUID
    changes: Mapping[str, Any]
    expected_version: int | None = None
    consent: ConsentChange | None = None


@dataclass(frozen=True)
class RecordInteraction:
    contact_id: UUID
    interaction_type: str
    occurred_at: datetime | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    expected_version: int | None = None


@dataclass(frozen=True)
class ChangeLifecycleStage:
    contact_id: UUID
    stage: str
    reason: str | None = None
    at: datetime | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class AssignFollowUp:
    contact_id: UUID
    reason: str
    due_in: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class MergeContacts:
    """``contact_id`` is absorbed by ``into``."""

    contact_id: UUID
    into: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class EraseContact:
    contact_id: UUID
    reason: str | None = None


def create(command: CreateContact, meta: Meta, uow: UnitOfWork) -> CommandResult:
    contact = Contact.create(
        name=command.name,
        email=command.email,
        phone=command.phone,
        company=command.company,
        title=command.title,
        tags=command.tags,
        owner=command.owner,
        lifecycle_stage=command.lifecycle_stage,
        meta=meta,
    )
    return uow.save(contact)


def change_details(command: ChangeContactDetails, meta: Meta, uow: UnitOfWork) -> CommandResult:
    contact = uow.load(Contact, command.contact_id, command.expected_version)
    contact.change_details(command.changes, meta)
    if command.consent is not None:
        change = contact.give_consent if command.consent.given else contact.withdraw_consent
        change(command.consent.source, uow.now, meta)
    return uow.save(contact)


def record_interaction(command: RecordInteraction, meta: Meta, uow: UnitOfWork) -> CommandResult:
    contact = uow.load(Contact, command.contact_id, command.expected_version)
    contact.record_interaction(
        command.interaction_type, uow.at(command.occurred_at), command.details, uow.config.scoring_rules, meta
    )
    return uow.save(contact, lead_score=contact.lead_score)


def change_lifecycle_stage(command: ChangeLifecycleStage, meta: Meta, uow: UnitOfWork) -> CommandResult:
    contact = uow.load(Contact, command.contact_id, command.expected_version)
    contact.change_lifecycle_stage(command.stage, uow.at(command.at), meta, command.reason)
    return uow.save(contact, lifecycle_stage=contact.lifecycle_stage)


def assign_follow_up(command: AssignFollowUp, meta: Meta, uow: UnitOfWork) -> CommandResult:
    contact = uow.load(Contact, command.contact_id)
    contact.assign_follow_up(command.reason, uow.now + command.due_in, meta)
    return uow.save(contact)


def merge(command: MergeContacts, meta: Meta, uow: UnitOfWork) -> CommandResult:
    absorbed = uow.load(Contact, command.contact_id, command.expected_version)
    survivor = uow.load(Contact, command.into)
    absorbed.merge_into(survivor, meta)
    return uow.save(absorbed, survivor, survivor_id=str(survivor.id), survivor_version=survivor.version)


def erase(command: EraseContact, meta: Meta, uow: UnitOfWork) -> CommandResult:
    contact = uow.load(Contact, command.contact_id)
    contact.erase(uow.now, meta, command.reason)
    # The key goes with the erasure event: every sealed copy of the person's data, in the
    # event store and on Kafka, becomes unreadable at once.
    result = uow.save(contact, erase_keys=[contact.id])
    uow.store.sealer.forget(contact.id)
    return result


HANDLERS: dict[type, Handler] = {
    CreateContact: create,
    ChangeContactDetails: change_details,
    RecordInteraction: record_interaction,
    ChangeLifecycleStage: change_lifecycle_stage,
    AssignFollowUp: assign_follow_up,
    MergeContacts: merge,
    EraseContact: erase,
}
