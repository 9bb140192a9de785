"""The outbox relay: publishes the event store's notification log to Kafka, in order,
and records how far it got only after the broker acknowledged.

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

from eventsourcing.persistence import Tracking

from streams.deadletters import DeadLetters
from streams.envelope import Envelope, from_domain_event
from streams.faults import is_outage
from streams.records import Record

log = logging.getLogger(__name__)

RELAY_NAME = "relay"


class Publisher(Protocol):
    def publish(self, envelopes: Sequence[Envelope]) -> list[tuple[Envelope, Exception]]:
        """Returns once every envelope is durably accepted or refused for good; answers the
        refused ones with the broker's reason. Raises when the broker is unreachable."""


class Relay:
    """A crash between publishing and recording the position republishes that batch on
    restart (at-least-once); consumers drop the repeats by ``(subject, sequence)``."""

    def __init__(self, store: Any, publisher: Publisher, dead_letters: DeadLetters, batch_size: int = 500) -> None:
        self._store = store
        self._publisher = publisher
        self._dead_letters = dead_letters
        self._batch_size = batch_size
        self.dead_lettered = 0
        self._tracking = store.factory.tracking_recorder()
        self._position: int | None = None
        self._wake = threading.Event()

    @property
    def position(self) -> int:
        """The last notification id the broker acknowledged."""
        if self._position is None:
            self._position = self._tracking.max_tracking_id(RELAY_NAME) or 0
        return self._position

    def publish_pending(self) -> int:
        """Publishes the next batch; answers how many events it published."""
        notifications = self._store.recorder.select_notifications(
            start=self.position, limit=self._batch_size, inclusive_of_start=False
        )
        if not notifications:
            return 0
        envelopes = []
        for n in notifications:
            try:
                envelopes.append(self._envelope(n))
            except Exception as exc:
                if is_outage(exc):
                    raise
                self._dead_letter(n, None, exc)
        for envelope, refusal in self._publisher.publish(envelopes):
            self._dead_letter(None, envelope, refusal)
        last = notifications[-1].id
        self._tracking.insert_tracking(Tracking(RELAY_NAME, last))
        self._position = last
        return len(notifications)

    def _envelope(self, notification: Any) -> Envelope:
        """The event as recorded (personal fields sealed, the hash chain attached), encoded
        once here so that an event that cannot be is found before anything is sent."""
        event, chain = self._store.read_sealed(notification)
        envelope = from_domain_event(event, notification.id, chain)
        envelope.to_json()
        return envelope

    def _dead_letter(self, notification: Any, envelope: Envelope | None, error: Exception) -> None:
        """Sets one event aside, durably, before the relay's position moves past it."""
        if envelope is not None:
            key, position, version = envelope.subject, envelope.position, envelope.sequence
            chain_hash, value = envelope.chainhash, envelope.to_json()
        else:
            key, position, version = str(notification.originator_id), notification.id, notification.originator_version
            chain_hash, value = None, bytes(notification.state)
        log.error("relay cannot publish position %s (%s v%s): %s; dead-lettered", position, key, version, error)
        record = Record("log", 0, position, key.encode(), value)
        extra = {"aggregate": key, "version": version, "chainhash": chain_hash}
        self._dead_letters.send(RELAY_NAME, record, error, extra)
        self.dead_lettered += 1

    def wake(self) -> None:
        """New events were saved in this process: publish without waiting out the poll."""
        self._wake.set()

    def close(self) -> None:
        close = getattr(self._publisher, "close", None)
        if close is not None:
            close()

    def run(self, stop: threading.Event, idle_wait: float = 0.5) -> None:
        while not stop.is_set():
            if self.publish_pending() == 0:
                self._wake.wait(idle_wait)
                self._wake.clear()
