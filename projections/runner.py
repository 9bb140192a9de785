"""Runs one projection: poll a batch from its source, write rows and positions in one
transaction, then tell the source.

A record that cannot be projected, whether its projection raises or the database refuses
its rows, is a poison: it is found by halving the batch, dead-lettered, and the rest flows
on. An outage (``streams.faults.is_outage``) is never blamed on a record: it propagates,
and the process's supervisor retries from the stored positions once the store is back."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Generic, Protocol, TypeVar

from projections.positions import PositionsMoved, last_offsets
from streams.deadletters import DeadLetters
from streams.faults import is_outage
from streams.records import Channel, Record, Source

log = logging.getLogger(__name__)


Reject = Callable[[Record, Exception], None]


class Writer(Protocol):
    name: str

    def positions(self) -> Mapping[Channel, int]:
        """The last offset durably projected, per channel (and the generation it belongs to)."""

    def write(self, records: Sequence[Record], reject: Reject, skip: Collection[Record] = ()) -> None:
        """Applies the batch and stores its positions in one transaction; all or nothing.
        A record the projection cannot process is handed to ``reject`` (before the
        transaction) and the rest of the batch goes on; records in ``skip`` (already
        dead-lettered) are not applied, but their positions are stored. Raises
        ``PositionsMoved`` when a rebuild switched the tables since ``positions`` was read."""


W = TypeVar("W", bound=Writer)


class ProjectorRunner(Generic[W]):
    def __init__(
        self,
        writer: W,
        source: Source,
        batch_size: int = 1000,
        dead_letters: DeadLetters | None = None,
        gather: float = 0.0,
    ) -> None:
        """``gather``: in ``run``, seconds to wait for more records once a batch has begun,
        for a writer whose transaction costs far more than its rows (the warehouse's), so
        that a trickle of events is written in a few batches rather than one per event.
        Catching up (``run_until_idle``) finds its batches full and waits for nothing."""
        self.writer = writer
        self.source = source
        self.batch_size = batch_size
        self.gather = gather
        self.dead_letters = dead_letters
        self.processed = 0
        self.rejected = 0
        self.closed = False
        self._started = False

    def run_once(self, timeout: float = 0.5, gather: float = 0.0) -> int:
        """Projects at most one batch; answers how many records it held. Once the batch has
        begun, waits up to ``gather`` seconds for it to fill."""
        if not self._started:
            self.source.start(self.writer.positions)
            self._started = True
        records = self.source.poll(self.batch_size, timeout)
        if not records:
            return 0
        if gather > 0:
            until = time.monotonic() + gather
            while len(records) < self.batch_size and (left := until - time.monotonic()) > 0:
                records += self.source.poll(self.batch_size - len(records), left)
        try:
            self._write(records, set())
        except PositionsMoved as moved:
            log.info("%s; seeking to the rebuilt positions", moved)
            self.source.start(self.writer.positions)
            return 0
        self.source.committed(last_offsets(records))
        self.processed += len(records)
        return len(records)

    def _write(self, records: Sequence[Record], skip: set[Record]) -> None:
        """Writes the batch; when the store refuses it for a reason other than an outage,
        halves it until the one record that causes the refusal is alone, dead-letters that
        record, and writes the rest. ``skip`` collects the batch's dead-lettered records."""

        def reject(record: Record, error: Exception) -> None:
            self._reject(record, error)
            skip.add(record)

        try:
            self.writer.write(records, reject, skip)
        except PositionsMoved:
            raise
        except Exception as exc:
            suspects = [r for r in records if r not in skip]
            if is_outage(exc) or self.dead_letters is None or not suspects:
                raise  # not a record's fault (or nowhere to set one aside): retry later
            if len(suspects) > 1:
                middle = len(records) // 2
                self._write(records[:middle], skip)
                self._write(records[middle:], skip)
                return
            reject(suspects[0], exc)
            self.writer.write(records, reject, skip)

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
            self.run_once(timeout, self.gather)

    def close(self) -> None:
        self.closed = True
        self.source.close()
        close_writer = getattr(self.writer, "close", None)
        if close_writer is not None:
            close_writer()
