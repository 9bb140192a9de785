"""Contact routes: commands in, read model out."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter, Response, status

from api.deps import ServicesDep, ExpectedVersion, MetaDep
from api.problems import Problem
from api.schemas import (
    CommandAccepted,
    ContactChange,
    ContactCreate,
    ContactPublic,
    InteractionAccepted,
    InteractionCreate,
)
from commands.contact import ChangeContactDetails, CreateContact, RecordInteraction
from commands.results import CommandResult

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])


def _accepted(result: CommandResult, response: Response) -> dict[str, object]:
    response.headers["ETag"] = f'"{result.version}"'
    return {"id": result.id, "version": result.version, "position": result.position, **result.extra}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CommandAccepted)
def create_contact(body: ContactCreate, services: ServicesDep, meta: MetaDep, response: Response) -> dict[str, object]:
    command = CreateContact(**{**body.model_dump(), "tags": tuple(body.tags)})
    result = services.contacts.create(command, meta)
    response.headers["Location"] = f"/v1/contacts/{result.id}"
    return _accepted(result, response)


@router.patch("/{contact_id}", response_model=CommandAccepted)
def change_contact(
    contact_id: UUID,
    body: ContactChange,
    services: ServicesDep,
    meta: MetaDep,
    version: ExpectedVersion,
    response: Response,
) -> dict[str, object]:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise Problem(422, "validation_error", "name at least one field to change")
    result = services.contacts.change_details(ChangeContactDetails(contact_id, changes, version), meta)
    return _accepted(result, response)


@router.post("/{contact_id}/interactions", status_code=status.HTTP_201_CREATED, response_model=InteractionAccepted)
def record_interaction(
    contact_id: UUID,
    body: InteractionCreate,
    services: ServicesDep,
    meta: MetaDep,
    version: ExpectedVersion,
    response: Response,
) -> dict[str, object]:
    command = RecordInteraction(
        contact_id=contact_id,
        interaction_type=body.type,
        occurred_at=body.occurred_at or datetime.now(UTC),
        details=body.details,
        expected_version=version,
    )
    return _accepted(services.contacts.record_interaction(command, meta), response)


@router.get("/{contact_id}", response_model=ContactPublic)
def get_contact(contact_id: UUID, services: ServicesDep, response: Response) -> dict[str, object]:
    contact = services.contact_queries.get(str(contact_id))
    if contact is None:
        raise Problem(404, "not_found", f"no contact {contact_id} in the read model")
    response.headers["ETag"] = f'"{contact["version"]}"'
    return contact
