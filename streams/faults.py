"""Which failures are outages (wait and retry: the same work will succeed later) and which
belong to the work itself (retrying cannot help: isolate it and dead-letter it).

A long-running process asks ``is_outage`` before deciding: an outage never dead-letters
anything, and a poison never makes a process wait forever.
"""

from __future__ import annotations

import sqlite3

import duckdb
import eventsourcing.persistence as es
import psycopg
from kafka import errors as kafka_errors

_OUTAGES: tuple[type[BaseException], ...] = (
    es.OperationalError,  # the event store's connection, pool or lock timeouts
    es.InterfaceError,
    psycopg.OperationalError,  # includes the pool's timeout and a server shutting down
    psycopg.InterfaceError,
    # The database refuses every write, not one record's: a failover left it read-only, a
    # grant or a table is missing. Waiting for the operator is right; blaming records is not.
    psycopg.errors.ReadOnlySqlTransaction,
    psycopg.errors.InsufficientPrivilege,
    psycopg.errors.UndefinedTable,
    psycopg.errors.InvalidSchemaName,
    duckdb.IOException,  # the file is held by another process, or the disk is full
    kafka_errors.KafkaConnectionError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.NodeNotReadyError,
    ConnectionError,
    TimeoutError,
)
#: Every type an outage may have; Kafka's errors are outages only when the client marks
#: them retriable, which ``is_outage`` checks.
OUTAGE_TYPES = (*_OUTAGES, kafka_errors.KafkaError, sqlite3.OperationalError)
#: SQLite says "operational" of mistakes in SQL too; only these are waits.
_SQLITE_WAITS = ("locked", "busy", "unable to open", "disk i/o")


def is_outage(error: BaseException) -> bool:
    """True when ``error`` says a server or file was unreachable, not that the data was bad.
    eventsourcing wraps the driver's errors: the cause is checked too."""
    if isinstance(error, _OUTAGES) or isinstance(error.__cause__, _OUTAGES):
        return True
    if isinstance(error, kafka_errors.KafkaError):
        return bool(getattr(error, "retriable", False))
    if isinstance(error, sqlite3.OperationalError):
        return any(wait in str(error).lower() for wait in _SQLITE_WAITS)
    return False


#: What a broker answers about one record that no retry can change: the relay dead-letters
#: that record. Any other refusal (authorization, say) stops the relay until it is mended.
REFUSALS: tuple[type[BaseException], ...] = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.InvalidRecordError,
    kafka_errors.CorruptRecordError,
)


class Backoff:
    """Exponential waits between retries of one failing thing: 0.5 s doubling to ``cap``,
    back to the start after a success."""

    def __init__(self, first: float = 0.5, cap: float = 30.0) -> None:
        self._first = first
        self._cap = cap
        self._next = first

    def next_wait(self) -> float:
        wait = self._next
        self._next = min(self._next * 2, self._cap)
        return wait

    def reset(self) -> None:
        self._next = self._first
