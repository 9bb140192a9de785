"""Activity routes: tasks, calls and meetings someone owes on a contact, deal or case; an
owner's list with the overdue ones first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.access import permit
from api.commands import Run
from api.deps import ExpectedVersion, ServicesDep
from api.problems import Problem
from api.reads import Page, PagingDep
from api.schemas import CommandAccepted
from api.trail import Trail
from commands.activity import (
    CancelActivity,
    CompleteActivity,
    ReassignActivity,
    RescheduleActivity,
    ScheduleActivity,
)

router = APIRouter(prefix="/v1/activities", tags=["activities"])

Kind = Literal["task", "call", "meeting"]
Regarding = Literal["contact", "deal", "case"]
ActivityStatus = Literal["open", "done", "cancelled"]
#: A month of minutes: the furthest ahead a reminder may come.
MAX_REMINDER = 60 * 24 * 30


class ActivitySchedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    subject: str = Field(min_length=1, max_length=500)
    regarding_type: Regarding
    regarding_id: UUID
    owner: str = Field(min_length=1, max_length=200)
    due_at: AwareDatetime
    reminders: list[Annotated[int, Field(ge=0, le=MAX_REMINDER)]] = Field(
        default_factory=list, max_length=20, description="minutes before the due time"
    )


class ActivityReschedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_at: AwareDatetime


class ActivityReassign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: str = Field(min_length=1, max_length=200)


class ActivityComplete(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: str | None = Field(None, max_length=2000)


class ActivityCancel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class ActivityAnswer(CommandAccepted):
    status: str | None = None
    overdue: bool | None = None
    due_at: datetime | None = None
    owner: str | None = None


class ActivityPublic(BaseModel):
    id: UUID
    kind: str
    subject: str | None = Field(description="cleared when the person it is about is erased")
    regarding_type: str
    regarding_id: UUID
    owner: str
    due_at: datetime
    status: str
    overdue: bool = Field(description="its due time passed while it was open")
    overdue_since: datetime | None
    reminders: list[int] = Field(description="minutes before the due time")
    reminders_sent: list[int] = Field(description="those already sent for the current due time")
    last_reminded_at: datetime | None
    outcome: str | None
    cancel_reason: str | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=ActivityAnswer, dependencies=[permit("activities:write")]
)
def schedule(body: ActivitySchedule, run: Run) -> dict[str, object]:
    """About an existing contact, deal or case."""
    command = ScheduleActivity(
        body.kind,
        body.subject,
        body.regarding_type,
        body.regarding_id,
        body.owner,
        body.due_at,
        list(body.reminders),
    )
    return run.created(command, "/v1/activities")


@router.post("/{activity_id}/reschedule", response_model=ActivityAnswer, dependencies=[permit("activities:write")])
def reschedule(activity_id: UUID, body: ActivityReschedule, version: ExpectedVersion, run: Run) -> dict[str, object]:
    """Moved into the future, an overdue activity is no longer overdue and its reminders
    fall due again."""
    return run(RescheduleActivity(activity_id, body.due_at, version))


@router.post("/{activity_id}/reassign", response_model=ActivityAnswer, dependencies=[permit("activities:write")])
def reassign(activity_id: UUID, body: ActivityReassign, version: ExpectedVersion, run: Run) -> dict[str, object]:
    return run(ReassignActivity(activity_id, body.owner, version))


@router.post("/{activity_id}/complete", response_model=ActivityAnswer, dependencies=[permit("activities:write")])
def complete(activity_id: UUID, body: ActivityComplete, version: ExpectedVersion, run: Run) -> dict[str, object]:
    """Once: a done or cancelled activity never changes again (``activity_closed``)."""
    return run(CompleteActivity(activity_id, body.outcome, version))


@router.post("/{activity_id}/cancel", response_model=ActivityAnswer, dependencies=[permit("activities:write")])
def cancel(activity_id: UUID, body: ActivityCancel, version: ExpectedVersion, run: Run) -> dict[str, object]:
    return run(CancelActivity(activity_id, body.reason, version))


@router.get("", response_model=Page[ActivityPublic], dependencies=[permit("activities:read")])
def search_activities(
    services: ServicesDep,
    paging: PagingDep,
    trail: Trail,
    owner: Annotated[str | None, Query(max_length=200, description="an owner's list")] = None,
    status: ActivityStatus | None = None,
    overdue: bool | None = None,
    regarding_type: Regarding | None = None,
    regarding_id: UUID | None = None,
    kind: Kind | None = None,
) -> dict[str, object]:
    """In work order: open activities that became overdue first, then the other open ones,
    then the done and cancelled ones, each group by due time. ``owner`` gives an owner's
    list; ``regarding_type`` with ``regarding_id`` the activities about one contact, deal
    or case."""
    page = services.activity_queries.search(
        owner=owner,
        status=status,
        overdue=overdue,
        regarding_type=regarding_type,
        regarding_id=str(regarding_id) if regarding_id else None,
        kind=kind,
        limit=paging.limit,
        offset=paging.offset,
    )
    trail.record_all(_people(page.items))
    return paging.answer(page)


@router.get("/{activity_id}", response_model=ActivityPublic, dependencies=[permit("activities:read")])
def get_activity(activity_id: UUID, services: ServicesDep, response: Response, trail: Trail) -> dict[str, object]:
    activity = services.activity_queries.get(str(activity_id))
    if activity is None:
        raise Problem(404, "not_found", f"no activity {activity_id} in the read model")
    trail.record_all(_people([activity]))
    response.headers["ETag"] = f'"{activity["version"]}"'
    return activity


def _people(activities: list[dict[str, Any]]) -> list[Any]:
    """The contacts whose activities are shown: their subjects are free text about them."""
    return [a["regarding_id"] for a in activities if a["regarding_type"] == "contact"]
