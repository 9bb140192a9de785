"""Account routes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.access import permit
from api.commands import Run
from api.deps import ExpectedVersion, ServicesDep
from api.problems import Problem
from api.reads import AccountDetail, AccountPublic, Page, PagingDep
from api.schemas import CommandAccepted
from api.trail import Trail, contact_ids
from commands.account import AddContactToAccount, ChangeAccountDetails, CreateAccount, RemoveContactFromAccount

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    domain: str | None = Field(None, max_length=253, description="the company's web domain")
    industry: str | None = Field(None, max_length=100)
    size: str | None = Field(None, max_length=50)
    owner: str | None = Field(None, max_length=200)


class AccountChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    domain: str | None = Field(None, max_length=253)
    industry: str | None = Field(None, max_length=100)
    size: str | None = Field(None, max_length=50)
    owner: str | None = Field(None, max_length=200)


class AccountMember(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: UUID


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=CommandAccepted, dependencies=[permit("accounts:write")]
)
def create_account(
    body: AccountCreate,
    run: Run,
) -> dict[str, object]:
    return run.created(CreateAccount(**body.model_dump()), "/v1/accounts")


@router.patch("/{account_id}", response_model=CommandAccepted, dependencies=[permit("accounts:write")])
def change_account(
    account_id: UUID,
    body: AccountChange,
    version: ExpectedVersion,
    run: Run,
) -> dict[str, object]:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise Problem(422, "validation_error", "name at least one field to change")
    return run(ChangeAccountDetails(account_id, changes, version))


@router.post("/{account_id}/contacts", response_model=CommandAccepted, dependencies=[permit("accounts:write")])
def add_contact(
    account_id: UUID,
    body: AccountMember,
    run: Run,
) -> dict[str, object]:
    """The contact joins the account (and leaves its previous one)."""
    return run(AddContactToAccount(account_id, body.contact_id))


@router.delete(
    "/{account_id}/contacts/{contact_id}", response_model=CommandAccepted, dependencies=[permit("accounts:write")]
)
def remove_contact(
    account_id: UUID,
    contact_id: UUID,
    run: Run,
) -> dict[str, object]:
    return run(RemoveContactFromAccount(account_id, contact_id))


@router.get("", response_model=Page[AccountPublic], dependencies=[permit("accounts:read")])
def search_accounts(
    services: ServicesDep,
    paging: PagingDep,
    q: Annotated[str | None, Query(max_length=200, description="part of the name, any case or accents")] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, object]:
    """Accounts by name."""
    return paging.answer(services.account_queries.search(q, owner, paging.limit, paging.offset))


@router.get("/{account_id}", response_model=AccountDetail, dependencies=[permit("accounts:read")])
def get_account(account_id: UUID, services: ServicesDep, response: Response, trail: Trail) -> dict[str, object]:
    """The account with its contacts, in the order they joined."""
    account = services.account_queries.get(str(account_id))
    if account is None:
        raise Problem(404, "not_found", f"no account {account_id} in the read model")
    trail.record_all(contact_ids(account["contacts"]))
    response.headers["ETag"] = f'"{account["version"]}"'
    return account
