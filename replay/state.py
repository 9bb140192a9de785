"""Time travel: an aggregate as it was at an instant, rebuilt from the event store.

The state at ``as_of`` is the aggregate rebuilt from its events recorded at or before
``as_of``: ``EventReader.version_at`` finds the last such version (a binary search on
versions), and ``store.repository.get(id, version=v)`` rebuilds it. Given a version,
eventsourcing's repository starts from the latest snapshot at or before that version
(contacts are snapshotted every 100 events) and applies the events after it, so a long
history costs one snapshot and fewer than 100 events, not the whole history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from commands.errors import NotFound
from replay.history import format_time, jsonable, require_contact
from replay.reading import EventReader


@dataclass(frozen=True)
class PastState:
    """``aggregate`` at ``version``, the version it had at ``as_of``; ``position`` is the
    event-store position of that version's event."""

    aggregate: Aggregate
    version: int
    position: int | None
    as_of: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": format_time(self.as_of) if self.as_of else None,
            "version": self.version,
            "position": self.position,
            "state": state_dict(self.aggregate),
        }


def aggregate_as_of(reader: EventReader, aggregate_id: UUID, as_of: datetime | None = None) -> PastState:
    """Raises ``NotFound`` when the aggregate had no event at or before ``as_of``."""
    version = reader.version_at(aggregate_id, as_of)
    if version == 0:
        when = f" at {format_time(as_of)}" if as_of else ""
        raise NotFound(f"{aggregate_id} did not exist{when}")
    return at_version(reader, aggregate_id, version, as_of)


def at_version(reader: EventReader, aggregate_id: UUID, version: int, as_of: datetime | None = None) -> PastState:
    aggregate: Aggregate = reader.store.repository.get(aggregate_id, version=version)
    return PastState(aggregate, version, reader.position_of(aggregate_id, version), as_of)


def contact_as_of(reader: EventReader, contact_id: UUID, as_of: datetime | None = None) -> PastState:
    """The contact as it was at ``as_of`` (``None``: now). ``NotFound`` when there is no
    such contact, or it did not exist yet at ``as_of``."""
    require_contact(reader, contact_id)
    version = reader.version_at(contact_id, as_of)
    if version == 0:
        raise NotFound(f"contact {contact_id} did not exist yet at {format_time(as_of) if as_of else 'this time'}")
    return at_version(reader, contact_id, version, as_of)


def state_dict(aggregate: Aggregate) -> dict[str, Any]:
    """An aggregate's attributes as JSON values, with its id, type, version and the
    recorded times of its first and last events."""
    topic: str = getattr(type(aggregate), "TOPIC", type(aggregate).__name__.lower())
    public = {k: v for k, v in vars(aggregate).items() if not k.startswith("_")}
    return {
        "id": str(aggregate.id),
        "type": topic.rsplit(".", 1)[-1],
        "version": aggregate.version,
        "created_on": format_time(aggregate.created_on),
        "modified_on": format_time(aggregate.modified_on),
        **jsonable(public),
    }
