"""The event store's recorders, extended with what must change in the same transaction
as a command's events:

- ``Idempotency-Key``: a repeated command returns the first answer and records nothing.
  The key is written with the command's events, so there is no moment at which the events
  exist without the key (a crash cannot make a retry record twice) or the key without them.
- personal-data keys: erasing a person deletes their key in the transaction that records
  the erasure, so the erasure event and the unreadable data come together or not at all.

They are chosen through eventsourcing's public factory setting (``APPLICATION_RECORDER_TOPIC``,
see ``commands.store.persistence_env``), but eventsourcing has no public hook for statements
in the events' transaction: ``_insert_events`` and ``_fetch_ids_after_insert_events`` are its
private methods. So eventsourcing is pinned to one exact version (pyproject.toml), and
``tests/integration/test_eventsourcing_contract.py`` fails, on SQLite and PostgreSQL, the day
they change name, signature or what these overrides rely on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Identifier


@dataclass(frozen=True)
class IdempotencyClaim:
    """``fingerprint`` tells a true repeat from a different command reusing the key.
    ``last_event`` is the index, among the events saved in the transaction, of this
    command's last event (-1: the last of all), whose position the answer carries."""

    key: str
    fingerprint: str
    response: dict[str, Any]
    last_event: int = -1


def _rows(claims: Sequence[IdempotencyClaim] | None, ids: Sequence[int] | None) -> list[tuple[Any, ...]]:
    if not claims or not ids:
        return []
    return [(c.key, c.fingerprint, json.dumps(c.response, default=str), ids[c.last_event]) for c in claims]


@dataclass(frozen=True)
class RecordedAnswer:
    fingerprint: str
    response: dict[str, Any]
    position: int


class CommandRecorder(Protocol):
    """What both recorders add to eventsourcing's: answers of idempotent commands and the
    keys of personal data."""

    def find_answer(self, key: str) -> RecordedAnswer | None: ...

    def personal_key(self, contact_id: UUID, create: bool) -> bytes | None: ...


def fingerprint(command: object) -> str:
    return hashlib.sha256(repr(command).encode()).hexdigest()


class SQLiteCommandRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            "CREATE TABLE IF NOT EXISTS command_log ("
            "idempotency_key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
            "response TEXT NOT NULL, position INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS personal_keys (contact_id TEXT PRIMARY KEY, key BLOB NOT NULL)",
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """eventsourcing's (private) step that inserts the events, inside the transaction that
        commits them, with the keyword arguments given to ``save``; answers their ids in order."""
        ids = super()._insert_events(c, stored_events, **kwargs)
        # A second use of a key violates the primary key: the whole transaction fails.
        for row in _rows(kwargs.get("idempotency"), ids):
            c.execute("INSERT INTO command_log VALUES (?, ?, ?, ?)", row)
        for contact_id in kwargs.get("erase_keys") or ():
            c.execute("PRAGMA secure_delete = ON")  # no copy left in free pages of the file
            c.execute("DELETE FROM personal_keys WHERE contact_id = ?", (contact_id.hex,))
        return ids

    def personal_key(self, contact_id: UUID, create: bool) -> bytes | None:
        with self.datastore.transaction(commit=create) as c:
            if create:
                c.execute(
                    "INSERT INTO personal_keys VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (contact_id.hex, AESGCM.generate_key(bit_length=256)),
                )
            c.execute("SELECT key FROM personal_keys WHERE contact_id = ?", (contact_id.hex,))
            row = c.fetchone()
        return None if row is None else bytes(row[0])

    def find_answer(self, key: str) -> RecordedAnswer | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute("SELECT fingerprint, response, position FROM command_log WHERE idempotency_key = ?", (key,))
            row = c.fetchone()
        return None if row is None else RecordedAnswer(row[0], json.loads(row[1]), row[2])


class PostgresCommandRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.command_log = f"{self.events_table_name.removesuffix('_events')}_command_log"
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.{1} ("
                "idempotency_key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
                "response JSONB NOT NULL, position BIGINT NOT NULL)"
            ).format(Identifier(self.datastore.schema), Identifier(self.command_log))
        )
        self.personal_keys = f"{self.events_table_name.removesuffix('_events')}_personal_keys"
        self.sql_create_statements.append(
            SQL("CREATE TABLE IF NOT EXISTS {0}.{1} (contact_id UUID PRIMARY KEY, key BYTEA NOT NULL)").format(
                Identifier(self.datastore.schema), Identifier(self.personal_keys)
            )
        )

        # Every command reads the events newer than its cached aggregate: that one query is
        # written once, as text, rather than composed and converted again for each command.
        self._select_newer = (
            SQL(
                "SELECT originator_id, originator_version, topic, state FROM {0}.{1} "
                "WHERE originator_id = %s AND originator_version > %s ORDER BY originator_version ASC"
            )
            .format(Identifier(self.datastore.schema), Identifier(self.events_table_name))
            .as_string()
        )

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """eventsourcing's, with the events after a version (what bringing a cached aggregate
        up to date asks) read by a statement made once, into plain rows."""
        if gt is None or lte is not None or desc or limit is not None:
            return super().select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        return self._select_newer_events(originator_id, gt)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as eventsourcing's own
    def _select_newer_events(self, originator_id: UUID | str, gt: int) -> Sequence[StoredEvent]:
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(self._select_newer, (originator_id, gt), prepare=True)
            return [StoredEvent(row[0], row[1], row[2], bytes(row[3])) for row in curs.fetchall()]

    def _insert_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        """eventsourcing's (private) step before the events are inserted, in their transaction,
        with the keyword arguments given to ``save``."""
        for contact_id in kwargs.get("erase_keys") or ():
            curs.execute(
                SQL("DELETE FROM {0}.{1} WHERE contact_id = %s").format(
                    Identifier(self.datastore.schema), Identifier(self.personal_keys)
                ),
                (contact_id,),
            )
        super()._insert_events(curs, stored_events, **kwargs)

    def personal_key(self, contact_id: UUID, create: bool) -> bytes | None:
        table = SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(self.personal_keys))
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            if create:
                curs.execute(
                    SQL("INSERT INTO {0} VALUES (%s, %s) ON CONFLICT DO NOTHING").format(table),
                    (contact_id, AESGCM.generate_key(bit_length=256)),
                )
            curs.execute(SQL("SELECT key FROM {0} WHERE contact_id = %s").format(table), (contact_id,))
            row = curs.fetchone()
        return None if row is None else bytes(row["key"])

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """eventsourcing's (private) step after the events are inserted, still in their
        transaction; answers their notification ids in order."""
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        rows = _rows(kwargs.get("idempotency"), ids)
        if rows:
            curs.execute(
                SQL(
                    "INSERT INTO {0}.{1} SELECT * FROM unnest(%s::text[], %s::text[], %s::jsonb[], %s::bigint[]) "
                    "RETURNING idempotency_key"
                ).format(Identifier(self.datastore.schema), Identifier(self.command_log)),
                [list(column) for column in zip(*rows, strict=True)],
            )
            # Fetching syncs the pipeline, so a reused key fails here, inside the transaction.
            curs.fetchall()
        return ids

    def find_answer(self, key: str) -> RecordedAnswer | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL("SELECT fingerprint, response, position FROM {0}.{1} WHERE idempotency_key = %s").format(
                    Identifier(self.datastore.schema), Identifier(self.command_log)
                ),
                (key,),
            )
            row = curs.fetchone()
        if row is None:
            return None
        return RecordedAnswer(row["fingerprint"], row["response"], row["position"])
