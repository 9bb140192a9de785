"""Response bodies of the read routes (the operational read model), and pagination."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from api.params import Offset
from projections.oltp.queries import Page as QueryPage

T = TypeVar("T")

MAX_LIMIT = 500


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int

    def answer(self, page: QueryPage) -> dict[str, Any]:
        return {"items": page.items, "total": page.total, "limit": self.limit, "offset": self.offset}


async def paging(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 50,
    offset: Annotated[Offset, Query(description="items to skip")] = 0,
) -> Paging:
    return Paging(limit, offset)


PagingDep = Annotated[Paging, Depends(paging)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="all items matching the filters, on every page")
    limit: int
    offset: int


class ContactBrief(BaseModel):
    """A contact inside another answer; only ``id`` when its row is not projected yet."""

    id: UUID
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    title: str | None = None
    account_id: UUID | None = None
    owner: str | None = None
    lifecycle_stage: str | None = None
    lead_score: int | None = None


class TimelineEntry(BaseModel):
    time: datetime = Field(description="when it happened (an interaction's occurred_at, an event's at)")
    type: str = Field(description="the event type, e.g. crm.deal.won.v1")
    actor: str
    summary: str = Field(description="one line for people; never personal data or free text")
    aggregate_type: str = Field(description="contact, deal, case or campaign")
    subject: UUID = Field(description="the id of the contact, deal, case or campaign")
    sequence: int
    position: int


class DuplicateGroup(BaseModel):
    reason: str = Field(description="email, phone or name")
    key: str = Field(description="the shared normalised email or phone digits, or the normalised name")
    account_id: UUID | None = Field(description="for name matches: the account the contacts share")
    contacts: list[ContactBrief]


class AccountPublic(BaseModel):
    id: UUID
    name: str
    domain: str | None
    industry: str | None
    size: str | None
    owner: str | None
    contact_count: int
    created_at: datetime
    updated_at: datetime
    version: int


class AccountDetail(AccountPublic):
    contacts: list[ContactBrief]


class StagePublic(BaseModel):
    key: str
    name: str
    probability: float
    position: int


class PipelinePublic(BaseModel):
    id: UUID
    name: str
    stages: list[StagePublic] = Field(description="in order; won and lost are implied")
    created_at: datetime
    updated_at: datetime
    version: int


class DealPublic(BaseModel):
    id: UUID
    pipeline_id: UUID
    title: str
    contact_id: UUID | None
    contact_name: str | None
    account_id: UUID | None
    account_name: str | None
    amount: Decimal | None
    currency: str
    probability: float = Field(description="the stage's current win probability")
    weighted_amount: Decimal | None = Field(description="amount × probability, to the cent")
    owner: str | None
    expected_close_on: date | None
    stage: str
    status: str
    closed_on: date | None
    lost_reason: str | None
    stage_entered_at: datetime
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class BoardStage(BaseModel):
    key: str
    name: str
    probability: float
    deals: int
    amount: Decimal
    weighted_amount: Decimal = Field(description="amount × probability, to the cent")


class BoardTotals(BaseModel):
    deals: int
    amount: Decimal
    weighted_amount: Decimal = Field(description="the weighted forecast of the open deals")


class Board(BaseModel):
    pipeline_id: UUID
    name: str
    currencies: list[str] = Field(description="the currencies of the deals summed; more than one means mixed sums")
    stages: list[BoardStage] = Field(description="the pipeline's stages in order, then won and lost")
    open: BoardTotals


class CasePublic(BaseModel):
    id: UUID
    contact_id: UUID
    contact_name: str | None
    subject: str | None = Field(description="cleared when the contact is erased")
    priority: str
    channel: str
    status: str
    agent: str | None
    opened_at: datetime
    first_response_due: datetime
    resolution_due: datetime
    next_due: datetime | None = Field(description="the next deadline to meet; none once resolved")
    first_responded_at: datetime | None
    first_response_met: bool | None
    resolved_at: datetime | None
    resolution_met: bool | None
    closed_at: datetime | None
    responses: int
    reopen_count: int
    first_contact_resolution: bool | None
    first_response_breached: bool
    resolution_breached: bool
    breached: bool
    updated_at: datetime
    version: int


class CampaignPublic(BaseModel):
    id: UUID
    name: str
    channel: str
    audience: dict[str, Any]
    owner: str | None
    status: str
    sent_count: int
    responses_total: int
    responses: dict[str, int] = Field(description="contacts per response type")
    launched_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
