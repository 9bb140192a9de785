"""Which relay publishes: a lease that one process of a deployment holds at a time.

Several ``crm relay`` processes (and ``crm serve`` without ``--api-only``) may run against
one event store for availability. Each asks for the lease before every batch; the one that
holds it publishes, the others stand by and ask again at their next poll. The holder keeps
the lease for as long as its process lives, so a crash or a stop hands it over at once:

- PostgreSQL event store: a session-level advisory lock (``pg_try_advisory_lock``) on a
  connection of its own. Advisory locks belong to the database, so every relay of one event
  store competes for the same lock. The session ends when its process dies (or the server
  notices, through TCP keepalives, that the host is gone) and the lock with it. The
  connection must reach PostgreSQL itself, not a transaction-pooling proxy.
- SQLite event store: ``flock`` on a file beside the store; the kernel releases it when
  the process exits.

Whoever takes the lease over reads the relay's position from the event store afresh, so
nothing is skipped and nothing is reordered. A batch the previous holder had sent but not
yet recorded is published again: Kafka delivery is at least once (docs/KAFKA.md).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
import threading
from pathlib import Path
from typing import IO, Any, Protocol

import psycopg

from dsn import parse

log = logging.getLogger(__name__)

#: A lost client is noticed by the server within about ``idle + interval × count`` seconds,
#: and a lost server by the client likewise: the standby then takes over.
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 5, 2, 3


class Lease(Protocol):
    @property
    def term(self) -> int:
        """How many times this process took the lease: a holder whose term changed since it
        last looked must read its position again (another process may have moved it)."""

    def hold(self) -> bool:
        """True when this process holds the lease now: takes it if it is free, and checks
        that it still holds it otherwise. Raises when the lease's store is unreachable (the
        lease is then let go, and taken again once it answers)."""

    def close(self) -> None:
        """Lets the lease go (a standby takes it at its next poll)."""


def lease_for(url: str, name: str) -> Lease:
    """The lease ``name`` of the event store at ``url`` (``postgresql://…`` or ``sqlite:///…``)."""
    parsed = parse(url, "event store URL")
    if parsed.kind == "postgresql":
        return PostgresLease(url, name)
    assert parsed.path is not None
    return FileLease(parsed.path.with_name(f"{parsed.path.name}.{name}.lock"), name)


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock``, apart from the migrations' keys."""
    digest = hashlib.blake2b(f"eventcrm lease {name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _holder() -> str:
    return f"pid {os.getpid()} on {socket.gethostname()}"


class PostgresLease:
    def __init__(self, url: str, name: str) -> None:
        self._url = url
        self._name = name
        self._key = lock_key(name)
        self._conn: psycopg.Connection[Any] | None = None
        self._held = False
        self._term = 0
        self._standing_by = False
        self._mutex = threading.Lock()

    @property
    def term(self) -> int:
        return self._term

    def hold(self) -> bool:
        with self._mutex:
            try:
                conn = self._connection()
                if self._held:
                    conn.execute("SELECT 1")  # the session, and so the lock, is still there
                    return True
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
            except psycopg.Error as exc:
                self._drop(exc)
                raise
            if row is not None and row[0]:
                self._held, self._standing_by = True, False
                self._term += 1
                log.info("%s active: %s holds the %s lease", self._name, _holder(), self._name)
            elif not self._standing_by:
                self._standing_by = True
                log.info("%s standing by: another process holds the %s lease", self._name, self._name)
            return self._held

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            if self._held:  # the lock ended with the session it belonged to
                log.warning("%s lost the %s lease: its connection closed", self._name, self._name)
                self._held = False
            self._conn = psycopg.connect(
                self._url,
                autocommit=True,
                connect_timeout=5,
                application_name=f"eventcrm {self._name} ({_holder()})",
                keepalives=1,
                keepalives_idle=KEEPALIVE_IDLE,
                keepalives_interval=KEEPALIVE_INTERVAL,
                keepalives_count=KEEPALIVE_COUNT,
            )
            # The server side of the same: a holder whose host vanished loses the lock in
            # seconds rather than after the system's two hours. An idle session is never
            # ended by the server, or the lease would change hands while nothing is wrong.
            settings = [
                ("tcp_keepalives_idle", KEEPALIVE_IDLE),
                ("tcp_keepalives_interval", KEEPALIVE_INTERVAL),
                ("tcp_keepalives_count", KEEPALIVE_COUNT),
                ("statement_timeout", 5000),
            ]
            if self._conn.info.server_version >= 140000:
                settings.append(("idle_session_timeout", 0))
            for setting, value in settings:
                self._conn.execute(f"SET {setting} = {value}")
        return self._conn

    def _drop(self, error: BaseException) -> None:
        if self._held:
            log.warning("%s lost the %s lease: %s", self._name, self._name, error)
        self._held = False
        self._standing_by = False
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception as exc:  # a connection that already failed may not close cleanly
                log.debug("closing the %s lease's connection: %s", self._name, exc)

    def close(self) -> None:
        with self._mutex:
            if self._held:
                log.info("%s lets the %s lease go", self._name, self._name)
            self._held = False
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()  # ends the session: the lock goes with it


class FileLease:
    def __init__(self, path: Path, name: str) -> None:
        self._path = path
        self._name = name
        self._handle: IO[str] | None = None
        self._term = 0
        self._standing_by = False
        self._mutex = threading.Lock()

    @property
    def term(self) -> int:
        return self._term

    def hold(self) -> bool:
        with self._mutex:
            if self._handle is not None:
                return True
            self._path.parent.mkdir(parents=True, exist_ok=True)
            handle = self._path.open("a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                if not self._standing_by:
                    self._standing_by = True
                    log.info("%s standing by: another process holds %s", self._name, self._path)
                return False
            self._handle, self._standing_by = handle, False
            self._term += 1
            log.info("%s active: %s holds %s", self._name, _holder(), self._path)
            return True

    def close(self) -> None:
        with self._mutex:
            handle, self._handle = self._handle, None
            if handle is not None:
                handle.close()
