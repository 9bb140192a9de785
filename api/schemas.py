"""Request and response bodies: separate from commands and events on purpose."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.contact import LIFECYCLE_STAGES
from domain.scoring import INTERACTION_TYPES

# The domain's lists as types: ``Literal.__getitem__(names)`` is the type written out name by
# name. A type checker cannot follow that, so it sees plain text; pydantic sees the names.
if TYPE_CHECKING:
    InteractionType = str
    LifecycleStage = str
else:
    InteractionType = Literal.__getitem__(INTERACTION_TYPES)
    LifecycleStage = Literal.__getitem__(LIFECYCLE_STAGES)


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=50)
    company: str | None = Field(None, max_length=200)
    title: str | None = Field(None, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=100)
    owner: str | None = Field(None, max_length=200)


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    given: bool
    source: str = Field(min_length=1, max_length=200, description="where consent was given or withdrawn")


class ContactChange(BaseModel):
    """Only the fields present change; ``null`` clears a field (not ``name``)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    email: str | None = Field(None, max_length=320)
    phone: str | None = Field(None, max_length=50)
    company: str | None = Field(None, max_length=200)
    title: str | None = Field(None, max_length=200)
    tags: list[str] | None = Field(None, max_length=100)
    owner: str | None = Field(None, max_length=200)
    consent: Consent | None = None


class LifecycleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: LifecycleStage
    reason: str | None = Field(None, max_length=500)


class ContactMerge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: UUID


class ContactErase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500)


class InteractionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: InteractionType
    occurred_at: AwareDatetime | None = Field(None, description="default: now")
    details: dict[str, Any] = Field(default_factory=dict)


class CommandAccepted(BaseModel):
    id: UUID
    version: int
    position: int | None = Field(description="event-store position of the last event recorded")


class InteractionAccepted(CommandAccepted):
    lead_score: int


class LifecycleAccepted(CommandAccepted):
    lifecycle_stage: str


class MergeAccepted(CommandAccepted):
    survivor_id: UUID
    survivor_version: int


class ContactPublic(BaseModel):
    id: UUID
    name: str | None
    email: str | None
    phone: str | None
    company: str | None
    title: str | None
    tags: list[str]
    owner: str | None
    lifecycle_stage: str
    lead_score: int
    account_id: UUID | None
    consented: bool
    merged_into: UUID | None = Field(description="set when this contact was absorbed by another")
    erased: bool
    created_at: datetime
    updated_at: datetime
    last_interaction_at: datetime | None
    version: int


# -- values the sales modules share ------------------------------------------------------

#: An amount of money: what every store holds exactly, to the cent.
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code, e.g. EUR")]
#: How many of a product: above zero, to four places (1.5 days of consulting).
Quantity = Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=4)]
#: A rate in percent: ``20`` for 20 %.
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=6, decimal_places=3)]
