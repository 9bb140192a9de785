"""The Contact aggregate: a person the business talks to, and everything they did."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.errors import EmptyName, InvalidValue, UnknownInteractionType
from domain.meta import Meta
from domain.scoring import INTERACTION_TYPES, ScoringRules

LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketing_qualified",
    "sales_qualified",
    "opportunity",
    "customer",
    "evangelist",
    "churned",
)

#: Fields a PATCH may change; everything else changes through its own command.
DETAIL_FIELDS = ("name", "email", "phone", "company", "title", "tags", "owner")

#: Fields that identify a person; they never reach the analytics warehouse.
PERSONAL_FIELDS = frozenset({"name", "email", "phone", "details"})

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Contact(Aggregate):
    """Events carry absolute values (the new score, the new tag list), never deltas, so
    that a projection may apply one twice and still be right."""

    TOPIC = "crm.contact"

    class Created(Aggregate.Created):
        TOPIC = "crm.contact.created.v1"
        name: str
        email: str | None
        phone: str | None
        company: str | None
        title: str | None
        tags: list[str]
        owner: str | None
        lifecycle_stage: str
        meta: Meta

    class DetailsChanged(Aggregate.Event):
        TOPIC = "crm.contact.details_changed.v1"
        changes: dict[str, Any]
        meta: Meta

    class InteractionRecorded(Aggregate.Event):
        TOPIC = "crm.contact.interaction_recorded.v1"
        interaction_type: str
        occurred_at: datetime
        details: dict[str, Any]
        points: int
        lead_score: int
        meta: Meta

    # -- commands: guard, then record ------------------------------------------------

    @classmethod
    def create(
        cls,
        *,
        name: str,
        meta: Meta,
        email: str | None = None,
        phone: str | None = None,
        company: str | None = None,
        title: str | None = None,
        tags: Iterable[str] = (),
        owner: str | None = None,
        lifecycle_stage: str = "subscriber",
    ) -> Contact:
        if lifecycle_stage not in LIFECYCLE_STAGES:
            raise InvalidValue(
                f"unknown lifecycle stage {lifecycle_stage!r}; one of {', '.join(LIFECYCLE_STAGES)}"
            )
        return cls(
            name=_require_name(name),
            email=_require_email(email),
            phone=_clean(phone),
            company=_clean(company),
            title=_clean(title),
            tags=_normalise_tags(tags),
            owner=_clean(owner),
            lifecycle_stage=lifecycle_stage,
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

    def record_interaction(
        self,
        interaction_type: str,
        occurred_at: datetime,
        details: Mapping[str, Any],
        rules: ScoringRules,
        meta: Meta,
    ) -> None:
        if interaction_type not in INTERACTION_TYPES:
            raise UnknownInteractionType(
                f"unknown interaction type {interaction_type!r}; "
                f"one of {', '.join(sorted(INTERACTION_TYPES))}"
            )
        if occurred_at.tzinfo is None:
            raise InvalidValue("occurred_at needs a time zone")
        points = rules.points_for(interaction_type)
        self._interaction_recorded(
            interaction_type=interaction_type,
            occurred_at=occurred_at,
            details=dict(details),
            points=points,
            lead_score=self.lead_score + points,
            meta=meta,
        )

    # -- state changes: only where an event is applied -------------------------------

    @event(Created)
    def __init__(
        self,
        name: str,
        email: str | None,
        phone: str | None,
        company: str | None,
        title: str | None,
        tags: list[str],
        owner: str | None,
        lifecycle_stage: str,
        meta: Meta,
    ) -> None:
        self.name = name
        self.email = email
        self.phone = phone
        self.company = company
        self.title = title
        self.tags = tags
        self.owner = owner
        self.lifecycle_stage = lifecycle_stage
        self.lead_score = 0
        self.interactions = 0

    @event(DetailsChanged)
    def _details_changed(self, changes: dict[str, Any], meta: Meta) -> None:
        for field, value in changes.items():
            setattr(self, field, value)

    @event(InteractionRecorded)
    def _interaction_recorded(
        self,
        interaction_type: str,
        occurred_at: datetime,
        details: dict[str, Any],
        points: int,
        lead_score: int,
        meta: Meta,
    ) -> None:
        self.lead_score = lead_score
        self.interactions += 1


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _require_name(name: str | None) -> str:
    cleaned = _clean(name)
    if cleaned is None:
        raise EmptyName("a contact needs a name")
    return cleaned


def _require_email(email: str | None) -> str | None:
    cleaned = _clean(email)
    if cleaned is None:
        return None
    if not _EMAIL.match(cleaned):
        raise InvalidValue(f"{cleaned!r} is not an email address")
    local, _, domain = cleaned.rpartition("@")
    return f"{local}@{domain.lower()}"


def _normalise_tags(tags: Iterable[str] | None) -> list[str]:
    """Trimmed, lower-case, first occurrence kept, order kept."""
    seen: dict[str, None] = {}
    for tag in tags or ():
        cleaned = tag.strip().lower()
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


_CLEANERS = {
    "name": _require_name,
    "email": _require_email,
    "phone": _clean,
    "company": _clean,
    "title": _clean,
    "tags": _normalise_tags,
    "owner": _clean,
}
