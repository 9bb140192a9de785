"""The outbox relay: publishes the event store's notification log to Kafka, in order,
and records how far it got only after the broker acknowledged.

It works in batches: one query reads a page of the log, each event is decoded and
encoded once (streams/log.py), the publisher sends them all and waits once for the
broker's acknowledgement of the lot, and one transaction records the new position.

Between batches the relay waits until it is woken: by a save in its own process, or, over
PostgreSQL, by a notification that another process saved (streams/wakeups.py); and at the
latest after ``idle_wait`` seconds, so a lost notification only delays an event.

Several relays may run against one event store, for availability: only the holder of the
relay lease (streams/lease.py) publishes; the others stand by, asking for the lease at
every poll (not at every notification), and whoever takes it over starts from the recorded
position. So two relays never publish side by side for longer than it takes a lost holder
to notice, and a subject's events are never reordered: at worst the last batch is published
twice (at-least-once).

The relay never stops on one event: an event it cannot encode, or one the broker refuses
for good (too large, say), goes to the dead letters with its position, aggregate, version
and hash (so that ``crm audit verify --kafka`` accounts for the hole it leaves on Kafka),
and the rest is published. An outage is not an event's fault: it propagates, and the
process's supervisor retries from the recorded position."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from eventsourcing.persistence import Notification, Tracking

from streams.deadletters import DeadLetters
from streams.faults import is_outage
from streams.lease import Lease
from streams.log import NotificationLog, Row, StoredEvents
from streams.outbox import Outgoing
from streams.records import Record
from streams.wakeups import Listener

log = logging.getLogger(__name__)

RELAY_NAME = "relay"
#: Events per batch: one query, one wait for the broker and one position per batch. Large
#: enough that those are a small share of the time; a batch is a few megabytes in memory.
BATCH_SIZE = 5000


class Publisher(Protocol):
    def publish(self, records: Sequence[Outgoing]) -> list[tuple[Outgoing, Exception]]:
        """Returns once every record is durably accepted or refused for good; answers the
        refused ones with the broker's reason. Raises when the broker is unreachable."""


class LeaseLost(ConnectionError):
    """This relay's lease ended while it published a batch: the batch is not recorded
    (the new holder publishes it again), and the relay starts over as a standby."""


class Relay:
    """A crash between publishing and recording the position republishes that batch on
    restart (at-least-once); consumers drop the repeats by ``(subject, sequence)``."""

    def __init__(
        self,
        store: Any,
        publisher: Publisher,
        dead_letters: DeadLetters,
        lease: Lease,
        batch_size: int = BATCH_SIZE,
        listener: Listener | None = None,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._dead_letters = dead_letters
        self._lease = lease
        self._batch_size = batch_size
        self.dead_lettered = 0
        self._log = NotificationLog(store)
        self._events = StoredEvents(store)
        self._tracking = store.factory.tracking_recorder()
        self._position: int | None = None
        self._term = 0
        self._wake = threading.Event()
        self._listener = listener
        #: Whether the last ``publish_pending`` found this process holding the lease.
        self.active = False

    @property
    def position(self) -> int:
        """The last notification id the broker acknowledged."""
        if self._position is None:
            self._position = self._tracking.max_tracking_id(RELAY_NAME) or 0
        return self._position

    def publish_pending(self) -> int:
        """Publishes the next batch when this process holds the relay lease; answers how
        many events it published (0 when there are none, or while another relay is active)."""
        self.active = self._lease.hold()
        if not self.active:
            return 0
        if self._lease.term != self._term:
            # Taken (again): whoever held the lease meanwhile may have moved the position.
            self._term = self._lease.term
            self._position = None
        rows = self._log.rows(self.position, self._batch_size)
        if not rows:
            return 0
        records = []
        for row in rows:
            try:
                records.append(self._outgoing(row))
            except Exception as exc:
                if is_outage(exc):
                    raise
                self._dead_letter(row.notification(), None, exc)
        for record, refusal in self._publisher.publish(records):
            self._dead_letter(None, record, refusal)
        if not self._lease.hold() or self._lease.term != self._term:
            raise LeaseLost("the relay lease changed hands while a batch was published; not recording it")
        last = rows[-1].id
        self._tracking.insert_tracking(Tracking(RELAY_NAME, last))
        self._position = last
        return len(rows)

    def _outgoing(self, row: Row) -> Outgoing:
        """The event as recorded (personal fields sealed, its hash chain attached) and its
        CloudEvent bytes; raises what decoding or encoding raises."""
        envelope, value = self._events.cloud_event(row)
        return Outgoing(envelope.aggregate_type, envelope.subject, envelope.sequence, row.id, envelope.chainhash, value)

    def _dead_letter(self, notification: Notification | None, record: Outgoing | None, error: Exception) -> None:
        """Sets one event aside, durably, before the relay's position moves past it."""
        if record is not None:
            key, position, version = record.subject, record.position, record.sequence
            chain_hash, value = record.chainhash, record.value
        else:
            assert notification is not None
            key, position, version = str(notification.originator_id), notification.id, notification.originator_version
            chain_hash, value = None, bytes(notification.state)
        log.error("relay cannot publish position %s (%s v%s): %s; dead-lettered", position, key, version, error)
        letter = Record("log", 0, position, key.encode(), value)
        extra = {"aggregate": key, "version": version, "chainhash": chain_hash}
        self._dead_letters.send(RELAY_NAME, letter, error, extra)
        self.dead_lettered += 1

    def wake(self) -> None:
        """New events were saved (in this process, or in another, as its listener heard):
        publish without waiting out the poll."""
        self._wake.set()

    def close(self) -> None:
        """Closes the listener and the publisher. The lease is the process's (a relay built
        again after a failure keeps it), and goes when the process's container closes."""
        if self._listener is not None:
            self._listener.close()
        close = getattr(self._publisher, "close", None)
        if close is not None:
            close()

    def run(self, stop: threading.Event, idle_wait: float = 0.5) -> None:
        """Publishes until ``stop``; with nothing to publish, waits until woken, or
        ``idle_wait`` seconds at most, and looks again. A standby (another relay holds the
        lease) asks for the lease every ``idle_wait`` seconds, woken or not."""
        listener = self._listener
        if listener is not None:
            listener.start(self.wake)
        try:
            while not stop.is_set():
                # Cleared before looking, so that a wake-up that comes while a batch is read or
                # published makes the relay look again at once rather than after idle_wait.
                self._wake.clear()
                if self.publish_pending() > 0:
                    continue
                if self.active:
                    self._wake.wait(idle_wait)
                else:
                    stop.wait(idle_wait)
        finally:
            if listener is not None:
                listener.close()
