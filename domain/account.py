"""The Account aggregate: a company, its owner, and the contacts who work there."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import EmptyName, InvalidValue, RuleViolation
from domain.meta import Meta
from domain.text import clean as _clean

#: Fields a PATCH may change; membership changes through its own commands.
DETAIL_FIELDS = ("name", "domain", "industry", "size", "owner")

# Letters, digits and hyphens in dot-separated labels; at least one dot. Deliberately
# loose: it catches typos such as an email address or a URL, not every invalid host.
_HOST_NAME = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


class NotAMember(RuleViolation):
    """Only a contact of the account can be removed from it."""

    code = "not_a_member"


class Account(Aggregate):
    """Events carry absolute values (the full new contact list), so that a projection
    may apply one twice and still be right."""

    TOPIC = "crm.account"

    class Created(Aggregate.Created):
        TOPIC = "crm.account.created.v1"
        name: str
        domain: str | None
        industry: str | None
        size: str | None
        owner: str | None
        meta: Meta

    class DetailsChanged(Aggregate.Event):
        TOPIC = "crm.account.details_changed.v1"
        changes: dict[str, Any]
        meta: Meta

    class ContactAdded(Aggregate.Event):
        TOPIC = "crm.account.contact_added.v1"
        contact_id: UUID
        contacts: list[UUID]
        meta: Meta

    class ContactRemoved(Aggregate.Event):
        TOPIC = "crm.account.contact_removed.v1"
        contact_id: UUID
        contacts: list[UUID]
        meta: Meta

    # -- commands: guard, then record ------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        name: str,
        meta: Meta,
        domain: str | None = None,
        industry: str | None = None,
        size: str | None = None,
        owner: str | None = None,
    ) -> Account:
        return cls(
            name=_require_name(name),
            domain=_require_domain(domain),
            industry=_clean(industry),
            size=_clean(size),
            owner=_clean(owner),
            meta=meta,
        )

    def change_details(self, changes: Mapping[str, Any], meta: Meta) -> None:
        """Records only what really differs; a change to nothing records nothing."""
        unknown = set(changes) - set(DETAIL_FIELDS)
        if unknown:
            raise InvalidValue(f"cannot change {', '.join(sorted(unknown))} this way")
        cleaned = {field: _CLEANERS[field](value) for field, value in changes.items()}
        effective = {f: v for f, v in cleaned.items() if getattr(self, f) != v}
        if effective:
            self._details_changed(changes=effective, meta=meta)

    def add_contact(self, contact_id: UUID, meta: Meta) -> None:
        """Adding a contact that already belongs to the account records nothing."""
        _require_uuid(contact_id)
        if contact_id in self.contacts:
            return
        self._contact_added(contact_id=contact_id, contacts=[*self.contacts, contact_id], meta=meta)

    def remove_contact(self, contact_id: UUID, meta: Meta) -> None:
        self._require_member(contact_id)
        self._contact_removed(
            contact_id=contact_id,
            contacts=[c for c in self.contacts if c != contact_id],
            meta=meta,
        )

    def _require_member(self, contact_id: UUID) -> None:
        if contact_id not in self.contacts:
            raise NotAMember(f"contact {contact_id} is not a contact of account {self.id}")

    # -- state changes: only where an event is applied -------------------------------

    @event(Created)
    def __init__(
        self,
        name: str,
        domain: str | None,
        industry: str | None,
        size: str | None,
        owner: str | None,
        meta: Meta,
    ) -> None:
        self.name = name
        self.domain = domain
        self.industry = industry
        self.size = size
        self.owner = owner
        self.contacts: list[UUID] = []

    @event(DetailsChanged)
    def _details_changed(self, changes: dict[str, Any], meta: Meta) -> None:
        for field, value in changes.items():
            setattr(self, field, value)

    @event(ContactAdded)
    def _contact_added(self, contact_id: UUID, contacts: list[UUID], meta: Meta) -> None:
        self.contacts = list(contacts)

    @event(ContactRemoved)
    def _contact_removed(self, contact_id: UUID, contacts: list[UUID], meta: Meta) -> None:
        self.contacts = list(contacts)


def _require_name(name: str | None) -> str:
    cleaned = _clean(name)
    if cleaned is None:
        raise EmptyName("an account needs a name")
    return cleaned


def _require_domain(domain: str | None) -> str | None:
    """Lower-case, since host names are case-insensitive; ``None`` when blank."""
    cleaned = _clean(domain)
    if cleaned is None:
        return None
    cleaned = cleaned.lower()
    if not _HOST_NAME.match(cleaned):
        raise InvalidValue(f"{cleaned!r} is not a domain name such as example.com")
    return cleaned


def _require_uuid(contact_id: UUID) -> None:
    if not isinstance(contact_id, UUID):
        raise InvalidValue(f"a contact id must be a UUID, got {contact_id!r}")


_CLEANERS: dict[str, Callable[[Any], str | None]] = {
    "name": _require_name,
    "domain": _require_domain,
    "industry": _clean,
    "size": _clean,
    "owner": _clean,
}
