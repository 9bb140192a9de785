"""Contact commands (imperative, frozen) and the handler that runs them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from commands.errors import ConcurrencyConflict, NotFound
from commands.results import CommandResult
from commands.store import CrmEventStore
from domain.contact import Contact
from domain.meta import Meta
from domain.scoring import ScoringRules


@dataclass(frozen=True)
class CreateContact:
    name: str
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    title: str | None = None
    tags: tuple[str, ...] = ()
    owner: str | None = None


@dataclass(frozen=True)
class ChangeContactDetails:
    contact_id: UUID
    changes: Mapping[str, Any]
    expected_version: int | None = None


@dataclass(frozen=True)
class RecordInteraction:
    contact_id: UUID
    interaction_type: str
    occurred_at: datetime
    details: Mapping[str, Any] = field(default_factory=dict)
    expected_version: int | None = None


class ContactHandler:
    """Load, call one method, save. Answers ids and versions, never the aggregate."""

    def __init__(self, store: CrmEventStore, rules: ScoringRules) -> None:
        self._store = store
        self._rules = rules

    def create(self, command: CreateContact, meta: Meta) -> CommandResult:
        contact = Contact.create(
            name=command.name,
            email=command.email,
            phone=command.phone,
            company=command.company,
            title=command.title,
            tags=command.tags,
            owner=command.owner,
            meta=meta,
        )
        return self._save(contact)

    def change_details(self, command: ChangeContactDetails, meta: Meta) -> CommandResult:
        contact = self._load(command.contact_id, command.expected_version)
        contact.change_details(command.changes, meta)
        return self._save(contact)

    def record_interaction(self, command: RecordInteraction, meta: Meta) -> CommandResult:
        contact = self._load(command.contact_id, command.expected_version)
        contact.record_interaction(
            command.interaction_type, command.occurred_at, command.details, self._rules, meta
        )
        return self._save(contact, lead_score=contact.lead_score)

    def _load(self, contact_id: UUID, expected_version: int | None) -> Contact:
        try:
            contact: Contact = self._store.repository.get(contact_id)
        except AggregateNotFoundError:
            raise NotFound(f"no contact {contact_id}") from None
        if not isinstance(contact, Contact):
            raise NotFound(f"no contact {contact_id}")
        if expected_version is not None and contact.version != expected_version:
            raise ConcurrencyConflict(
                f"contact {contact_id} is at version {contact.version}, not {expected_version}"
            )
        return contact

    def _save(self, contact: Contact, **extra: Any) -> CommandResult:
        try:
            recordings = self._store.save(contact)
        except IntegrityError:
            raise ConcurrencyConflict(
                f"contact {contact.id} was changed by another command; reload and retry"
            ) from None
        position = recordings[-1].notification.id if recordings else None
        return CommandResult(contact.id, contact.version, position, extra)
