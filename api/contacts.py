"""Contact routes: commands in, read model out."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from api.access import permit
from api.commands import Run
from api.deps import ExpectedVersion, ServicesDep
from api.params import Score
from api.problems import Problem
from api.reads import DuplicateGroup, Page, PagingDep, TimelineEntry
from api.schemas import (
    CommandAccepted,
    ContactChange,
    ContactCreate,
    ContactErase,
    ContactMerge,
    ContactPublic,
    InteractionAccepted,
    InteractionCreate,
    LifecycleAccepted,
    LifecycleChange,
    LifecycleStage,
    MergeAccepted,
)
from api.trail import Trail, contact_ids
from commands.contact import (
    ChangeContactDetails,
    ChangeLifecycleStage,
    ConsentChange,
    CreateContact,
    EraseContact,
    MergeContacts,
    RecordInteraction,
)

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=CommandAccepted, dependencies=[permit("contacts:write")]
)
def create_contact(
    body: ContactCreate,
    run: Run,
) -> dict[str, object]:
    command = CreateContact(**{**body.model_dump(), "tags": tuple(body.tags)})
    return run.created(command, "/v1/contacts")


@router.patch("/{contact_id}", response_model=CommandAccepted, dependencies=[permit("contacts:write")])
def change_contact(
    contact_id: UUID,
    body: ContactChange,
    version: ExpectedVersion,
    run: Run,
) -> dict[str, object]:
    changes = body.model_dump(exclude_unset=True)
    consent = changes.pop("consent", None)
    if not changes and consent is None:
        raise Problem(422, "validation_error", "name at least one field to change")
    command = ChangeContactDetails(
        contact_id, changes, version, ConsentChange(**consent) if consent is not None else None
    )
    return run(command)


@router.post(
    "/{contact_id}/interactions",
    status_code=status.HTTP_201_CREATED,
    response_model=InteractionAccepted,
    dependencies=[permit("interactions:write")],
)
def record_interaction(
    contact_id: UUID,
    body: InteractionCreate,
    version: ExpectedVersion,
    run: Run,
) -> dict[str, object]:
    command = RecordInteraction(contact_id, body.type, body.occurred_at, body.details, version)
    return run(command)


@router.post("/{contact_id}/lifecycle", response_model=LifecycleAccepted, dependencies=[permit("contacts:write")])
def change_lifecycle(
    contact_id: UUID,
    body: LifecycleChange,
    version: ExpectedVersion,
    run: Run,
) -> dict[str, object]:
    command = ChangeLifecycleStage(contact_id, body.stage, body.reason, None, version)
    return run(command)


@router.post("/{contact_id}/merge", response_model=MergeAccepted, dependencies=[permit("contacts:merge")])
def merge_contact(
    contact_id: UUID,
    body: ContactMerge,
    version: ExpectedVersion,
    run: Run,
) -> dict[str, object]:
    """This contact is absorbed by ``into``: it becomes read-only and points at it."""
    return run(MergeContacts(contact_id, body.into, version))


@router.post("/{contact_id}/erase", response_model=CommandAccepted, dependencies=[permit("contacts:erase")])
def erase_contact(
    contact_id: UUID,
    body: ContactErase,
    run: Run,
) -> dict[str, object]:
    """Erases the person's personal data (GDPR); the history stays, unreadable."""
    return run(EraseContact(contact_id, body.reason))


@router.get("", response_model=Page[ContactPublic], dependencies=[permit("contacts:read")])
def search_contacts(
    services: ServicesDep,
    paging: PagingDep,
    trail: Trail,
    q: Annotated[str | None, Query(max_length=200, description="part of the name, any case or accents")] = None,
    email: Annotated[str | None, Query(max_length=320, description="the whole address, any case")] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    lifecycle_stage: LifecycleStage | None = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    account_id: UUID | None = None,
    min_score: Score | None = None,
    max_score: Score | None = None,
) -> dict[str, object]:
    """Contacts matching every filter given, newest first."""
    if min_score is not None and max_score is not None and min_score > max_score:
        raise Problem(422, "validation_error", f"min_score {min_score} is above max_score {max_score}")
    page = services.contact_queries.search(
        q=q,
        email=email,
        tag=tag,
        lifecycle_stage=lifecycle_stage,
        owner=owner,
        min_score=min_score,
        max_score=max_score,
        account_id=str(account_id) if account_id else None,
        limit=paging.limit,
        offset=paging.offset,
    )
    trail.record_all(contact_ids(page.items))
    return paging.answer(page)


@router.get("/duplicates", response_model=Page[DuplicateGroup], dependencies=[permit("contacts:read")])
def duplicate_contacts(
    services: ServicesDep, paging: PagingDep, trail: Trail, reason: Literal["email", "phone", "name"] | None = None
) -> dict[str, object]:
    """Groups of active contacts that may be one person: the same email (lower-case,
    trimmed), the same phone digits (at least 7), or, within one account, names equal or
    very similar once normalised (accents, case, punctuation and word order ignored;
    difflib ratio at least 0.85). Erased and merged contacts are never listed."""
    page = services.contact_queries.duplicates(reason, paging.limit, paging.offset)
    trail.record_all(contact_ids(contact for group in page.items for contact in group["contacts"]))
    return paging.answer(page)


@router.get("/{contact_id}/timeline", response_model=Page[TimelineEntry], dependencies=[permit("contacts:read")])
def contact_timeline(contact_id: UUID, services: ServicesDep, paging: PagingDep, trail: Trail) -> dict[str, object]:
    """Everything that happened to the contact, newest first: its own events, those of
    its deals and cases, and the campaigns sent to it."""
    if services.contact_queries.get(str(contact_id)) is None:
        raise Problem(404, "not_found", f"no contact {contact_id} in the read model")
    page = services.contact_queries.timeline(str(contact_id), paging.limit, paging.offset)
    trail.record(contact_id)
    return paging.answer(page)


@router.get("/{contact_id}", response_model=ContactPublic, dependencies=[permit("contacts:read")])
def get_contact(contact_id: UUID, services: ServicesDep, response: Response, trail: Trail) -> dict[str, object]:
    contact = services.contact_queries.get(str(contact_id))
    if contact is None:
        raise Problem(404, "not_found", f"no contact {contact_id} in the read model")
    trail.record(contact_id)
    response.headers["ETag"] = f'"{contact["version"]}"'
    return contact
