"""Contact routes: commands in, read model out."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response, status

from api.commands import run
from api.deps import ExpectedVersion, IdempotencyKey, MetaDep, ServicesDep
from api.problems import Problem
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
    MergeAccepted,
)
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


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CommandAccepted)
def create_contact(
    body: ContactCreate, services: ServicesDep, meta: MetaDep, key: IdempotencyKey, response: Response
) -> dict[str, object]:
    command = CreateContact(**{**body.model_dump(), "tags": tuple(body.tags)})
    answer = run(services, command, meta, key, response)
    response.headers["Location"] = f"/v1/contacts/{answer['id']}"
    return answer


@router.patch("/{contact_id}", response_model=CommandAccepted)
def change_contact(
    contact_id: UUID,
    body: ContactChange,
    services: ServicesDep,
    meta: MetaDep,
    version: ExpectedVersion,
    key: IdempotencyKey,
    response: Response,
) -> dict[str, object]:
    changes = body.model_dump(exclude_unset=True)
    consent = changes.pop("consent", None)
    if not changes and consent is None:
        raise Problem(422, "validation_error", "name at least one field to change")
    command = ChangeContactDetails(
        contact_id, changes, version, ConsentChange(**consent) if consent is not None else None
    )
    return run(services, command, meta, key, response)


@router.post("/{contact_id}/interactions", status_code=status.HTTP_201_CREATED, response_model=InteractionAccepted)
def record_interaction(
    contact_id: UUID,
    body: InteractionCreate,
    services: ServicesDep,
    meta: MetaDep,
    version: ExpectedVersion,
    key: IdempotencyKey,
    response: Response,
) -> dict[str, object]:
    command = RecordInteraction(contact_id, body.type, body.occurred_at, body.details, version)
    return run(services, command, meta, key, response)


@router.post("/{contact_id}/lifecycle", response_model=LifecycleAccepted)
def change_lifecycle(
    contact_id: UUID,
    body: LifecycleChange,
    services: ServicesDep,
    meta: MetaDep,
    version: ExpectedVersion,
    key: IdempotencyKey,
    response: Response,
) -> dict[str, object]:
    command = ChangeLifecycleStage(contact_id, body.stage, body.reason, None, version)
    return run(services, command, meta, key, response)


@router.post("/{contact_id}/merge", response_model=MergeAccepted)
def merge_contact(
    contact_id: UUID,
    body: ContactMerge,
    services: ServicesDep,
    meta: MetaDep,
    version: ExpectedVersion,
    key: IdempotencyKey,
    response: Response,
) -> dict[str, object]:
    """This contact is absorbed by ``into``: it becomes read-only and points at it."""
    return run(services, MergeContacts(contact_id, body.into, version), meta, key, response)


@router.post("/{contact_id}/erase", response_model=CommandAccepted)
def erase_contact(
    contact_id: UUID,
    body: ContactErase,
    services: ServicesDep,
    meta: MetaDep,
    key: IdempotencyKey,
    response: Response,
) -> dict[str, object]:
    """Erases the person's personal data (GDPR); the history stays, unreadable."""
    return run(services, EraseContact(contact_id, body.reason), meta, key, response)


@router.get("/{contact_id}", response_model=ContactPublic)
def get_contact(contact_id: UUID, services: ServicesDep, response: Response) -> dict[str, object]:
    contact = services.contact_queries.get(str(contact_id))
    if contact is None:
        raise Problem(404, "not_found", f"no contact {contact_id} in the read model")
    response.headers["ETag"] = f'"{contact["version"]}"'
    return contact
