"""What every deadline watcher shares: it follows the event stream from its beginning into
memory (no stored position: a restart rebuilds what it knows), and at each tick records
what has fallen due. A deadline recorded twice is refused by its aggregate (and by the
idempotency key), so a restart or a second watcher changes nothing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from commands.bus import CommandBus
from streams.envelope import Envelope
from streams.records import Source

log = logging.getLogger(__name__)


class StreamWatcher:
    #: What the watcher is called in messages.
    name = "watcher"

    def __init__(
        self, bus: CommandBus, source: Source, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.bus = bus
        self.source = source
        self.clock = clock
        self.source.start(dict)  # no stored position: always from the beginning

    def follow(self, timeout: float = 0.0) -> int:
        """Takes in the events that arrived; answers how many records it read."""
        records = self.source.poll(5000, timeout)
        for record in records:
            try:
                self.apply(Envelope.from_json(record.value))
            except (KeyError, TypeError, ValueError) as unreadable:  # InvalidEnvelope is a ValueError
                # The watcher reads from the beginning at every start: a record it cannot
                # read would stop it at the same place every time. Its deadline is lost, the
                # others are kept.
                log.warning(
                    "%s skipped %s[%s]@%s: %r", self.name, record.source, record.partition, record.offset, unreadable
                )
        return len(records)

    def apply(self, e: Envelope) -> None:
        raise NotImplementedError

    def tick(self) -> int:
        """Records everything due now; answers how many commands it issued."""
        raise NotImplementedError

    def catch_up(self, deadline: float = 300.0) -> None:
        """Follows until it has read everything the stream held when asked."""
        give_up = time.monotonic() + deadline
        while not (self.follow(timeout=0.2) == 0 and self.source.caught_up()):
            if time.monotonic() > give_up:
                raise TimeoutError(f"the {self.name} could not catch up within {deadline}s")

    def run(self, stop: threading.Event, interval: float = 15.0) -> None:
        while not stop.is_set():
            while self.follow(timeout=0.5):
                pass
            self.tick()
            stop.wait(interval)

    def close(self) -> None:
        self.source.close()
