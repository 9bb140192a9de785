"""Reading the event store for audits: an aggregate's events with their positions, the
version an aggregate had at an instant, and what belongs to a contact.

Everything here reads the event store's own tables (PostgreSQL or SQLite), never a read
model or Kafka, and decodes every event with ``store.mapper``, so that what the mapper
does to stored state (upcasting today; decrypting personal fields, or reading
``"[erased]"`` for an erased person, tomorrow) applies to audits too.

SQL is used only where ``eventsourcing``'s recorder has no query for what an audit needs:
an aggregate's events *with* their notification ids (``select_events`` leaves the id
out, ``select_notifications`` cannot filter by aggregate), and the creation events that
name a contact (see ``owned_by_contact``; ``select_notifications`` by topic finds them only
by decoding every deal's and case's creation event: ``scan_owned_by_contact``, 4 to 11 times
slower among 1,000 to 10,000 deals, and slower still as the store grows). It reads
eventsourcing's events table as its ``select_notifications`` does; the table and columns
are checked by ``tests/integration/test_eventsourcing_contract.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier

from commands.store import CrmEventStore
from domain.activity import Activity
from domain.case import Case
from domain.contract import Contract
from domain.deal import Deal
from streams.log import NotificationLog

#: Creation events of the aggregates that belong to a contact through their ``contact_id``:
#: deals, cases, contracts, and activities about the contact or their deal or case.
OWNED_CREATION_TOPICS: tuple[str, ...] = (
    Deal.Created.TOPIC,
    Case.Opened.TOPIC,
    Contract.Signed.TOPIC,
    Activity.Scheduled.TOPIC,
)

#: Events per query when an aggregate's events are streamed.
PAGE = 500
#: Events per query, at most, when the whole log is read.
LOG_PAGE = 5000


class EventReader:
    """Reads one event store. Each query is its own short transaction, so a slow reader of
    a long stream holds no connection between pages; stored events never change, so pages
    read at different moments still fit together."""

    def __init__(self, store: CrmEventStore, page: int = PAGE) -> None:
        self.store = store
        self.page = page
        recorder = store.recorder
        if isinstance(recorder, PostgresApplicationRecorder):
            self._kind = "postgresql"
        elif isinstance(recorder, SQLiteApplicationRecorder):
            self._kind = "sqlite"
        else:  # pragma: no cover - the store is built for these two only
            raise TypeError(f"unsupported event store recorder {type(recorder).__name__}")

    # -- decoding ------------------------------------------------------------------------

    def decode(self, stored: StoredEvent) -> Any:
        """A CRM domain event (with ``timestamp``, ``meta``, ``mutate``…), as the mapper reads it."""
        return self.store.mapper.to_domain_event(stored)

    # -- one aggregate -----------------------------------------------------------------------

    def first_event(self, aggregate_id: UUID) -> Any:
        """The aggregate's first event, decoded; ``None`` when it has none."""
        found = self.store.recorder.select_events(aggregate_id, limit=1)
        return self.decode(found[0]) if found else None

    def latest_version(self, aggregate_id: UUID) -> int:
        """0 when the aggregate has no event."""
        found = self.store.recorder.select_events(aggregate_id, desc=True, limit=1)
        return found[0].originator_version if found else 0

    def recorded_at(self, aggregate_id: UUID, version: int) -> datetime:
        """The recorded ``timestamp`` of the aggregate's event ``version``."""
        found = self.store.recorder.select_events(aggregate_id, gt=version - 1, lte=version)
        if not found:
            raise LookupError(f"aggregate {aggregate_id} has no version {version}")
        timestamp: datetime = self.decode(found[0]).timestamp
        return timestamp

    def version_at(self, aggregate_id: UUID, as_of: datetime | None) -> int:
        """The aggregate's last version recorded at or before ``as_of`` (``None``: its latest),
        0 if it had no event yet.

        A binary search on the versions, reading one event per step (14 steps for 10,000
        events). It relies on what the event store guarantees for one aggregate: version
        n+1 is recorded only after version n was saved, so their timestamps rise with the
        version (given writers whose clocks agree)."""
        found = self.store.recorder.select_events(aggregate_id, desc=True, limit=1)
        if not found:
            return 0
        latest = found[0].originator_version
        if as_of is None or self.decode(found[0]).timestamp <= as_of:
            return latest
        low, high = 0, latest  # version `low` is at or before as_of (0: none), `high` after it
        while high - low > 1:
            middle = (low + high) // 2
            if self.recorded_at(aggregate_id, middle) <= as_of:
                low = middle
            else:
                high = middle
        return low

    def notifications_of(self, aggregate_id: UUID, up_to_version: int) -> Iterator[Notification]:
        """The aggregate's stored events from version 1 to ``up_to_version``, in version
        order (which is also position order), each with its position (notification id)."""
        after = 0
        while after < up_to_version:
            rows = self._select_page(aggregate_id, after, min(self.page, up_to_version - after))
            if not rows:
                return
            yield from rows
            after = rows[-1].originator_version

    def position_of(self, aggregate_id: UUID, version: int) -> int | None:
        rows = self._select_page(aggregate_id, version - 1, 1) if version > 0 else []
        return rows[0].id if rows else None

    def _select_page(self, aggregate_id: UUID, after_version: int, limit: int) -> list[Notification]:
        if self._kind == "sqlite":
            return self._select_sqlite(
                "originator_id = ? AND originator_version > ? ORDER BY originator_version LIMIT ?",
                (aggregate_id.hex, after_version, limit),
            )
        return self._select_postgres(
            SQL("originator_id = %s AND originator_version > %s ORDER BY originator_version LIMIT %s"),
            (aggregate_id, after_version, limit),
        )

    # -- what belongs to a contact ----------------------------------------------------------

    def owned_by_contact(self, contact_id: UUID) -> list[UUID]:
        """The deals, cases, contracts and activities whose creation event names
        ``contact_id``, in the order
        they were created.

        The database finds the candidates: among the creation events (by topic), those
        whose stored state has that ``contact_id`` (``contact_id`` is not a personal field,
        so encrypting personal fields leaves it readable). Each candidate is then decoded
        with the mapper and kept only if the decoded event really names the contact. When
        the mapper encrypts or compresses whole stored states, the database cannot look
        inside them, and every creation event is decoded instead (``scan_owned_by_contact``)."""
        mapper = self.store.mapper
        if mapper.cipher is not None or mapper.compressor is not None:
            return self.scan_owned_by_contact(contact_id)
        candidates = self._select_owned_candidates(contact_id)
        return [_uuid(n.originator_id) for n in candidates if _names_contact(self.decode(n), contact_id)]

    def scan_owned_by_contact(self, contact_id: UUID) -> list[UUID]:
        """The same answer as ``owned_by_contact``, found by decoding every creation event
        of a deal or case in the store (slower: it reads them all)."""
        found: list[UUID] = []
        start: int | None = None
        while True:
            batch = self.store.recorder.select_notifications(
                start, self.page, topics=list(OWNED_CREATION_TOPICS), inclusive_of_start=False
            )
            if not batch:
                return found
            found += [_uuid(n.originator_id) for n in batch if _names_contact(self.decode(n), contact_id)]
            start = batch[-1].id

    def _select_owned_candidates(self, contact_id: UUID) -> list[Notification]:
        # The transcoder writes a UUID as {"_type_": "uuid_hex", "_data_": "<32 hex digits>"}.
        topics = list(OWNED_CREATION_TOPICS)
        if self._kind == "sqlite":
            return self._select_sqlite(
                f"topic IN ({', '.join('?' * len(topics))}) "
                "AND json_extract(state, '$.contact_id._data_') = ? ORDER BY rowid",
                (*topics, contact_id.hex),
            )
        return self._select_postgres(
            SQL(
                "topic = ANY(%s) AND convert_from(state, 'UTF8')::json -> 'contact_id' ->> '_data_' = %s "
                "ORDER BY notification_id"
            ),
            (topics, contact_id.hex),
        )

    # -- eventsourcing's tables, read as its select_notifications reads them -------------------
    # (the tables and columns are checked by tests/integration/test_eventsourcing_contract.py)

    def _select_sqlite(self, condition: str, params: Sequence[Any]) -> list[Notification]:
        """The rows of the SQLite events table that meet ``condition`` (which may end in
        ORDER BY and LIMIT), each with its ``rowid``: the notification id."""
        recorder = self.store.recorder
        assert isinstance(recorder, SQLiteApplicationRecorder)
        statement = (
            "SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {recorder.events_table_name} WHERE {condition}"
        )
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            return [
                Notification(
                    id=row["rowid"],
                    originator_id=recorder.convert_originator_id(row["originator_id"]),
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
                for row in c.fetchall()
            ]

    def _select_postgres(self, condition: SQL, params: Sequence[Any]) -> list[Notification]:
        """The rows of the PostgreSQL events table that meet ``condition`` (which may end in
        ORDER BY and LIMIT), each with its ``notification_id``."""
        recorder = self.store.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        query = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {schema}.{table} WHERE {condition}"
        ).format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name),
            condition=condition,
        )
        with recorder.datastore.transaction(commit=False) as curs:
            curs.execute(query, params)
            return [
                Notification(
                    id=row["notification_id"],
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in curs.fetchall()
            ]

    # -- the whole log ---------------------------------------------------------------------

    def log(self, after: int | None = None) -> Iterator[Notification]:
        """Every stored event after position ``after``, in position order.

        Read as the relay reads the log (``streams.log.NotificationLog``: one query a page,
        rows as tuples), in pages that grow from ``page`` to ``LOG_PAGE`` rows: a reader
        that stops early (an audit trail's period) reads little more than it needs, one that
        reads on pays for few queries."""
        pages = NotificationLog(self.store)
        position, size = after or 0, self.page
        while True:
            rows = pages.rows(position, size)
            if not rows:
                return
            for row in rows:
                yield row.notification()
            position = rows[-1].id
            size = min(2 * size, max(self.page, LOG_PAGE))

    def position_before(self, instant: datetime) -> int | None:
        """A position whose event was recorded before ``instant`` such that every earlier
        event was recorded before ``instant`` too (``None``: start from the beginning).

        Callers pass ``instant`` already moved back by the slack they allow between an
        event's timestamp and its commit (see ``history.audit_trail``). Binary search on
        positions; any position it settles on is safe, whether or not timestamps are
        perfectly ordered in the log."""
        recorder = self.store.recorder
        first = recorder.select_notifications(None, 1)
        if not first or self.decode(first[0]).timestamp >= instant:
            return None
        low, high = first[0].id, (recorder.max_notification_id() or first[0].id) + 1
        while high - low > 1:
            middle = (low + high) // 2
            probe = recorder.select_notifications(middle, 1)
            if probe and probe[0].id < high and self.decode(probe[0]).timestamp < instant:
                low = probe[0].id
            else:
                high = middle
        return low


def _names_contact(event: Any, contact_id: UUID) -> bool:
    return getattr(event, "contact_id", None) == contact_id


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)
