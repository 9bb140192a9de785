"""Contacts: search as you type, a contact's page (details, score, stage, consent, tags,
deals, cases) and its timeline, kept live by polling.

Reads go through the read-model queries the API uses; every page that shows a person's
data records the read in the access trail, under the page's route, as the API's routes do.
"""

from __future__ import annotations

import time
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api.params import MAX_SCORE
from api.problems import Problem
from commands.contact import ChangeLifecycleStage, RecordInteraction
from commands.errors import NotFound
from domain.contact import LIFECYCLE_STAGES
from domain.scoring import INTERACTION_TYPES
from replay.history import HistoryEntry
from web.pages import PREFIX, Viewer, is_htmx, page_permit, render

router = APIRouter(prefix=f"{PREFIX}/contacts", include_in_schema=False)

Reader = Annotated[Viewer, page_permit("contacts:read")]
StageWriter = Annotated[Viewer, page_permit("contacts:write")]
InteractionWriter = Annotated[Viewer, page_permit("interactions:write")]
PAGE_SIZE = 25
TIMELINE_SIZE = 50
#: Seconds between two checks of an open contact page for new events (see docs/WEB.md).
POLL_SECONDS = 2

Text = Annotated[str | None, Query(max_length=200)]


async def _filters(
    q: Text = None,
    email: Annotated[str | None, Query(max_length=320)] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    lifecycle_stage: Text = None,
    owner: Text = None,
    min_score: Annotated[str | None, Query(max_length=20)] = None,
    max_score: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    """The search form's values, blanks dropped, checked as the API checks them: a bad
    value answers 422 with the reason, shown beside the form."""
    given = {
        "q": q,
        "email": email,
        "tag": tag,
        "lifecycle_stage": lifecycle_stage,
        "owner": owner,
        "min_score": min_score,
        "max_score": max_score,
    }
    found: dict[str, Any] = {k: v.strip() for k, v in given.items() if v is not None and v.strip()}
    if "lifecycle_stage" in found and found["lifecycle_stage"] not in LIFECYCLE_STAGES:
        raise Problem(422, "validation_error", f"lifecycle stage must be one of {', '.join(LIFECYCLE_STAGES)}")
    for bound in ("min_score", "max_score"):
        if bound in found:
            try:
                found[bound] = int(found[bound])
            except ValueError:
                raise Problem(422, "validation_error", f"{bound.replace('_', ' ')} must be a whole number") from None
            if abs(found[bound]) > MAX_SCORE:
                raise Problem(422, "validation_error", f"{bound.replace('_', ' ')} is beyond any lead score")
    if found.get("min_score", -MAX_SCORE) > found.get("max_score", MAX_SCORE):
        raise Problem(
            422, "validation_error", f"min score {found['min_score']} is above max score {found['max_score']}"
        )
    return found


def _results(viewer: Viewer, filters: dict[str, Any], page: int) -> dict[str, Any]:
    found = viewer.services.contact_queries.search(**filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    viewer.trail().record_all(item["id"] for item in found.items)
    return {
        "contacts": viewer.show(found.items),
        "total": found.total,
        "page": page,
        "pages": max(1, -(-found.total // PAGE_SIZE)),
        "query": urlencode(filters),
        "filters": filters,
        "stages": LIFECYCLE_STAGES,
    }


Filters = Annotated[dict[str, Any], Depends(_filters)]
PageNumber = Annotated[int, Query(ge=1, le=100_000)]


@router.get("", response_class=HTMLResponse)
def contacts_page(
    request: Request,
    viewer: Reader,
    filters: Filters,
    page: PageNumber = 1,
) -> HTMLResponse:
    return render(request, "contacts.html", viewer, **_results(viewer, filters, page))


@router.get("/results", response_class=HTMLResponse)
def contacts_results(
    request: Request,
    viewer: Reader,
    filters: Filters,
    page: PageNumber = 1,
) -> HTMLResponse:
    """The result list alone, for the search form's htmx requests; the address bar follows."""
    values = _results(viewer, filters, page)
    shown = f"{PREFIX}/contacts" + (f"?{values['query']}" if values["query"] else "")
    return render(request, "contacts_results.html", viewer, headers={"HX-Push-Url": shown}, **values)


def _contact(viewer: Viewer, contact_id: UUID) -> dict[str, Any]:
    contact = viewer.services.contact_queries.get(str(contact_id))
    if contact is None:
        raise Problem(404, "not_found", f"no contact {contact_id} (it may be moments from the read model)")
    return contact


def _causes(viewer: Viewer, contact_id: UUID) -> dict[int, HistoryEntry]:
    """Why each event happened (its causation and correlation ids), which only the event
    store keeps: by position, to join to the read model's timeline."""
    try:
        return {entry.position: entry for entry in viewer.services.audit.history(contact_id)}
    except NotFound:  # an event store that lost the contact while its row stays: no causes to show
        return {}


def _live(viewer: Viewer, contact_id: UUID, page: int = 1) -> dict[str, Any]:
    """The parts of the contact page that change as events arrive."""
    services = viewer.services
    contact = _contact(viewer, contact_id)
    timeline = services.contact_queries.timeline(str(contact_id), TIMELINE_SIZE, (page - 1) * TIMELINE_SIZE)
    causes = _causes(viewer, contact_id)
    entries = []
    for item in timeline.items:
        cause = causes.get(item["position"])
        entries.append(
            {
                **item,
                "causation_id": cause.causation_id if cause else None,
                "correlation_id": cause.correlation_id if cause else None,
            }
        )
    deals = services.deal_queries.deals(contact_id=str(contact_id), limit=100).items
    cases = services.case_queries.search(contact_id=str(contact_id), limit=100).items
    viewer.trail().record(contact_id)
    return {
        "contact": viewer.show(contact),
        "timeline": entries,
        "timeline_total": timeline.total,
        "timeline_page": page,
        "timeline_pages": max(1, -(-timeline.total // TIMELINE_SIZE)),
        "deals": viewer.show(deals),
        "cases": viewer.show(cases),
        "mark": _mark(viewer, contact_id),
        "poll_seconds": POLL_SECONDS,
        "stages": LIFECYCLE_STAGES,
        "interaction_types": INTERACTION_TYPES,
    }


def _mark(viewer: Viewer, contact_id: UUID) -> str:
    """What the page shows is current while this stays the same: the contact's version and
    its timeline's newest position and length (deals and cases write to the timeline too)."""
    contact = viewer.services.contact_queries.get(str(contact_id))
    newest = viewer.services.contact_queries.timeline(str(contact_id), 1, 0)
    top = newest.items[0]["position"] if newest.items else 0
    return f"{contact['version'] if contact else 0}-{newest.total}-{top}"


@router.get("/{contact_id}", response_class=HTMLResponse)
def contact_page(request: Request, contact_id: UUID, viewer: Reader, page: PageNumber = 1) -> HTMLResponse:
    return render(request, "contacts_detail.html", viewer, **_live(viewer, contact_id, page))


@router.get("/{contact_id}/live", response_class=HTMLResponse)
def contact_live(
    request: Request, contact_id: UUID, viewer: Reader, mark: Annotated[str, Query(max_length=100)] = ""
) -> Response:
    """Polled by an open contact page: 204 (nothing to swap, nothing read) while nothing
    changed; the refreshed details and timeline once something did. Only the latter shows
    personal data, so only it is recorded in the access trail."""
    if _contact(viewer, contact_id) and _mark(viewer, contact_id) == mark:
        return Response(status_code=204)
    return render(request, "contacts_live.html", viewer, **_live(viewer, contact_id))


#: How long a command's answer waits for the read model to show it (projectors run apart).
PROJECTION_WAIT = 3.0


def _after_command(request: Request, viewer: Viewer, contact_id: UUID, version: int) -> Response:
    """The refreshed contact for htmx, once the read model holds ``version`` (or the wait
    ran out: the poll catches up); a plain form goes back to the contact's page."""
    if not is_htmx(request):
        return RedirectResponse(f"{PREFIX}/contacts/{contact_id}", status_code=303)
    deadline = time.monotonic() + PROJECTION_WAIT
    while time.monotonic() < deadline:
        contact = viewer.services.contact_queries.get(str(contact_id))
        if contact is not None and contact["version"] >= version:
            break
        time.sleep(0.05)
    return render(request, "contacts_live.html", viewer, **_live(viewer, contact_id))


@router.post("/{contact_id}/lifecycle", response_class=HTMLResponse)
def change_stage(
    request: Request,
    contact_id: UUID,
    viewer: StageWriter,
    stage: Annotated[str, Form(max_length=50)],
) -> Response:
    """A refused move (backwards along the funnel, a merged contact…) answers the rule."""
    result = viewer.run(ChangeLifecycleStage(contact_id, stage))
    return _after_command(request, viewer, contact_id, result.version)


@router.post("/{contact_id}/interactions", response_class=HTMLResponse)
def record_interaction(
    request: Request,
    contact_id: UUID,
    viewer: InteractionWriter,
    interaction_type: Annotated[str, Form(alias="type", max_length=50)],
) -> Response:
    result = viewer.run(RecordInteraction(contact_id, interaction_type))
    return _after_command(request, viewer, contact_id, result.version)
