"""How the relay in one process learns, within milliseconds, of events saved by another:
PostgreSQL's LISTEN/NOTIFY.

- Every process that records events over Kafka (``crm serve``, ``crm serve --api-only``,
  ``crm automate``, ``crm import``…) has an ``Announcer``: after each successful save it
  sends ``NOTIFY`` on the event store's database, from a thread and a connection of its
  own, so a command's answer never waits for it and never fails because of it. Saves made
  while a ``NOTIFY`` is on its way are announced together by the next one.
- The relay has a ``Listener``: a connection of its own that ``LISTEN``s and wakes the
  relay on every notification.

A notification is only a hint to look now. It carries nothing, and losing one loses no
event: the relay still reads the notification log from its recorded position, and still
looks every ``idle_wait`` seconds without being woken (streams/relay.py). So an announcer
that cannot reach PostgreSQL only logs it and tries again at the next save, and a listener
whose connection broke wakes the relay once it is back (for what was saved meanwhile).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from dsn import parse
from streams.faults import Backoff
from streams.lease import KEEPALIVE_COUNT, KEEPALIVE_IDLE, KEEPALIVE_INTERVAL

log = logging.getLogger(__name__)

#: One deployment per event-store database (as the relay lease's lock key assumes).
CHANNEL = "eventcrm_saved"
#: How long a listener waits on its connection before it looks whether it was closed.
LISTEN_TICK = 1.0


def _connect(url: str, role: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        url,
        autocommit=True,
        connect_timeout=5,
        application_name=f"eventcrm {role}",
        keepalives=1,
        keepalives_idle=KEEPALIVE_IDLE,
        keepalives_interval=KEEPALIVE_INTERVAL,
        keepalives_count=KEEPALIVE_COUNT,
    )


def _is_postgresql(url: str) -> bool:
    return parse(url, "event store URL").kind == "postgresql"


def announcer_for(url: str) -> Announcer | None:
    """The announcer of saves to the event store at ``url``; None for SQLite, whose relay
    runs in the process that saves (``Relay.wake``)."""
    return Announcer(url) if _is_postgresql(url) else None


def listener_for(url: str) -> Listener | None:
    """A listener for saves to the event store at ``url``; None for SQLite."""
    return Listener(url) if _is_postgresql(url) else None


class Announcer:
    """Call ``saved`` after each save; ``close`` with the process's event store."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._pending = threading.Event()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._mutex = threading.Lock()
        self._failing = False
        #: Notifications sent (for tests and benchmarks).
        self.sent = 0

    def saved(self) -> None:
        """Never blocks and never raises: the save it follows has already committed."""
        self._pending.set()
        if self._thread is None:
            with self._mutex:
                if self._thread is None and not self._closed.is_set():
                    self._thread = threading.Thread(target=self._run, name="save-announcer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        conn: psycopg.Connection[Any] | None = None
        while not self._closed.is_set():
            if not self._pending.wait(LISTEN_TICK):
                continue
            # Cleared before sending: a save committed while this NOTIFY is on its way is
            # announced by the next one.
            self._pending.clear()
            try:
                if conn is None or conn.closed:
                    conn = _connect(self._url, "save announcer")
                    # Losing the NOTIFY in a crash is harmless (the relay polls), so its
                    # commit need not wait for the disk.
                    conn.execute("SET synchronous_commit = off")
                conn.execute(f"NOTIFY {CHANNEL}")
                self.sent += 1
                if self._failing:
                    log.info("announcing saves to the relay again")
                    self._failing = False
            except psycopg.Error as exc:
                if not self._failing:
                    log.warning("cannot announce saves to the relay (it finds them at its next poll): %s", exc)
                    self._failing = True
                if conn is not None:
                    conn.close()
                conn = None
                # Not sooner than the next save, and not more than once a second meanwhile.
                self._closed.wait(1.0)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        self._closed.set()
        self._pending.set()
        thread = self._thread
        if thread is not None:
            thread.join(LISTEN_TICK + 5)


class Listener:
    """Calls a wake-up function on every notification of a save, from a thread of its own,
    between ``start`` and ``close``."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        #: True while its connection listens (for tests).
        self.listening = threading.Event()
        #: How many connections have listened so far (for tests: a reconnection counts one).
        self.connections = 0

    def start(self, wake: Callable[[], None]) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._closed.clear()
        self._thread = threading.Thread(target=self._run, args=(wake,), name="relay-listener", daemon=True)
        self._thread.start()

    def _run(self, wake: Callable[[], None]) -> None:
        backoff = Backoff(0.5, 30.0)
        while not self._closed.is_set():
            try:
                with _connect(self._url, "relay listener") as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.connections += 1
                    self.listening.set()
                    backoff.reset()
                    wake()  # for what was saved before this connection listened
                    while not self._closed.is_set():
                        for _ in conn.notifies(timeout=LISTEN_TICK):
                            wake()
            except psycopg.Error as exc:
                wait = backoff.next_wait()
                log.warning("the relay cannot listen for saves (it polls meanwhile): %s; again in %.1fs", exc, wait)
                self._closed.wait(wait)
            finally:
                self.listening.clear()

    def close(self) -> None:
        self._closed.set()
        thread = self._thread
        if thread is not None:
            thread.join(LISTEN_TICK + 5)
