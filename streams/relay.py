"""The outbox relay: publishes the event store's notification log to Kafka, in order,
and records how far it got only after the broker acknowledged."""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from eventsourcing.persistence import Tracking

from streams.envelope import Envelope, from_domain_event

log = logging.getLogger(__name__)

RELAY_NAME = "relay"


class Publisher(Protocol):
    def publish(self, envelopes: list[Envelope]) -> None:
        """Returns once every envelope is durably accepted; raises otherwise."""


class Relay:
    """A crash between publishing and recording the position republishes that batch on
    restart (at-least-once); consumers drop the repeats by ``(subject, sequence)``."""

    def __init__(self, store: Any, publisher: Publisher, batch_size: int = 500) -> None:
        self._store = store
        self._publisher = publisher
        self._batch_size = batch_size
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
        # Published as recorded: personal fields sealed, the hash chain attached.
        envelopes = [
            from_domain_event(event, n.id, chain)
            for n in notifications
            for event, chain in [self._store.read_sealed(n)]
        ]
        self._publisher.publish(envelopes)
        last = notifications[-1].id
        self._tracking.insert_tracking(Tracking(RELAY_NAME, last))
        self._position = last
        return len(notifications)

    def wake(self) -> None:
        """New events were saved in this process: publish without waiting out the poll."""
        self._wake.set()

    def run(self, stop: threading.Event, idle_wait: float = 0.5) -> None:
        while not stop.is_set():
            if self.publish_pending() == 0:
                self._wake.wait(idle_wait)
                self._wake.clear()
