"""Contract routes: signed for an account or a contact, amended, renewed or terminated;
and the contracts whose renewal falls due."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.access import permit
from api.commands import Run
from api.deps import ExpectedVersion, ServicesDep
from api.params import Day
from api.problems import Problem
from api.reads import Page, PagingDep
from api.schemas import CommandAccepted, Currency, Money
from api.trail import Trail, contact_ids
from commands.contract import AmendContract, RenewContract, SignContract, TerminateContract

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])

ContractStatus = Literal["active", "terminated", "lapsed"]


class ContractSign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    starts_on: date
    ends_on: date
    value: Money
    currency: Currency = "EUR"
    account_id: UUID | None = None
    contact_id: UUID | None = None
    renewal_days: int = Field(60, ge=0, le=3650, description="days before the end when the renewal deal opens")

    @model_validator(mode="after")
    def _one_party(self) -> ContractSign:
        if (self.contact_id is None) == (self.account_id is None):
            raise ValueError("give exactly one of contact_id and account_id")
        return self


class ContractAmend(BaseModel):
    """Only the fields present change; the reason is required."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)
    title: str | None = Field(None, min_length=1, max_length=200)
    ends_on: date | None = None
    value: Money | None = None
    renewal_days: int | None = Field(None, ge=0, le=3650)


class ContractRenew(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ends_on: date = Field(description="the new term runs from the day after the current end to this day")
    value: Money


class ContractTerminate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500)
    effective_on: date | None = Field(None, description="default: today")


class ContractAnswer(CommandAccepted):
    status: str | None = None
    ends_on: date | None = None
    renewal_due_on: date | None = None


class ContractPublic(BaseModel):
    id: UUID
    account_id: UUID | None
    account_name: str | None
    contact_id: UUID | None
    contact_name: str | None
    title: str
    status: str
    starts_on: date
    ends_on: date
    value: Decimal
    currency: str
    renewal_days: int
    renewal_due_on: date = Field(description="renewal_days before the end")
    renewal_deal_id: UUID | None = Field(description="the renewal deal opened for the current term")
    end_reason: str | None
    ended_on: date | None = Field(description="the day a terminated contract stops, or a lapsed one's last day")
    signed_at: datetime
    ended_at: datetime | None
    updated_at: datetime
    version: int


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=ContractAnswer, dependencies=[permit("contracts:write")]
)
def sign(body: ContractSign, run: Run) -> dict[str, object]:
    """For exactly one account or one contact."""
    return run.created(SignContract(**body.model_dump()), "/v1/contracts")


@router.post("/{contract_id}/amend", response_model=ContractAnswer, dependencies=[permit("contracts:write")])
def amend(contract_id: UUID, body: ContractAmend, version: ExpectedVersion, run: Run) -> dict[str, object]:
    changes = body.model_dump(exclude_unset=True, exclude={"reason"})
    if not changes or any(value is None for value in changes.values()):
        raise Problem(422, "validation_error", "name at least one field to amend, each with a value")
    return run(AmendContract(contract_id, body.reason, expected_version=version, **changes))


@router.post("/{contract_id}/renew", response_model=ContractAnswer, dependencies=[permit("contracts:write")])
def renew(contract_id: UUID, body: ContractRenew, version: ExpectedVersion, run: Run) -> dict[str, object]:
    return run(RenewContract(contract_id, body.ends_on, body.value, version))


@router.post("/{contract_id}/terminate", response_model=ContractAnswer, dependencies=[permit("contracts:write")])
def terminate(contract_id: UUID, body: ContractTerminate, version: ExpectedVersion, run: Run) -> dict[str, object]:
    """Early, with a reason; a terminated or lapsed contract is never ended again."""
    return run(TerminateContract(contract_id, body.reason, body.effective_on, version))


@router.get("", response_model=Page[ContractPublic], dependencies=[permit("contracts:read")])
def search_contracts(
    services: ServicesDep,
    paging: PagingDep,
    trail: Trail,
    account_id: UUID | None = None,
    contact_id: UUID | None = None,
    status: ContractStatus | None = None,
) -> dict[str, object]:
    """Contracts by end date, the nearest first."""
    page = services.contract_queries.contracts(
        account_id=str(account_id) if account_id else None,
        contact_id=str(contact_id) if contact_id else None,
        status=status,
        limit=paging.limit,
        offset=paging.offset,
    )
    trail.record_all(contact_ids(page.items, "contact_id"))
    return paging.answer(page)


@router.get("/due-for-renewal", response_model=Page[ContractPublic], dependencies=[permit("contracts:read")])
def due_for_renewal(
    services: ServicesDep,
    paging: PagingDep,
    trail: Trail,
    on: Day | None = None,
    renewal_open: bool | None = None,
) -> dict[str, object]:
    """Active contracts whose renewal falls due on or before ``on`` (default: today), the
    earliest due first; ``renewal_open``: whether a renewal deal is open for the term."""
    day = on or datetime.now(UTC).date()
    page = services.contract_queries.due_for_renewal(day, renewal_open, paging.limit, paging.offset)
    trail.record_all(contact_ids(page.items, "contact_id"))
    return paging.answer(page)


@router.get("/{contract_id}", response_model=ContractPublic, dependencies=[permit("contracts:read")])
def get_contract(contract_id: UUID, services: ServicesDep, response: Response, trail: Trail) -> dict[str, object]:
    contract = services.contract_queries.contract(str(contract_id))
    if contract is None:
        raise Problem(404, "not_found", f"no contract {contract_id} in the read model")
    trail.record_all(contact_ids([contract], "contact_id"))
    response.headers["ETag"] = f'"{contract["version"]}"'
    return contract
