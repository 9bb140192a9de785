"""The Activity aggregate: a task, call or meeting someone owes on a contact, deal or case.

open → done or cancelled; either is final. An open activity whose due time has passed
becomes overdue, once (an event, like a case's SLA breach), and stays open until done.
Reminders are minutes before the due time; each is recorded once when it falls due, so a
notifier that restarts never reminds twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidValue, RuleViolation
from domain.instants import require_aware
from domain.meta import Meta
from domain.text import clean

KINDS = ("task", "call", "meeting")
REGARDING = ("contact", "deal", "case")
OPEN = "open"
DONE = "done"
CANCELLED = "cancelled"


class ActivityClosed(RuleViolation):
    """A done or cancelled activity is history: completed once, never changed after."""

    code = "activity_closed"


class ActivityNotDue(RuleViolation):
    code = "activity_not_due"


class Activity(Aggregate):
    TOPIC = "crm.activity"

    class Created(Aggregate.Created):
        """Never recorded itself (activities are created by ``Scheduled``); eventsourcing
        needs a topic on it. No version: it names no event type (see ``Case.Created``)."""

        TOPIC = "crm.activity.created"

    class Scheduled(Created):
        TOPIC = "crm.activity.scheduled.v1"
        kind: str
        subject: str
        regarding_type: str
        regarding_id: UUID
        contact_id: UUID | None
        owner: str
        due_at: datetime
        reminders: list[int]
        at: datetime
        meta: Meta

    class Rescheduled(Aggregate.Event):
        TOPIC = "crm.activity.rescheduled.v1"
        due_at: datetime
        previous_due_at: datetime
        at: datetime
        meta: Meta

    class Reassigned(Aggregate.Event):
        TOPIC = "crm.activity.reassigned.v1"
        owner: str
        previous_owner: str
        at: datetime
        meta: Meta

    class Reminded(Aggregate.Event):
        TOPIC = "crm.activity.reminded.v1"
        minutes_before: int
        due_at: datetime
        at: datetime
        meta: Meta

    class BecameOverdue(Aggregate.Event):
        TOPIC = "crm.activity.became_overdue.v1"
        owner: str
        due_at: datetime
        at: datetime
        meta: Meta

    class Completed(Aggregate.Event):
        TOPIC = "crm.activity.completed.v1"
        outcome: str | None
        was_overdue: bool
        at: datetime
        meta: Meta

    class Cancelled(Aggregate.Event):
        TOPIC = "crm.activity.cancelled.v1"
        reason: str
        at: datetime
        meta: Meta

    @classmethod
    def schedule(
        cls,
        *,
        kind: str,
        subject: str,
        regarding_type: str,
        regarding_id: UUID,
        owner: str,
        due_at: datetime,
        at: datetime,
        meta: Meta,
        reminders: list[int] | None = None,
        contact_id: UUID | None = None,
    ) -> Activity:
        """``contact_id``: the person the activity is about through its deal or case (about
        a contact, the contact itself): their key seals its free text, so erasing them
        reaches it."""
        if kind not in KINDS:
            raise InvalidValue(f"an activity is one of {', '.join(KINDS)}, not {kind!r}")
        if regarding_type not in REGARDING or not isinstance(regarding_id, UUID):
            raise InvalidValue(f"an activity is about a {', '.join(REGARDING)} given by its id")
        return cls(
            kind=kind,
            subject=_require_text(subject, "subject"),
            regarding_type=regarding_type,
            regarding_id=regarding_id,
            contact_id=regarding_id if regarding_type == "contact" else _optional_id(contact_id),
            owner=_require_text(owner, "owner"),
            due_at=require_aware(due_at, "due_at"),
            reminders=_require_reminders(reminders or []),
            at=require_aware(at),
            meta=meta,
        )

    def reschedule(self, due_at: datetime, at: datetime, meta: Meta) -> None:
        """A new due time; an overdue activity moved into the future is no longer overdue,
        and its reminders fall due again before the new time."""
        self._require_open()
        due = require_aware(due_at, "due_at")
        if due != self.due_at:
            self._rescheduled(due_at=due, previous_due_at=self.due_at, at=require_aware(at), meta=meta)

    def reassign(self, owner: str, at: datetime, meta: Meta) -> None:
        self._require_open()
        new_owner = _require_text(owner, "owner")
        if new_owner != self.owner:
            self._reassigned(owner=new_owner, previous_owner=self.owner, at=require_aware(at), meta=meta)

    def remind(self, now: datetime, meta: Meta) -> list[int]:
        """Records every reminder that has fallen due by ``now`` and was not yet sent;
        answers their minutes before the due time."""
        self._require_open()
        require_aware(now)
        due = self.due_reminders(now)
        for minutes in due:
            self._reminded(minutes_before=minutes, due_at=self.due_at, at=now, meta=meta)
        return due

    def mark_overdue(self, now: datetime, meta: Meta) -> None:
        self._require_open()
        require_aware(now)
        if now <= self.due_at or self.overdue:
            raise ActivityNotDue(
                f"the activity is due at {self.due_at.isoformat()}"
                if now <= self.due_at
                else "the activity is already overdue"
            )
        self._became_overdue(owner=self.owner, due_at=self.due_at, at=now, meta=meta)

    def complete(self, outcome: str | None, at: datetime, meta: Meta) -> None:
        self._require_open()
        self._completed(outcome=clean(outcome), was_overdue=self.overdue, at=require_aware(at), meta=meta)

    def cancel(self, reason: str | None, at: datetime, meta: Meta) -> None:
        self._require_open()
        self._cancelled(reason=_require_text(reason, "reason"), at=require_aware(at), meta=meta)

    def due_reminders(self, now: datetime) -> list[int]:
        """Reminders whose time has come and that were not yet recorded, earliest first."""
        if self.status != OPEN:
            return []
        return sorted(
            (m for m in self.reminders if m not in self.reminded and now >= self.due_at - timedelta(minutes=m)),
            reverse=True,
        )

    def _require_open(self) -> None:
        if self.status != OPEN:
            raise ActivityClosed(f"the activity is {self.status}")

    @event(Scheduled)
    def __init__(
        self,
        kind: str,
        subject: str,
        regarding_type: str,
        regarding_id: UUID,
        contact_id: UUID | None,
        owner: str,
        due_at: datetime,
        reminders: list[int],
        at: datetime,
        meta: Meta,
    ) -> None:
        self.kind = kind
        self.subject = subject
        self.regarding_type = regarding_type
        self.regarding_id = regarding_id
        self.contact_id = contact_id
        self.owner = owner
        self.due_at = due_at
        self.reminders = reminders
        self.reminded: list[int] = []
        self.status = OPEN
        self.overdue = False
        self.outcome: str | None = None

    @event(Rescheduled)
    def _rescheduled(self, due_at: datetime, previous_due_at: datetime, at: datetime, meta: Meta) -> None:
        self.due_at = due_at
        self.reminded = []
        self.overdue = self.overdue and due_at <= at

    @event(Reassigned)
    def _reassigned(self, owner: str, previous_owner: str, at: datetime, meta: Meta) -> None:
        self.owner = owner

    @event(Reminded)
    def _reminded(self, minutes_before: int, due_at: datetime, at: datetime, meta: Meta) -> None:
        self.reminded = [*self.reminded, minutes_before]

    @event(BecameOverdue)
    def _became_overdue(self, owner: str, due_at: datetime, at: datetime, meta: Meta) -> None:
        self.overdue = True

    @event(Completed)
    def _completed(self, outcome: str | None, was_overdue: bool, at: datetime, meta: Meta) -> None:
        self.status = DONE
        self.outcome = outcome

    @event(Cancelled)
    def _cancelled(self, reason: str, at: datetime, meta: Meta) -> None:
        self.status = CANCELLED


def _require_text(value: object, field: str) -> str:
    cleaned = clean(value)  # type: ignore[arg-type]  # clean refuses what is not text
    if cleaned is None:
        raise InvalidValue(f"an activity needs a {field}")
    return cleaned


def _optional_id(value: object) -> UUID | None:
    if value is not None and not isinstance(value, UUID):
        raise InvalidValue(f"{value!r} is not a contact id")
    return value


def _require_reminders(reminders: list[int]) -> list[int]:
    if not isinstance(reminders, list) or any(
        isinstance(m, bool) or not isinstance(m, int) or not 0 <= m <= 60 * 24 * 30 for m in reminders
    ):
        raise InvalidValue("reminders are minutes before the due time, from 0 to 43,200")
    return sorted(set(reminders), reverse=True)
