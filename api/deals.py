"""Deal routes: create, move, win, lose, reopen, change."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.access import permit
from api.commands import Run
from api.deps import ExpectedVersion, ServicesDep
from api.problems import Problem
from api.reads import Board, DealPublic, Page, PagingDep
from api.schemas import CommandAccepted
from api.trail import Trail, contact_ids
from commands.deal import ChangeDealDetails, CreateDeal, LoseDeal, MoveDeal, ReopenDeal, WinDeal

router = APIRouter(prefix="/v1/deals", tags=["deals"])

Money = Decimal


class DealCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pipeline_id: UUID
    title: str = Field(min_length=1, max_length=200)
    contact_id: UUID | None = None
    account_id: UUID | None = None
    amount: Money | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    currency: str = Field("EUR", pattern=r"^[A-Za-z]{3}$")
    owner: str | None = Field(None, max_length=200)
    expected_close_on: date | None = None

    @model_validator(mode="after")
    def _one_party(self) -> DealCreate:
        if (self.contact_id is None) == (self.account_id is None):
            raise ValueError("give exactly one of contact_id and account_id")
        return self


class DealMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: str = Field(min_length=1, max_length=40, description="a stage key of the deal's pipeline")


class DealWin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Money | None = Field(None, max_digits=18, decimal_places=2)
    closed_on: date | None = None


class DealLose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500)


class DealReopen(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: str | None = Field(None, description="default: the stage it closed from")


class DealChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=200)
    amount: Money | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    currency: str | None = Field(None, pattern=r"^[A-Za-z]{3}$")
    owner: str | None = Field(None, max_length=200)
    expected_close_on: date | None = None


class DealAccepted(CommandAccepted):
    stage: str
    status: str
    probability: float


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DealAccepted, dependencies=[permit("deals:write")])
def create_deal(
    body: DealCreate,
    run: Run,
) -> dict[str, object]:
    return run.created(CreateDeal(**body.model_dump()), "/v1/deals")


@router.post("/{deal_id}/stage", response_model=DealAccepted, dependencies=[permit("deals:write")])
def move(
    deal_id: UUID,
    body: DealMove,
    version: ExpectedVersion,
    run: Run,
) -> dict[str, object]:
    return run(MoveDeal(deal_id, body.stage, version))


@router.post("/{deal_id}/win", response_model=DealAccepted, dependencies=[permit("deals:write")])
def win(
    deal_id: UUID,
    body: DealWin,
    version: ExpectedVersion,
    run: Run,
) -> dict[str, object]:
    return run(WinDeal(deal_id, body.amount, body.closed_on, version))


@router.post("/{deal_id}/lose", response_model=DealAccepted, dependencies=[permit("deals:write")])
def lose(
    deal_id: UUID,
    body: DealLose,
    version: ExpectedVersion,
    run: Run,
) -> dict[str, object]:
    return run(LoseDeal(deal_id, body.reason, version))


@router.post("/{deal_id}/reopen", response_model=DealAccepted, dependencies=[permit("deals:write")])
def reopen(
    deal_id: UUID,
    body: DealReopen,
    version: ExpectedVersion,
    run: Run,
) -> dict[str, object]:
    return run(ReopenDeal(deal_id, body.stage, version))


@router.patch("/{deal_id}", response_model=DealAccepted, dependencies=[permit("deals:write")])
def change(
    deal_id: UUID,
    body: DealChange,
    version: ExpectedVersion,
    run: Run,
) -> dict[str, object]:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise Problem(422, "validation_error", "name at least one field to change")
    return run(ChangeDealDetails(deal_id, changes, version))


@router.get("", response_model=Page[DealPublic], dependencies=[permit("deals:read")])
def search_deals(
    services: ServicesDep,
    paging: PagingDep,
    trail: Trail,
    pipeline_id: UUID | None = None,
    stage: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="a stage key")] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    status: Literal["open", "won", "lost"] | None = None,
    contact_id: UUID | None = None,
    account_id: UUID | None = None,
) -> dict[str, object]:
    """Deals matching every filter given, newest first; ``probability`` is the stage's
    current one in its pipeline and ``weighted_amount`` is amount × probability."""
    page = services.deal_queries.deals(
        pipeline_id=str(pipeline_id) if pipeline_id else None,
        stage=stage,
        owner=owner,
        status=status,
        contact_id=str(contact_id) if contact_id else None,
        account_id=str(account_id) if account_id else None,
        limit=paging.limit,
        offset=paging.offset,
    )
    trail.record_all(contact_ids(page.items, "contact_id"))
    return paging.answer(page)


@router.get("/board", response_model=Board, dependencies=[permit("deals:read")])
def deals_board(pipeline_id: UUID, services: ServicesDep) -> dict[str, object]:
    """Per stage of the pipeline (in order, then won and lost): the number of deals, the
    sum of their amounts and of their weighted amounts (amount × the stage's probability);
    and the open deals' totals, the weighted forecast."""
    board = services.deal_queries.board(str(pipeline_id))
    if board is None:
        raise Problem(404, "not_found", f"no pipeline {pipeline_id} in the read model")
    return board


@router.get("/{deal_id}", response_model=DealPublic, dependencies=[permit("deals:read")])
def get_deal(deal_id: UUID, services: ServicesDep, response: Response, trail: Trail) -> dict[str, object]:
    deal = services.deal_queries.deal(str(deal_id))
    if deal is None:
        raise Problem(404, "not_found", f"no deal {deal_id} in the read model")
    trail.record_all(contact_ids([deal], "contact_id"))
    response.headers["ETag"] = f'"{deal["version"]}"'
    return deal
