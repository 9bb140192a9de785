"""Audit, for auditors: a contact's complete history with an as-of control (a slider over
the history's instants and a date-and-time field) showing the contact as it stood then,
the event store's hash-chain verification, the DSAR and audit-trail downloads, and the
access trail. Everything is read from the event store through ``replay`` (the objects the
API's audit routes use), never from a read model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from api.problems import Problem
from commands.limits import EARLIEST, LATEST
from replay.history import HistoryEntry
from web.pages import PREFIX, Viewer, page_permit, render

router = APIRouter(prefix=f"{PREFIX}/audit", include_in_schema=False)

Auditor = Annotated[Viewer, page_permit("audit:read")]
Exporter = Annotated[Viewer, page_permit("audit:export")]
When = Annotated[str | None, Query(max_length=40)]
#: Rows of the access trail shown on a contact's audit page: the latest, oldest first.
ACCESS_ROWS = 100


def instant(value: str | None, name: str) -> datetime | None:
    """RFC 3339 with a zone, or a browser's ``datetime-local`` value (no zone: read as UTC,
    which the form says)."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Problem(422, "validation_error", f"{name} must be a date and time like 2026-03-01T09:30") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not EARLIEST <= parsed.date() <= LATEST:
        raise Problem(422, "validation_error", f"{name} must fall between {EARLIEST} and {LATEST}")
    return parsed


def local_value(moment: datetime | None) -> str:
    """The value a ``datetime-local`` field shows for ``moment`` (in UTC, to the second)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if moment else ""


@router.get("", response_class=HTMLResponse)
def audit_home(request: Request, viewer: Auditor) -> HTMLResponse:
    return render(request, "audit.html", viewer, may_export=viewer.may("audit:export"))


@router.get("/verify", response_class=HTMLResponse)
def verify(request: Request, viewer: Auditor) -> HTMLResponse:
    """The whole event store walked, every hash link checked (a fragment for the button)."""
    verdict = viewer.services.verify(False)
    return render(request, "audit_verdict.html", viewer, verdict=verdict)


def _state(viewer: Viewer, contact_id: UUID, as_of: datetime | None, history: list[HistoryEntry]) -> dict[str, Any]:
    """The contact as it stood at ``as_of`` (now when None), and where that falls in its history."""
    past = viewer.services.audit.state(contact_id, as_of).as_dict()
    upto = sum(1 for entry in history if as_of is None or entry.time <= as_of)
    return {
        "past": viewer.show(past["state"]),
        "past_version": past["version"],
        "past_position": past["position"],
        "as_of": as_of,
        "as_of_value": local_value(as_of),
        "upto": upto,
    }


def _as_of(history: list[HistoryEntry], at: int | None, as_of: str | None) -> datetime | None:
    """The slider names an event of the history (by its index), the field a moment."""
    if at is not None:
        if not 0 <= at < len(history):
            raise Problem(
                422, "validation_error", f"at must name one of the {len(history)} events (0 to {len(history) - 1})"
            )
        return history[at].time
    return instant(as_of, "as of")


@router.get("/contacts")
def open_contact(viewer: Auditor, contact: Annotated[str, Query(alias="id", max_length=100)]) -> RedirectResponse:
    """The id typed on the audit page."""
    try:
        contact_id = UUID(contact.strip())
    except ValueError:
        raise Problem(422, "validation_error", f"{contact!r} is not a contact id (a UUID)") from None
    return RedirectResponse(f"{PREFIX}/audit/contacts/{contact_id}", status_code=303)


@router.get("/contacts/{contact_id}", response_class=HTMLResponse)
def contact_audit(
    request: Request,
    contact_id: UUID,
    viewer: Auditor,
    as_of: When = None,
    at: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
) -> HTMLResponse:
    """The complete history, the state as of the chosen moment, the access trail."""
    services = viewer.services
    history = list(services.audit.history(contact_id))  # NotFound → the 404 page
    moment = _as_of(history, at, as_of)
    state = _state(viewer, contact_id, moment, history)
    entries, total = services.access_trail.page(contact_id, ACCESS_ROWS, 0)
    if total > ACCESS_ROWS:  # the latest reads matter most
        entries, total = services.access_trail.page(contact_id, ACCESS_ROWS, total - ACCESS_ROWS)
    viewer.trail().record(contact_id)
    return render(
        request,
        "audit_contact.html",
        viewer,
        contact_id=contact_id,
        history=[entry.as_dict(with_data=False) for entry in history],
        accesses=[entry.as_dict() for entry in entries],
        accesses_total=total,
        may_export=viewer.may("audit:export"),
        **state,
    )


@router.get("/contacts/{contact_id}/state", response_class=HTMLResponse)
def contact_state(
    request: Request,
    contact_id: UUID,
    viewer: Auditor,
    as_of: When = None,
    at: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
) -> HTMLResponse:
    """The as-of panel alone, for the slider and the field (htmx)."""
    history = list(viewer.services.audit.history(contact_id))
    moment = _as_of(history, at, as_of)
    state = _state(viewer, contact_id, moment, history)
    viewer.trail().record(contact_id)
    shown = f"{PREFIX}/audit/contacts/{contact_id}" + (f"?at={at}" if at is not None else "")
    if at is None and moment is not None:
        shown = f"{PREFIX}/audit/contacts/{contact_id}?as_of={local_value(moment)}"
    return render(
        request,
        "audit_state.html",
        viewer,
        headers={"HX-Push-Url": shown},
        contact_id=contact_id,
        move_slider=at is None,  # the field chose the moment: the slider follows it
        history=[entry.as_dict(with_data=False) for entry in history],
        **state,
    )


@router.get("/contacts/{contact_id}/export")
def contact_export(contact_id: UUID, viewer: Exporter) -> StreamingResponse:
    """The DSAR document, as the API's export answers it."""
    chunks = viewer.services.audit.dsar(contact_id)  # 404 before the first byte
    viewer.trail().record(contact_id)
    return StreamingResponse(
        chunks,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="dsar-{contact_id}.json"'},
    )


@router.get("/trail.csv")
def trail_csv(
    viewer: Exporter,
    start: Annotated[str, Query(alias="from", max_length=40)],
    end: Annotated[str, Query(alias="to", max_length=40)],
) -> StreamingResponse:
    """Every event recorded in a period, as the API's audit trail answers it."""
    begin, finish = instant(start, "from"), instant(end, "to")
    if begin is None or finish is None:
        raise Problem(422, "validation_error", "give both ends of the period")
    chunks = viewer.services.audit.trail_csv(begin, finish)  # 422 before the first byte
    name = f"audit-{begin:%Y%m%dT%H%M%S}-{finish:%Y%m%dT%H%M%S}.csv"
    return StreamingResponse(
        chunks, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
