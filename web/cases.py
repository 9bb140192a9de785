"""The case queue: breached cases first, then the nearest deadline, each with the time left,
and the case's life as forms that run the API's commands (assign, respond, resolve, reopen
within the window, close). A refused action shows the rule's message and records nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, get_args
from urllib.parse import parse_qsl, urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.problems import Problem
from api.trail import contact_ids
from commands.case import AssignCase, CloseCase, ReopenCase, ResolveCase, RespondToCase
from commands.results import CommandResult
from web.pages import PREFIX, Refusal, Viewer, is_htmx, page_permit, render

router = APIRouter(prefix=f"{PREFIX}/cases", include_in_schema=False)

ReadCases = Annotated[Viewer, page_permit("cases:read")]
WriteCases = Annotated[Viewer, page_permit("cases:write")]

Status = Literal["new", "open", "pending", "resolved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
PAGE_SIZE = 25
READ_YOUR_WRITE_DEADLINE = 2.0
#: Seconds between the page's checks for changes (the time left counts down in the page).
POLL_SECONDS = 5
UNRESOLVED = ("new", "open", "pending")
STATUSES = get_args(Status)
#: The actions offered per status. A resolved case past its reopen window still offers
#: reopening: the rule, not the page, says no, with its reason.
ACTIONS = {status: ("assign", "respond", "resolve") for status in UNRESOLVED} | {"resolved": ("reopen", "close")}
PRIORITIES = get_args(Priority)


@dataclass(frozen=True)
class Filters:
    status: Status | None = None
    priority: Priority | None = None
    agent: str | None = None
    breached: bool | None = None
    offset: int = 0

    def query(self, offset: int | None = None) -> str:
        """As a URL's query string; ``offset`` for another page of the same queue."""
        at = self.offset if offset is None else offset
        values = {
            "status": self.status,
            "priority": self.priority,
            "agent": self.agent,
            "breached": None if self.breached is None else str(self.breached).lower(),
            "offset": str(at) if at else None,
        }
        return urlencode({k: v for k, v in values.items() if v})


def time_left(due: datetime | None, now: datetime) -> tuple[str, bool]:
    """``("3h 20m left", False)`` or ``("overdue by 1d 2h", True)``; none once resolved."""
    if due is None:
        return "", False
    seconds = (due - now).total_seconds()
    text = _span(abs(seconds))
    return (f"overdue by {text}", True) if seconds < 0 else (f"{text} left", False)


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def fingerprint(viewer: Viewer) -> str:
    """Changes whenever an event about any case is projected."""
    ((cases, last),) = viewer.services.case_queries.rows("SELECT count(*), COALESCE(max(position), 0) FROM cases")
    return f"{cases}-{last}"


def queue(viewer: Viewer, filters: Filters) -> dict[str, Any]:
    """One page of the queue in the read model's order, each case with its time left and
    the actions its status allows."""
    page = viewer.services.case_queries.search(
        status=filters.status,
        priority=filters.priority,
        agent=filters.agent,
        breached=filters.breached,
        limit=PAGE_SIZE,
        offset=filters.offset,
    )
    viewer.trail().record_all(contact_ids(page.items, "contact_id"))
    now = datetime.now(UTC)
    window = timedelta(seconds=viewer.services.commands.config.sla_policy.reopen_window_seconds)
    cases = []
    for case in viewer.show(page.items):
        left, overdue = time_left(case["next_due"], now)
        resolved_at = case["resolved_at"]
        reopen_until = resolved_at + window if case["status"] == "resolved" and resolved_at else None
        cases.append(
            {
                **case,
                "time_left": left,
                "overdue": case["status"] in UNRESOLVED and (overdue or case["breached"]),
                "reopen_until": reopen_until,
                "reopen_closed": reopen_until is not None and reopen_until < now,
                "actions": ACTIONS.get(case["status"], ()),
            }
        )
    return {
        "cases": cases,
        "total": page.total,
        "filters": filters,
        "page_size": PAGE_SIZE,
        "fingerprint": fingerprint(viewer),
    }


def _filters(
    status: Status | None, priority: Priority | None, agent: str | None, breached: bool | None, offset: int
) -> Filters:
    return Filters(status, priority, (agent or "").strip() or None, breached, offset)


AgentQuery = Annotated[str | None, Query(max_length=200)]
OffsetQuery = Annotated[int, Query(ge=0, le=1_000_000)]


@router.get("", response_class=HTMLResponse)
def cases_page(
    viewer: ReadCases,
    status: Status | None = None,
    priority: Priority | None = None,
    agent: AgentQuery = None,
    breached: bool | None = None,
    offset: OffsetQuery = 0,
) -> HTMLResponse:
    return _page(viewer, _filters(status, priority, agent, breached, offset))


