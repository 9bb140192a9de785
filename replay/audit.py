"""What auditors read, over one event store: the one object the CLI and the HTTP routes use.

Every method reads the event store (never a read model, never Kafka). Methods that
stream check their arguments and that the contact exists *before* returning their
generator, so an HTTP route can still answer 404 or 422 before the first byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from uuid import UUID

from commands.store import CrmEventStore
from replay import exports
from replay.history import HistoryEntry, audit_trail, contact_history
from replay.reading import EventReader
from replay.state import PastState, contact_as_of


class Audit:
    def __init__(self, store: CrmEventStore) -> None:
        self.reader = EventReader(store)

    def history(self, contact_id: UUID, as_of: datetime | None = None) -> Iterator[HistoryEntry]:
        """The contact's events and its deals' and cases' events, in event-store order,
        recorded at or before ``as_of``. ``NotFound`` for an unknown contact."""
        return contact_history(self.reader, contact_id, as_of)

    def state(self, contact_id: UUID, as_of: datetime | None = None) -> PastState:
        """The contact as it was at ``as_of``. ``NotFound`` for an unknown contact or one
        that did not exist yet."""
        return contact_as_of(self.reader, contact_id, as_of)

    def trail(self, start: datetime, end: datetime) -> Iterator[HistoryEntry]:
        """Every event recorded from ``start`` (inclusive) to ``end`` (exclusive).
        ``InvalidValue`` for a period that does not end after it starts."""
        return audit_trail(self.reader, start, end)

    def trail_csv(self, start: datetime, end: datetime) -> Iterator[str]:
        return exports.csv_text(self.trail(start, end))

    def dsar(self, contact_id: UUID) -> Iterator[str]:
        """Everything held about one person, as a JSON document in chunks."""
        return exports.dsar(self.reader, contact_id)
