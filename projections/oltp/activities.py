"""Activities: ``activities`` (one row per task, call or meeting: what it is about, its
owner, due time and status, and whether it became overdue) and ``activity_reminders``
(one row per reminder sent, insert-once).

A reminder is sent once per due time: the reminders sent for the current due time are the
rows after the event that set it (``due_set_in``, the version of the scheduling or of the
last rescheduling).

The subject, outcome and cancel reason are free text that may name the person the
activity is about (``contact_id``: the contact itself, or the contact of its deal or case):
they are cleared when that contact is erased, whichever of the two events is projected
first (``scrub``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.oltp.rows import Change, Row, Table, column, own_row
from streams.envelope import Envelope, parse_time

TABLE = Table(
    "activities",
    (
        column("id", "uuid", True),
        column("kind", required=True),
        column("subject"),
        column("regarding_type", required=True),
        column("regarding_id", "uuid", True),
        column("contact_id", "uuid"),
        column("owner", required=True),
        column("due_at", "ts", True),
        #: The version of the event that set ``due_at``.
        column("due_set_in", "int", True),
        column("status", required=True),
        column("overdue", "bool", True),
        column("overdue_since", "ts"),
        #: Minutes before the due time, latest first.
        column("reminders", "json", True),
        column("last_reminded_at", "ts"),
        column("outcome"),
        column("cancel_reason"),
        column("completed_at", "ts"),
        column("cancelled_at", "ts"),
        column("created_at", "ts", True),
        column("updated_at", "ts", True),
        column("version", "int", True),
        column("position", "bigint", True),
    ),
    indexes=(("owner", "status"), ("regarding_id",), ("contact_id",)),
)

REMINDERS = Table(
    "activity_reminders",
    (
        column("activity_id", "uuid", True),
        column("sequence", "int", True),
        column("minutes_before", "int", True),
        column("due_at", "ts", True),
        column("sent_at", "ts", True),
        column("position", "bigint", True),
    ),
    key=("activity_id", "sequence"),
    versioned=False,
)

TABLES = (TABLE, REMINDERS)

#: The columns of ``activities`` an event sets, and the reminder rows it adds.
Changes = tuple[dict[str, Any], list[Change]]


def project(envelope: Envelope) -> list[Change]:
    if envelope.aggregate_type != "activity":
        return []
    handler = HANDLERS.get(envelope.type)
    values, rows = handler(envelope) if handler is not None else ({}, [])
    return [own_row(TABLE, envelope, "crm.activity.scheduled.v1", values), *rows]


def _scheduled(envelope: Envelope) -> Changes:
    data = envelope.data
    values = {
        "kind": data["kind"],
        "subject": data["subject"],
        "regarding_type": data["regarding_type"],
        "regarding_id": data["regarding_id"],
        "contact_id": data["contact_id"],
        "owner": data["owner"],
        "due_at": data["due_at"],
        "due_set_in": envelope.sequence,
        "status": "open",
        "overdue": False,
        "overdue_since": None,
        "reminders": list(data["reminders"]),
        "last_reminded_at": None,
        "outcome": None,
        "cancel_reason": None,
        "completed_at": None,
        "cancelled_at": None,
        "created_at": data["at"],
    }
    return values, []


def _rescheduled(envelope: Envelope) -> Changes:
    """Moved into the future, an overdue activity is no longer overdue; moved to a time
    already past, it stays as it was."""
    data = envelope.data
    values: dict[str, Any] = {"due_at": data["due_at"], "due_set_in": envelope.sequence}
    if parse_time(data["due_at"]) > parse_time(data["at"]):
        values.update(overdue=False, overdue_since=None)
    return values, []


def _reminded(envelope: Envelope) -> Changes:
    data = envelope.data
    row = {
        "activity_id": envelope.subject,
        "sequence": envelope.sequence,
        "minutes_before": data["minutes_before"],
        "due_at": data["due_at"],
        "sent_at": data["at"],
        "position": envelope.position,
    }
    return {"last_reminded_at": data["at"]}, [Row(REMINDERS.name, row)]


#: Per registered activity event type, its changes.
HANDLERS: dict[str, Callable[[Envelope], Changes]] = {
    "crm.activity.scheduled.v1": _scheduled,
    "crm.activity.rescheduled.v1": _rescheduled,
    "crm.activity.reassigned.v1": lambda e: ({"owner": e.data["owner"]}, []),
    "crm.activity.reminded.v1": _reminded,
    "crm.activity.became_overdue.v1": lambda e: ({"overdue": True, "overdue_since": e.data["at"]}, []),
    "crm.activity.completed.v1": lambda e: (
        {"status": "done", "outcome": e.data["outcome"], "completed_at": e.data["at"]},
        [],
    ),
    "crm.activity.cancelled.v1": lambda e: (
        {"status": "cancelled", "cancel_reason": e.data["reason"], "cancelled_at": e.data["at"]},
        [],
    ),
}

#: The free-text columns ``scrub`` clears.
PERSONAL = ("subject", "outcome", "cancel_reason")


def scrub(activities: str, contacts: str, ph: str) -> tuple[str, str]:
    """Two statements clearing the free text of activities about an erased person, given
    the physical table names: by erased contact id, and by newly scheduled activity id
    (an activity projected after its contact's erasure)."""
    cleared = ", ".join(f"{c} = NULL" for c in PERSONAL)
    held = " OR ".join(f"{c} IS NOT NULL" for c in PERSONAL)
    by_contact = f"UPDATE {activities} SET {cleared} WHERE contact_id = {ph} AND ({held})"
    by_activity = (
        f"UPDATE {activities} SET {cleared} WHERE id = {ph} AND ({held}) "
        f"AND EXISTS (SELECT 1 FROM {contacts} c WHERE c.id = {activities}.contact_id AND c.erased)"
    )
    return by_contact, by_activity
