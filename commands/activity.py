"""Activity commands and their handlers: tasks, calls and meetings on a contact, deal or
case. Reminders and overdue marks come from the deadline watcher
(automations/deadline_watch.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from commands.bus import Handler, UnitOfWork
from commands.results import CommandResult
from domain.activity import Activity
from domain.case import Case
from domain.contact import Contact
from domain.deal import Deal
from domain.meta import Meta

#: What an activity may be about, and the aggregate that must exist for it.
REGARDING: dict[str, type] = {"contact": Contact, "deal": Deal, "case": Case}


@dataclass(frozen=True)
class ScheduleActivity:
    kind: str
    subject: str
    regarding_type: str
    regarding_id: UUID
    owner: str
    due_at: datetime
    reminders: list[int] = field(default_factory=list, hash=False)
    at: datetime | None = None


@dataclass(frozen=True)
class RescheduleActivity:
    activity_id: UUID
    due_at: datetime
    expected_version: int | None = None


@dataclass(frozen=True)
class ReassignActivity:
    activity_id: UUID
    owner: str
    expected_version: int | None = None


@dataclass(frozen=True)
class CompleteActivity:
    activity_id: UUID
    outcome: str | None = None
    expected_version: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class CancelActivity:
    activity_id: UUID
    reason: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class RemindActivity:
    """Records the reminders that have fallen due; those already recorded are skipped."""

    activity_id: UUID
    at: datetime | None = None


@dataclass(frozen=True)
class MarkActivityOverdue:
    activity_id: UUID
    at: datetime | None = None


def _answer(uow: UnitOfWork, activity: Activity, **extra: Any) -> CommandResult:
    return uow.save(activity, status=activity.status, overdue=activity.overdue, **extra)


def schedule(command: ScheduleActivity, meta: Meta, uow: UnitOfWork) -> CommandResult:
    about = REGARDING.get(command.regarding_type)
    person = None
    if about is not None:
        regarding: Any = uow.load(about, command.regarding_id)
        if isinstance(regarding, Contact):
            regarding.require_active()
        person = regarding.id if isinstance(regarding, Contact) else regarding.contact_id
    activity = Activity.schedule(
        kind=command.kind,
        subject=command.subject,
        regarding_type=command.regarding_type,
        regarding_id=command.regarding_id,
        owner=command.owner,
        due_at=command.due_at,
        at=uow.at(command.at),
        meta=meta,
        reminders=list(command.reminders),
        contact_id=person,
    )
    return _answer(uow, activity, due_at=activity.due_at.isoformat())


def reschedule(command: RescheduleActivity, meta: Meta, uow: UnitOfWork) -> CommandResult:
    activity = uow.load(Activity, command.activity_id, command.expected_version)
    activity.reschedule(command.due_at, uow.now, meta)
    return _answer(uow, activity, due_at=activity.due_at.isoformat())


def reassign(command: ReassignActivity, meta: Meta, uow: UnitOfWork) -> CommandResult:
    activity = uow.load(Activity, command.activity_id, command.expected_version)
    activity.reassign(command.owner, uow.now, meta)
    return _answer(uow, activity, owner=activity.owner)


def complete(command: CompleteActivity, meta: Meta, uow: UnitOfWork) -> CommandResult:
    activity = uow.load(Activity, command.activity_id, command.expected_version)
    activity.complete(command.outcome, uow.at(command.at), meta)
    return _answer(uow, activity)


def cancel(command: CancelActivity, meta: Meta, uow: UnitOfWork) -> CommandResult:
    activity = uow.load(Activity, command.activity_id, command.expected_version)
    activity.cancel(command.reason, uow.now, meta)
    return _answer(uow, activity)


def remind(command: RemindActivity, meta: Meta, uow: UnitOfWork) -> CommandResult:
    activity = uow.load(Activity, command.activity_id)
    reminded = activity.remind(uow.at(command.at), meta)
    return _answer(uow, activity, reminded=reminded)


def mark_overdue(command: MarkActivityOverdue, meta: Meta, uow: UnitOfWork) -> CommandResult:
    activity = uow.load(Activity, command.activity_id)
    activity.mark_overdue(uow.at(command.at), meta)
    return _answer(uow, activity)


HANDLERS: dict[type, Handler] = {
    ScheduleActivity: schedule,
    RescheduleActivity: reschedule,
    ReassignActivity: reassign,
    CompleteActivity: complete,
    CancelActivity: cancel,
    RemindActivity: remind,
    MarkActivityOverdue: mark_overdue,
}