def _page(viewer: Viewer, filters: Filters, refusal: Refusal | None = None) -> HTMLResponse:
    return render(
        viewer.request,
        "cases.html",
        viewer,
        status_code=refusal.status if refusal else 200,
        queue=queue(viewer, filters),
        refusal=refusal,
        may_act=viewer.may("cases:write"),
        poll_seconds=POLL_SECONDS,
    )


@router.get("/queue", response_class=HTMLResponse)
def queue_fragment(
    viewer: ReadCases,
    status: Status | None = None,
    priority: Priority | None = None,
    agent: AgentQuery = None,
    breached: bool | None = None,
    offset: OffsetQuery = 0,
    since: Annotated[str | None, Query(max_length=80)] = None,
) -> Response:
    """The queue alone, for htmx: the filters as they change, and the periodic check, which
    answers 204 (nothing read, nothing swapped) while no case changed since ``since``."""
    if since is not None and since == fingerprint(viewer):
        return Response(status_code=204)
    return _fragment(viewer, _filters(status, priority, agent, breached, offset))


def _fragment(viewer: Viewer, filters: Filters, notice: str | None = None) -> HTMLResponse:
    return render(
        viewer.request,
        "cases_queue.html",
        viewer,
        queue=queue(viewer, filters),
        notice=notice,
        may_act=viewer.may("cases:write"),
        poll_seconds=POLL_SECONDS,
    )


Back = Annotated[str | None, Form(max_length=400)]


@router.post("/{case_id}/assign", response_class=HTMLResponse)
def assign(
    viewer: WriteCases, case_id: UUID, agent: Annotated[str, Form(min_length=1, max_length=200)], back: Back = None
) -> Response:
    return _act(viewer, case_id, AssignCase(case_id, agent.strip()), f"assigned to {agent.strip()}", back)


@router.post("/{case_id}/respond", response_class=HTMLResponse)
def respond(viewer: WriteCases, case_id: UUID, back: Back = None) -> Response:
    return _act(viewer, case_id, RespondToCase(case_id, viewer.name), "response recorded", back)


@router.post("/{case_id}/resolve", response_class=HTMLResponse)
def resolve(
    viewer: WriteCases,
    case_id: UUID,
    resolution: Annotated[str | None, Form(max_length=2000)] = None,
    back: Back = None,
) -> Response:
    return _act(viewer, case_id, ResolveCase(case_id, (resolution or "").strip() or None), "resolved", back)


@router.post("/{case_id}/reopen", response_class=HTMLResponse)
def reopen(viewer: WriteCases, case_id: UUID, back: Back = None) -> Response:
    return _act(viewer, case_id, ReopenCase(case_id), "reopened", back)


@router.post("/{case_id}/close", response_class=HTMLResponse)
def close(viewer: WriteCases, case_id: UUID, back: Back = None) -> Response:
    return _act(viewer, case_id, CloseCase(case_id), "closed", back)


def _act(viewer: Viewer, case_id: UUID, command: object, done: str, back: str | None) -> Response:
    """Runs the action; answers the queue as it is afterwards (htmx), or sends a plain form
    back to the queue it came from."""
    case = viewer.services.case_queries.get(str(case_id))
    if case is None:
        raise Problem(404, "not_found", f"no case {case_id} in the read model")
    filters = _back(back)
    outcome = viewer.attempt(command)
    if isinstance(outcome, Refusal):
        if is_htmx(viewer.request):  # the rule's message in the page's alert region; the queue stays
            raise Problem(outcome.status, outcome.code, outcome.detail)
        return _page(viewer, filters, refusal=outcome)
    _await_read_model(viewer, str(case_id), outcome)
    if not is_htmx(viewer.request):
        query = filters.query()
        return RedirectResponse(f"{PREFIX}/cases" + (f"?{query}" if query else ""), status_code=303)
    subject = viewer.show(case).get("subject") or "the case"
    return _fragment(viewer, filters, notice=f"{subject}: {done}")


def _back(back: str | None) -> Filters:
    """The queue's filters the form was shown with (its own query string); what does not
    parse is dropped: an action never fails for the sake of where to return."""
    values = dict(parse_qsl(back or ""))
    status = values.get("status")
    priority = values.get("priority")
    offset = values.get("offset", "0")
    return _filters(
        status if status in STATUSES else None,  # type: ignore[arg-type]
        priority if priority in PRIORITIES else None,  # type: ignore[arg-type]
        (values.get("agent") or "")[:200] or None,
        {"true": True, "false": False}.get(values.get("breached", "")),
        min(int(offset), 1_000_000) if offset.isdigit() else 0,
    )


def _await_read_model(viewer: Viewer, case_id: str, outcome: CommandResult) -> None:
    deadline = time.monotonic() + READ_YOUR_WRITE_DEADLINE
    while time.monotonic() < deadline:
        found = viewer.services.case_queries.get(case_id)
        if found is not None and found["version"] >= outcome.version:
            return
        time.sleep(0.02)
