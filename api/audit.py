"""Audit routes: a contact's complete history, its state as of any moment, the DSAR export
and the audit trail of a period, all read from the event store (never the read models);
and the access trail: who read a contact's data.

With API keys configured, these routes need a key too: they show personal data.
Times are RFC 3339 with a zone (``2026-03-01T09:30:00Z``; write ``+`` as ``%2B`` in a URL).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api.access import permit
from api.deps import ServicesDep, authenticated_actor
from api.params import Instant
from api.reads import Page, PagingDep
from api.trail import Trail
from projections.oltp.queries import Page as QueryPage
from replay.exports import json_array

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/audit", tags=["audit"])

AsOf = Annotated[
    Instant | None,
    Query(description="Only what was recorded at or before this time (RFC 3339 with a zone); default: now"),
]


class HistoryEntryPublic(BaseModel):
    """One event. ``time``: when the event store recorded it; ``occurred_at``: the business
    time the event states, if any; ``position``: its place in the event store's log."""

    position: int
    time: datetime
    aggregate_type: str
    aggregate_id: UUID
    version: int
    type: str
    actor: str
    correlation_id: str
    causation_id: str
    occurred_at: datetime | None
    summary: str
    data: dict[str, Any]


class PastStatePublic(BaseModel):
    """The contact rebuilt from its events recorded at or before ``as_of``: ``version`` and
    ``position`` name the last of them."""

    as_of: datetime | None
    version: int
    position: int | None
    state: dict[str, Any]


class DsarPublic(BaseModel):
    contact_id: UUID
    exported_at: datetime
    contact: PastStatePublic
    deals: list[PastStatePublic]
    cases: list[PastStatePublic]
    contracts: list[PastStatePublic]
    activities: list[PastStatePublic] = Field(description="about the contact, or about its deals and cases")
    history: list[HistoryEntryPublic]


def _json_stream(model: type[BaseModel] | Any, description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "description": description, "content": {"application/json": {}}}}


@router.get(
    "/contacts/{contact_id}/history",
    dependencies=[permit("audit:read")],
    response_class=StreamingResponse,
    responses=_json_stream(list[HistoryEntryPublic], "A JSON array, streamed, in event-store order"),
)
def contact_history(contact_id: UUID, services: ServicesDep, trail: Trail, as_of: AsOf = None) -> StreamingResponse:
    """Every event of the contact and of its deals, cases, contracts and activities, in
    event-store order, up to ``as_of``, with who did it (actor) and why (correlation and
    causation ids)."""
    entries = services.audit.history(contact_id, as_of)  # 404 before the first byte
    trail.record(contact_id)
    return StreamingResponse(json_array(entries), media_type="application/json")


@router.get("/contacts/{contact_id}/state", response_model=PastStatePublic, dependencies=[permit("audit:read")])
def contact_state(contact_id: UUID, services: ServicesDep, trail: Trail, as_of: AsOf = None) -> dict[str, Any]:
    """The contact as it was at ``as_of``, rebuilt from the event store."""
    state = services.audit.state(contact_id, as_of).as_dict()
    trail.record(contact_id)
    return state


@router.get(
    "/contacts/{contact_id}/export",
    dependencies=[permit("audit:export")],
    response_class=StreamingResponse,
    responses=_json_stream(DsarPublic, "One JSON document, streamed"),
)
def contact_export(
    contact_id: UUID, services: ServicesDep, trail: Trail, actor: Annotated[str, Depends(authenticated_actor)]
) -> StreamingResponse:
    """Data subject access request: everything held about one person (the contact's
    state, its deals, cases, contracts and activities, and the complete history of all of
    them)."""
    chunks = services.audit.dsar(contact_id)  # 404 before the first byte
    trail.record(contact_id)
    log.info("DSAR export of contact %s for %s", contact_id, actor)
    return StreamingResponse(
        chunks,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="dsar-{contact_id}.json"'},
    )


@router.get(
    "/trail",
    dependencies=[permit("audit:export")],
    response_class=StreamingResponse,
    responses={200: {"description": "CSV, streamed: a header line, then one per event", "content": {"text/csv": {}}}},
)
def audit_trail(
    services: ServicesDep,
    start: Annotated[Instant, Query(alias="from", description="Recorded at or after this time")],
    end: Annotated[Instant, Query(alias="to", description="…and before this time")],
) -> StreamingResponse:
    """The audit trail of a period: every event of every aggregate recorded in it."""
    chunks = services.audit.trail_csv(start, end)  # 422 before the first byte
    name = f"audit-{start:%Y%m%dT%H%M%S}-{end:%Y%m%dT%H%M%S}.csv"
    return StreamingResponse(
        chunks, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


class AccessPublic(BaseModel):
    """One read of a person's data: who (``actor``: the API key's name, ``cli:<user>`` from
    the command line), when (``at``, UTC) and through which route (its template, or the
    ``crm`` command)."""

    id: int
    at: datetime
    actor: str
    route: str
    contact_id: UUID


@router.get("/access", response_model=Page[AccessPublic], dependencies=[permit("audit:read")])
def access_trail(
    services: ServicesDep,
    paging: PagingDep,
    contact_id: Annotated[UUID, Query(description="the contact whose reads to list")],
) -> dict[str, object]:
    """The access trail of one contact: every read of its data (the contact, its timeline,
    its history and state, a DSAR export, a list that showed it), oldest first. Kept after
    the contact is erased; it holds ids, callers and routes only."""
    entries, total = services.access_trail.page(contact_id, paging.limit, paging.offset)
    return paging.answer(QueryPage([entry.as_dict() for entry in entries], total))
