"""Runs one projection: poll a batch from its source, write rows and positions in one
transaction, then tell the source. Errors stop the projector; nothing is skipped."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from projections.positions import PositionsMoved, last_offsets
from streams.deadletters import DeadLetters
from streams.records import Channel, Record, Source

log = logging.getLogger(__name__)


Reject = Callable[[Record, Exception], None]


class Writer(Protocol):
    name: str

    def positions(self) -> Mapping[Channel, int]:
        """The last offset durably projected, per channel (and the generation it belongs to)."""

    def write(self, records: Sequence[Record], reject: Reject) -> None:
        """Applies the batch and stores its positions in one transaction; all or nothing.
        A record the projection cannot process is handed to ``reject`` (before the
        transaction) and the rest of the batch goes on. Raises ``PositionsMoved`` when a
        rebuild switched the tables since ``positions`` was read."""


class ProjectorRunner:
    def __init__(
        self, writer: Writer, source: Source, batch_size: int = 1000, dead_letters: DeadLetters | None = None
    ) -> None:
        self.writer = writer
        self.source = source
        self.batch_size = batch_size
        self.dead_letters = dead_letters
        self.processed = 0
        self.rejected = 0
        self.closed = False
        self._started = False

    def run_once(self, timeout: float = 0.5) -> int:
        """Projects at most one batch; answers how many records it held."""
        if not self._started:
            self.source.start(self.writer.positions)
            self._started = True
        records = self.source.poll(self.batch_size, timeout)
        if not records:
            return 0
        try:
            self.writer.write(records, self._reject)
        except PositionsMoved as moved:
            log.info("%s; seeking to the rebuilt positions", moved)
            self.source.start(self.writer.positions)
            return 0
        self.source.committed(last_offsets(records))
        self.processed += len(records)
        return len(records)

    def _reject(self, record: Record, error: Exception) -> None:
        """Dead-letters the record before its batch commits, so it is never just dropped."""
        if self.dead_letters is None:
            raise error
        log.error(
            "%s cannot project %s[%s]@%s: %s; dead-lettered",
            self.writer.name,
            record.source,
            record.partition,
            record.offset,
            error,
        )
        self.dead_letters.send(self.writer.name, record, error)
        self.rejected += 1

    def run_until_idle(self, timeout: float = 0.5, deadline: float = 300.0) -> int:
        """Projects until the source is caught up with what the stream held (catch-up for
        the demo, the CLI and tests). Raises ``TimeoutError`` after ``deadline`` seconds."""
        done = 0
        give_up = time.monotonic() + deadline
        while True:
            if time.monotonic() > give_up:
                raise TimeoutError(f"{self.writer.name} still busy after {deadline}s")
            n = self.run_once(timeout)
            done += n
            if n == 0 and self.source.caught_up():
                return done

    def run(self, stop: threading.Event, timeout: float = 0.5) -> None:
        while not stop.is_set():
            self.run_once(timeout)

    def close(self) -> None:
        self.closed = True
        self.source.close()
        close_writer = getattr(self.writer, "close", None)
        if close_writer is not None:
            close_writer()
