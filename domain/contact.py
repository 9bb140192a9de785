"""The Contact aggregate: a person the business talks to, and everything they did."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import EmptyName, InvalidValue, RuleViolation, UnknownInteractionType
from domain.instants import require_aware
from domain.meta import Meta
from domain.scoring import INTERACTION_TYPES, ScoringRules
from domain.text import clean as _clean

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
_FUNNEL = LIFECYCLE_STAGES[:-1]

#: Fields a PATCH may change; everything else changes through its own command.
DETAIL_FIELDS = ("name", "email", "phone", "company", "title", "tags", "owner")

#: Fields that identify a person (or may, as free text); they never reach the analytics
#: warehouse and are what erasure makes unreadable.
PERSONAL_FIELDS = frozenset({"name", "email", "phone", "details"})

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ContactMerged(RuleViolation):
    code = "contact_merged"


class ContactErased(RuleViolation):
    code = "contact_erased"


class InvalidLifecycleTransition(RuleViolation):
    code = "invalid_lifecycle_transition"


class Contact(Aggregate):
    """Events carry absolute values (the new score, the new tag list), never deltas, so
    that a projection may apply one twice and still be right."""

    TOPIC = "crm.contact"

    class Created(Aggregate.Created):
        TOPIC = "crm.contact.created.v1"
        # v2 added account_id; v1 events are upcast on read.
        class_version = 2
        name: str
        email: str | None
        phone: str | None
        company: str | None
        title: str | None
        tags: list[str]
        owner: str | None
        lifecycle_stage: str
        account_id: UUID | None
        meta: Meta

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["account_id"] = None

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

    class ConsentGiven(Aggregate.Event):
        TOPIC = "crm.contact.consent_given.v1"
        source: str
        at: datetime
        meta: Meta

    class ConsentWithdrawn(Aggregate.Event):
        TOPIC = "crm.contact.consent_withdrawn.v1"
        source: str
        at: datetime
        meta: Meta

    class LifecycleStageChanged(Aggregate.Event):
        TOPIC = "crm.contact.lifecycle_stage_changed.v1"
        from_stage: str
        to_stage: str
        reason: str | None
        at: datetime
        meta: Meta

    class AccountLinked(Aggregate.Event):
        TOPIC = "crm.contact.account_linked.v1"
        account_id: UUID | None
        meta: Meta

    class FollowUpAssigned(Aggregate.Event):
        TOPIC = "crm.contact.follow_up_assigned.v1"
        owner: str | None
        reason: str
        due_at: datetime
        meta: Meta

    class MergedInto(Aggregate.Event):
        TOPIC = "crm.contact.merged_into.v1"
        survivor_id: UUID
        meta: Meta

    class Absorbed(Aggregate.Event):
        TOPIC = "crm.contact.absorbed.v1"
        absorbed_id: UUID
        tags: list[str]
        lead_score: int
        meta: Meta

    class Erased(Aggregate.Event):
        TOPIC = "crm.contact.erased.v1"
        reason: str | None
        at: datetime
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
        account_id: UUID | None = None,
    ) -> Contact:
        _require_known_stage(lifecycle_stage)
        return cls(
            name=_require_name(name),
            email=_require_email(email),
            phone=_clean(phone),
            company=_clean(company),
            title=_clean(title),
            tags=_normalise_tags(tags),
            owner=_clean(owner),
            lifecycle_stage=lifecycle_stage,
            account_id=account_id,
            meta=meta,
        )

    def change_details(self, changes: Mapping[str, Any], meta: Meta) -> None:
        """Records only what really differs; a change to nothing records nothing."""
        self.require_active()
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
        self.require_active()
        if interaction_type not in INTERACTION_TYPES:
            raise UnknownInteractionType(
                f"unknown interaction type {interaction_type!r}; one of {', '.join(sorted(INTERACTION_TYPES))}"
            )
        require_aware(occurred_at, "occurred_at")
        if interaction_type == "survey_answered":
            _require_survey_scores(details)
        points = rules.points_for(interaction_type)
        self._interaction_recorded(
            interaction_type=interaction_type,
            occurred_at=occurred_at,
            details=dict(details),
            points=points,
            lead_score=self.lead_score + points,
            meta=meta,
        )

    def give_consent(self, source: str, at: datetime, meta: Meta) -> None:
        self.require_active()
        require_aware(at, "at")
        if not self.consented:
            self._consent_given(source=_require_text(source, "consent source"), at=at, meta=meta)

    def withdraw_consent(self, source: str, at: datetime, meta: Meta) -> None:
        self.require_active()
        require_aware(at, "at")
        if self.consented:
            self._consent_withdrawn(source=_require_text(source, "consent source"), at=at, meta=meta)

    def change_lifecycle_stage(self, stage: str, at: datetime, meta: Meta, reason: str | None = None) -> None:
        """Forward along the funnel (skipping is allowed), ``churned`` only from a customer
        or evangelist, and from ``churned`` only back to ``customer`` (won back)."""
        self.require_active()
        _require_known_stage(stage)
        require_aware(at, "at")
        if stage == self.lifecycle_stage:
            return
        if not _allowed_transition(self.lifecycle_stage, stage):
            raise InvalidLifecycleTransition(f"a contact cannot go from {self.lifecycle_stage} to {stage}")
        self._lifecycle_stage_changed(from_stage=self.lifecycle_stage, to_stage=stage, reason=reason, at=at, meta=meta)

    def link_account(self, account_id: UUID | None, meta: Meta) -> None:
        self.require_active()
        if account_id != self.account_id:
            self._account_linked(account_id=account_id, meta=meta)

    def assign_follow_up(self, reason: str, due_at: datetime, meta: Meta) -> None:
        """A task for the contact's owner (no owner: the team's queue picks it up)."""
        self.require_active()
        require_aware(due_at, "due_at")
        self._follow_up_assigned(owner=self.owner, reason=_require_text(reason, "reason"), due_at=due_at, meta=meta)

    def merge_into(self, survivor: Contact, meta: Meta) -> None:
        """This contact is absorbed: it becomes read-only and points at the survivor,
        which records what it absorbed. Call on the absorbed contact; save both together."""
        if survivor.id == self.id:
            raise InvalidValue("a contact cannot be merged into itself")
        self.require_active()
        survivor.require_active()
        self._merged_into(survivor_id=survivor.id, meta=meta)
        survivor._absorbed(
            absorbed_id=self.id,
            tags=_normalise_tags([*survivor.tags, *self.tags]),
            lead_score=survivor.lead_score + self.lead_score,
            meta=meta,
        )

    def erase(self, at: datetime, meta: Meta, reason: str | None = None) -> None:
        """Personal data erasure: the history stays, the person becomes unreadable."""
        require_aware(at, "at")
        if not self.erased:
            self._erased(reason=reason, at=at, meta=meta)

    # -- guards -------------------------------------------------------------------------

    def require_active(self) -> None:
        if self.erased:
            raise ContactErased(f"contact {self.id} was erased")
        if self.merged_into is not None:
            raise ContactMerged(f"contact {self.id} was merged into {self.merged_into}; use that one")

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
        account_id: UUID | None,
        meta: Meta,
    ) -> None:
        self.name: str | None = name
        self.email = email
        self.phone = phone
        self.company = company
        self.title = title
        self.tags = tags
        self.owner = owner
        self.lifecycle_stage = lifecycle_stage
        self.account_id = account_id
        self.lead_score = 0
        self.interactions = 0
        self.consented = False
        self.merged_into: UUID | None = None
        self.absorbed: list[UUID] = []
        self.erased = False

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

    @event(ConsentGiven)
    def _consent_given(self, source: str, at: datetime, meta: Meta) -> None:
        self.consented = True

    @event(ConsentWithdrawn)
    def _consent_withdrawn(self, source: str, at: datetime, meta: Meta) -> None:
        self.consented = False

    @event(LifecycleStageChanged)
    def _lifecycle_stage_changed(
        self, from_stage: str, to_stage: str, reason: str | None, at: datetime, meta: Meta
    ) -> None:
        self.lifecycle_stage = to_stage

    @event(AccountLinked)
    def _account_linked(self, account_id: UUID | None, meta: Meta) -> None:
        self.account_id = account_id

    @event(FollowUpAssigned)
    def _follow_up_assigned(self, owner: str | None, reason: str, due_at: datetime, meta: Meta) -> None:
        pass  # a task for people; it changes nothing the contact's rules depend on

    @event(MergedInto)
    def _merged_into(self, survivor_id: UUID, meta: Meta) -> None:
        self.merged_into = survivor_id

    @event(Absorbed)
    def _absorbed(self, absorbed_id: UUID, tags: list[str], lead_score: int, meta: Meta) -> None:
        self.absorbed.append(absorbed_id)
        self.tags = tags
        self.lead_score = lead_score

    @event(Erased)
    def _erased(self, reason: str | None, at: datetime, meta: Meta) -> None:
        self.erased = True
        self.name = self.email = self.phone = None


def _allowed_transition(current: str, target: str) -> bool:
    if target == "churned":
        return current in ("customer", "evangelist")
    if current == "churned":
        return target == "customer"
    return _FUNNEL.index(target) > _FUNNEL.index(current)


def _require_known_stage(stage: str) -> None:
    if stage not in LIFECYCLE_STAGES:
        raise InvalidValue(f"unknown lifecycle stage {stage!r}; one of {', '.join(LIFECYCLE_STAGES)}")


def _require_text(value: str | None, what: str) -> str:
    cleaned = _clean(value)
    if cleaned is None:
        raise InvalidValue(f"{what} must not be empty")
    return cleaned


def _require_survey_scores(details: Mapping[str, Any]) -> None:
    """NPS is 0–10, CES 1–7; a survey answer carries at least one of them."""
    ranges = {"nps": (0, 10), "ces": (1, 7)}
    present = [k for k in ranges if k in details]
    if not present:
        raise InvalidValue("a survey answer needs details.nps (0-10) or details.ces (1-7)")
    for key in present:
        low, high = ranges[key]
        value = details[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise InvalidValue(f"details.{key} must be a whole number from {low} to {high}, got {value!r}")


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
