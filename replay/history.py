"""A contact's complete history, and the audit trail of a period, read from the event store.

A contact's history is every event of the contact and of the deals, cases, contracts and
activities that belong to it (their ``contact_id``), merged in event-store order (position = notification id),
optionally only those recorded at or before ``as_of``. Everything is a generator: an
aggregate's events are read a page at a time, so the size of a history does not matter.

``as_of`` is compared with each event's recorded ``timestamp`` (when the event store
recorded it), not with the business times some events carry (``at``, ``occurred_at``,
which a command may set in the past).
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from commands.errors import NotFound
from domain.contact import Contact
from domain.errors import InvalidValue
from domain.instants import require_aware
from domain.integrity import OUTSIDE_DATA, format_time
from replay.reading import EventReader
from streams import summaries

log = logging.getLogger(__name__)

#: How the audit asks for a time zone where one is missing.
_ZONE_HINT = " (for example 2026-03-01T00:00:00Z)"

#: Default allowance, for the audit trail of a period, between the moment an event is
#: stamped and the moment its transaction commits (see ``audit_trail``).
TRAIL_SLACK = timedelta(hours=1)

#: The columns of CSV exports, in order (``HistoryEntry.row``).
CSV_COLUMNS = (
    "position",
    "time",
    "aggregate_type",
    "aggregate_id",
    "version",
    "type",
    "actor",
    "correlation_id",
    "causation_id",
    "occurred_at",
    "summary",
)


@dataclass(frozen=True)
class HistoryEntry:
    """One event as an auditor reads it.

    ``time`` is when the event store recorded it; ``occurred_at`` the business time the
    event states, if any (an interaction's ``occurred_at``, a deal move's ``at``…).
    ``data`` is the event's content as the store's mapper decodes it: an erased person's
    personal fields read "[erased]"."""

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

    def as_dict(self, with_data: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "position": self.position,
            "time": format_time(self.time),
            "aggregate_type": self.aggregate_type,
            "aggregate_id": str(self.aggregate_id),
            "version": self.version,
            "type": self.type,
            "actor": self.actor,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "occurred_at": format_time(self.occurred_at) if self.occurred_at else None,
            "summary": self.summary,
        }
        if with_data:
            out["data"] = self.data
        return out

    def row(self) -> list[str]:
        """The CSV row, in ``CSV_COLUMNS`` order. Actors and correlation ids come from
        request headers: a value a spreadsheet would run as a formula gets a leading
        apostrophe, so opening an export never executes what a client sent."""
        values = self.as_dict(with_data=False)
        return [_cell("" if values[c] is None else str(values[c])) for c in CSV_COLUMNS]


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def entry(notification: Notification, event: Any) -> HistoryEntry:
    """``event`` is ``notification`` decoded by the store's mapper."""
    topic: str = type(event).TOPIC
    meta = getattr(event, "meta", None)
    content = {k: v for k, v in event.__dict__.items() if k not in OUTSIDE_DATA}
    data = jsonable(content)
    occurred = content.get("occurred_at", content.get("at"))
    try:
        summary = summaries.summary(topic, data)
    except Exception:  # a summary is a courtesy: the entry is still complete without it
        log.warning("no summary for %s %s v%s", topic, event.originator_id, event.originator_version, exc_info=True)
        summary = topic
    return HistoryEntry(
        position=notification.id,
        time=event.timestamp,
        aggregate_type=topic.split(".")[1],
        aggregate_id=event.originator_id,
        version=event.originator_version,
        type=topic,
        actor=meta.actor if meta else "",
        correlation_id=meta.correlation_id if meta else "",
        causation_id=meta.causation_id if meta else "",
        occurred_at=occurred if isinstance(occurred, datetime) else None,
        summary=summary,
        data=data,
    )


@dataclass(frozen=True)
class Plan:
    """What a history reads: each aggregate of the contact up to its version at ``as_of``
    (aggregates with no event by then are left out). The contact comes first."""

    contact_id: UUID
    as_of: datetime | None
    versions: dict[UUID, int]


def plan_history(reader: EventReader, contact_id: UUID, as_of: datetime | None = None) -> Plan:
    """Raises ``NotFound`` when ``contact_id`` is not a contact's id."""
    require_contact(reader, contact_id)
    versions: dict[UUID, int] = {}
    for aggregate_id in [contact_id, *reader.owned_by_contact(contact_id)]:
        version = reader.version_at(aggregate_id, as_of)
        if version:
            versions[aggregate_id] = version
    return Plan(contact_id, as_of, versions)


def contact_history(reader: EventReader, contact_id: UUID, as_of: datetime | None = None) -> Iterator[HistoryEntry]:
    """Every event of the contact and of its deals, cases, contracts and activities recorded at or before
    ``as_of`` (``None``: all so far), in position order.

    Checks the contact exists before returning (``NotFound``), then streams."""
    return entries_of(reader, plan_history(reader, contact_id, as_of))


def entries_of(reader: EventReader, plan: Plan) -> Iterator[HistoryEntry]:
    """Each aggregate's events come in version order, which is also position order (an
    aggregate's next version is recorded only after the previous one committed), so
    merging the aggregates' streams by position gives the event store's order."""
    streams = [reader.notifications_of(aggregate_id, version) for aggregate_id, version in plan.versions.items()]
    for notification in heapq.merge(*streams, key=lambda n: n.id):
        yield entry(notification, reader.decode(notification))


def audit_trail(
    reader: EventReader, start: datetime, end: datetime, slack: timedelta = TRAIL_SLACK
) -> Iterator[HistoryEntry]:
    """Every event of every aggregate recorded from ``start`` (inclusive) to ``end``
    (exclusive), in position order, so that consecutive periods neither overlap nor
    leave a gap.

    Positions follow commit order while timestamps are taken a moment before the commit,
    so the log is in time order only to within that moment. ``slack`` bounds it (an event
    commits less than ``slack`` after it is stamped, on clocks that agree): reading starts
    at a position before which every event is older than ``start`` (found by binary
    search), and stops at the first event stamped ``slack`` after ``end``."""
    require_aware(start, "from", _ZONE_HINT)
    require_aware(end, "to", _ZONE_HINT)
    if end <= start:
        raise InvalidValue(f"the period must end after it starts: from {format_time(start)} to {format_time(end)}")
    return _trail(reader, start, end, slack)


def _trail(reader: EventReader, start: datetime, end: datetime, slack: timedelta) -> Iterator[HistoryEntry]:
    for notification in reader.log(after=reader.position_before(start - slack)):
        event = reader.decode(notification)
        stamped: datetime = event.timestamp
        if stamped >= end + slack:
            return
        if start <= stamped < end:
            yield entry(notification, event)


def require_contact(reader: EventReader, contact_id: UUID) -> None:
    first = reader.first_event(contact_id)
    if not isinstance(first, Contact.Created):
        raise NotFound(f"no contact {contact_id}")


# -- JSON ----------------------------------------------------------------------------------


def parse_instant(text: str) -> datetime:
    """ISO 8601 / RFC 3339 with a zone (``Z`` or an offset) → an aware datetime.
    Raises ``InvalidValue`` for anything else."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidValue(f"{text!r} is not a time; write it like 2026-03-01T09:30:00Z") from None
    return require_aware(moment, repr(text), _ZONE_HINT)


def jsonable(value: Any) -> Any:
    """Event content → JSON values: times in RFC 3339 UTC, dates ISO, ids and amounts as
    strings (amounts stay exact)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    return value
