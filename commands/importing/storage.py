"""The event store as a bulk import uses it: what exists among many ids at once, the
events of many aggregates in one query, personal-data keys for many people, and one
transaction per batch of events.

The tables are the event store's own (``commands/store.py``, ``commands/recorders.py``),
written in the form eventsourcing writes them, so that nothing downstream can tell an
imported event from any other:

- PostgreSQL: the batch's transaction takes the events table's lock as eventsourcing does
  (so notification ids follow commit order and the relay never passes over a gap that is
  filled later), notifies its channel, loads the events with ``COPY … FORMAT BINARY`` and
  records idempotency claims in the command log (the binary rows built here in one piece).
- SQLite: eventsourcing's own recorder inserts the events (with the claims, in the same
  transaction, through ``commands/recorders.py``); SQLite has one writer at a time anyway.

Personal-data keys are created before the events that need them, in a transaction of
their own, as the command path creates them (``INSERT … ON CONFLICT DO NOTHING``, then
read back, so a key made by another process is the one used).
"""

from __future__ import annotations

import sqlite3
import struct
from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Any, Protocol
from uuid import UUID

import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresDatastore

from commands.recorders import IdempotencyClaim, PostgresCommandRecorder, SQLiteCommandRecorder
from commands.store import CrmEventStore
from commands.tables import connect_apart

#: Ids per statement where SQLite needs one parameter each.
_SQLITE_CHUNK = 500


class BatchConflict(Exception):
    """Something the batch records was recorded meanwhile by another writer (an aggregate
    version, an idempotency key): nothing of the batch was written; load again and retry."""


class BatchStorage(Protocol):
    def existing(self, ids: Sequence[UUID]) -> set[UUID]:
        """The aggregates among ``ids`` that exist."""
        ...

    def claimed(self, keys: Sequence[str]) -> set[str]:
        """The idempotency keys among ``keys`` already recorded."""
        ...

    def events_of(self, ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """Every stored event of these aggregates, in version order."""
        ...

    def personal_keys(self, owners: Sequence[UUID], new: Collection[UUID] = ()) -> dict[UUID, bytes]:
        """The key of each person, created (and committed) where there was none. A person
        whose key was deleted (erased) gets a new one: callers seal only for active people.
        ``new``: owners who most likely have none yet (people the batch creates), whose
        keys are not looked for before they are made."""
        ...

    def write(self, events: Sequence[StoredEvent], claims: Sequence[IdempotencyClaim]) -> list[int]:
        """Records the events and claims in one transaction; answers the events' positions.
        Raises ``BatchConflict`` when another writer got there first."""
        ...

    def close(self) -> None: ...


def storage_for(store: CrmEventStore) -> BatchStorage:
    recorder = store.recorder
    if isinstance(recorder, PostgresCommandRecorder):
        return PostgresBatchStorage(store, recorder)
    if isinstance(recorder, SQLiteCommandRecorder):
        return SQLiteBatchStorage(store, recorder)
    raise TypeError(f"no bulk import for a {type(recorder).__name__}")


class PostgresBatchStorage:
    def __init__(self, store: CrmEventStore, recorder: PostgresCommandRecorder) -> None:
        import psycopg
        from psycopg import sql

        self._errors = psycopg.errors
        datastore: PostgresDatastore = recorder.datastore
        # For transactions this module shapes itself.
        self._conn = connect_apart(store)

        def table(name: str) -> sql.Composed:
            return sql.SQL("{0}.{1}").format(sql.Identifier(datastore.schema), sql.Identifier(name))

        events, log = table(recorder.events_table_name), table(recorder.command_log)
        keys = table(recorder.personal_keys)
        # Lists of ids travel as one array literal: psycopg adapts a Python list item by item.
        self._existing = sql.SQL(
            "SELECT originator_id FROM {0} WHERE originator_id = ANY(%s::uuid[]) AND originator_version = 1"
        ).format(events)
        self._claimed = sql.SQL("SELECT idempotency_key FROM {0} WHERE idempotency_key = ANY(%s::text[])").format(log)
        self._events_of = sql.SQL(
            "SELECT originator_id, originator_version, topic, state FROM {0} "
            "WHERE originator_id = ANY(%s::uuid[]) ORDER BY originator_id, originator_version"
        ).format(events)
        self._add_keys = sql.SQL(
            "INSERT INTO {0} (contact_id, key) SELECT owner, decode(key, 'hex') "
            "FROM unnest(%s::uuid[], %s::text[]) AS t(owner, key) ON CONFLICT DO NOTHING RETURNING key"
        ).format(keys)
        self._keys = sql.SQL("SELECT contact_id, key FROM {0} WHERE contact_id = ANY(%s::uuid[])").format(keys)
        # The statements eventsourcing's recorder runs before it inserts events.
        self._lock = [
            sql.SQL("SET LOCAL lock_timeout = '{0}s'").format(sql.Literal(datastore.lock_timeout or 5)),
            sql.SQL("LOCK TABLE {0} IN EXCLUSIVE MODE").format(events),
            sql.SQL("NOTIFY {0}").format(sql.Identifier(recorder.channel_name)),
        ]
        self._last_position = sql.SQL("SELECT COALESCE(MAX(notification_id), 0) FROM {0}").format(events)
        self._copy = sql.SQL(
            "COPY {0} (originator_id, originator_version, topic, state) FROM STDIN (FORMAT BINARY)"
        ).format(events)
        self._positions = sql.SQL(
            "SELECT notification_id FROM {0} WHERE notification_id > %s ORDER BY notification_id"
        ).format(events)
        self._claim = sql.SQL(
            "COPY {0} (idempotency_key, fingerprint, response, position) FROM STDIN (FORMAT BINARY)"
        ).format(log)

    def existing(self, ids: Sequence[UUID]) -> set[UUID]:
        if not ids:
            return set()
        return {row[0] for row in self._conn.execute(self._existing, (_ids(ids),))}

    def claimed(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        return {row[0] for row in self._conn.execute(self._claimed, (_array(keys),))}

    def events_of(self, ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        found: dict[UUID, list[StoredEvent]] = defaultdict(list)
        if ids:
            # In binary, states come as they are stored: in text, as hex to decode.
            rows = self._conn.execute(self._events_of, (_ids(ids),), binary=True)
            # Keyed and stored by the caller's own id objects: a dict finds an id by identity
            # before comparing it (UUIDs compare in Python), and the caller looks them up often.
            asked = {i: i for i in ids}
            for originator_id, version, topic, state in rows:
                originator_id = asked.get(originator_id, originator_id)
                found[originator_id].append(StoredEvent(originator_id, version, topic, bytes(state)))
        return found

    def personal_keys(self, owners: Sequence[UUID], new: Collection[UUID] = ()) -> dict[UUID, bytes]:
        found = self._read_keys([owner for owner in owners if owner not in new] if new else owners)
        missing = [owner for owner in owners if owner not in found]
        if missing:
            fresh = [AESGCM.generate_key(bit_length=256) for _ in missing]
            owners_of = dict(zip(fresh, missing, strict=True))
            keys = "{" + ",".join([key.hex() for key in fresh]) + "}"
            with self._conn.transaction():
                added = self._conn.execute(self._add_keys, (_ids(missing), keys)).fetchall()
            # The keys inserted are ours: each tells its owner, without reading the owner's id back.
            found.update((owners_of[key], key) for key in (bytes(row[0]) for row in added))
            # Made by another process meanwhile: theirs is the key.
            found.update(self._read_keys([owner for owner in missing if owner not in found]))
        return found

    def _read_keys(self, owners: Sequence[UUID]) -> dict[UUID, bytes]:
        if not owners:
            return {}
        return {row[0]: bytes(row[1]) for row in self._conn.execute(self._keys, (_ids(owners),))}

    def write(self, events: Sequence[StoredEvent], claims: Sequence[IdempotencyClaim]) -> list[int]:
        try:
            with self._conn.transaction(), self._conn.cursor() as cursor:
                for statement in self._lock:
                    cursor.execute(statement)
                cursor.execute(self._last_position)
                last = cursor.fetchone()
                assert last is not None
                with cursor.copy(self._copy) as copy:
                    copy.write(_binary_events(events))
                cursor.execute(self._positions, (last[0],))
                positions = [row[0] for row in cursor.fetchall()]
                if len(positions) != len(events):
                    raise RuntimeError(f"wrote {len(events)} events but found {len(positions)} new positions")
                if claims:
                    with cursor.copy(self._claim) as copy:
                        copy.write(_binary_claims(claims, positions))
        except (self._errors.UniqueViolation, self._errors.LockNotAvailable) as exc:
            raise BatchConflict(str(exc).splitlines()[0]) from exc
        return positions

    def close(self) -> None:
        self._conn.close()


class SQLiteBatchStorage:
    def __init__(self, store: CrmEventStore, recorder: SQLiteCommandRecorder) -> None:
        self._recorder = recorder
        self._events = recorder.events_table_name
        self._conn = sqlite3.connect(recorder.datastore.pool.db_name, uri=True, timeout=30, isolation_level=None)

    def _chunks(self, values: Sequence[Any]) -> list[Sequence[Any]]:
        return [values[i : i + _SQLITE_CHUNK] for i in range(0, len(values), _SQLITE_CHUNK)]

    def _select(self, statement: str, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        for chunk in self._chunks(values):
            marks = ",".join("?" * len(chunk))
            rows += self._conn.execute(statement.format(marks=marks), list(chunk)).fetchall()
        return rows

    def existing(self, ids: Sequence[UUID]) -> set[UUID]:
        statement = (
            f"SELECT originator_id FROM {self._events} WHERE originator_version = 1 AND originator_id IN ({{marks}})"
        )
        return {UUID(row[0]) for row in self._select(statement, [i.hex for i in ids])}

    def claimed(self, keys: Sequence[str]) -> set[str]:
        statement = "SELECT idempotency_key FROM command_log WHERE idempotency_key IN ({marks})"
        return {row[0] for row in self._select(statement, keys)}

    def events_of(self, ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        statement = (
            f"SELECT originator_id, originator_version, topic, state FROM {self._events} "
            "WHERE originator_id IN ({marks}) ORDER BY originator_id, originator_version"
        )
        found: dict[UUID, list[StoredEvent]] = defaultdict(list)
        for originator_id, version, topic, state in self._select(statement, [i.hex for i in ids]):
            aggregate = UUID(originator_id)
            found[aggregate].append(StoredEvent(aggregate, version, topic, bytes(state)))
        return found

    def personal_keys(self, owners: Sequence[UUID], new: Collection[UUID] = ()) -> dict[UUID, bytes]:
        if not owners:
            return {}
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.executemany(
                "INSERT INTO personal_keys VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(owner.hex, AESGCM.generate_key(bit_length=256)) for owner in owners],
            )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        statement = "SELECT contact_id, key FROM personal_keys WHERE contact_id IN ({marks})"
        return {UUID(row[0]): bytes(row[1]) for row in self._select(statement, [o.hex for o in owners])}

    def write(self, events: Sequence[StoredEvent], claims: Sequence[IdempotencyClaim]) -> list[int]:
        try:
            ids = self._recorder.insert_events(events, idempotency=list(claims))
        except IntegrityError as exc:
            raise BatchConflict(str(exc)) from exc
        assert ids is not None
        return list(ids)

    def close(self) -> None:
        self._conn.close()


# COPY's binary format (PostgreSQL's "COPY", section "Binary Format"), built in one piece:
# psycopg's ``write_row`` adapts each value of each row on its own, which costs more than
# the row's bytes. A row: its number of fields, then each field's length and bytes.
_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
_TRAILER = struct.pack("!h", -1)
_EVENT_HEAD = struct.Struct("!hi16siqi")  # 4 fields; uuid (16 bytes); int8; the topic's length
_LENGTH = struct.Struct("!i")
_CLAIM_TAIL = struct.Struct("!iq")  # the position: an int8
#: jsonb's binary form: a version byte, then the JSON text (which PostgreSQL parses).
_JSONB_VERSION = b"\x01"
_JSON = msgspec.json.Encoder()


def _binary_events(events: Sequence[StoredEvent]) -> bytes:
    """``originator_id, originator_version, topic, state`` of each event."""
    parts = [_HEADER]
    head, length = _EVENT_HEAD.pack, _LENGTH.pack
    topics: dict[str, bytes] = {}
    for event in events:
        topic = topics.get(event.topic)
        if topic is None:
            topic = topics[event.topic] = event.topic.encode()
        originator = event.originator_id
        parts += (
            head(
                4,
                16,
                (originator if isinstance(originator, UUID) else UUID(originator)).bytes,
                8,
                event.originator_version,
                len(topic),
            ),
            topic,
            length(len(event.state)),
            event.state,
        )
    parts.append(_TRAILER)
    return b"".join(parts)


def _binary_claims(claims: Sequence[IdempotencyClaim], positions: Sequence[int]) -> bytes:
    """``idempotency_key, fingerprint, response, position`` of each claim."""
    parts = [_HEADER]
    length = _LENGTH.pack
    for claim in claims:
        key, fingerprint = claim.key.encode(), claim.fingerprint.encode()
        response = _JSONB_VERSION + _JSON.encode(claim.response)
        parts += (
            struct.pack("!hi", 4, len(key)),
            key,
            length(len(fingerprint)),
            fingerprint,
            length(len(response)),
            response,
            _CLAIM_TAIL.pack(8, positions[claim.last_event]),
        )
    parts.append(_TRAILER)
    return b"".join(parts)


def _ids(ids: Sequence[UUID]) -> str:
    """A PostgreSQL array literal of ids, each in its 32 hex digits (which ``uuid`` reads
    as it reads the hyphenated form): ``{a…,b…}``, without a ``str`` of each."""
    return "{" + ",".join([i.hex for i in ids]) + "}"


def _array(values: Sequence[str]) -> str:
    """A PostgreSQL array literal: ``{"a","b"}``."""
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"
