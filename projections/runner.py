"""Runs one projection: poll a batch from its source, write rows and positions in one
transaction, then tell the source. Errors stop the projector; nothing is skipped."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from projections.positions import last_offsets
from streams.records import Channel, Record, Source

log = logging.getLogger(__name__)


class Writer(Protocol):
    name: str

    def positions(self) -> Mapping[Channel, int]:
        """The last offset durably projected, per channel."""

    def write(self, records: Sequence[Record]) -> None:
        """Applies the batch and stores its positions in one transaction; all or nothing."""


class ProjectorRunner:
    def __init__(self, writer: Writer, source: Source, batch_size: int = 1000) -> None:
        self.writer = writer
        self.source = source
        self.batch_size = batch_size
        self.processed = 0
        self._started = False

    def run_once(self, timeout: float = 0.5) -> int:
        """Projects at most one batch; answers how many records it held."""
        if not self._started:
            self.source.start(self.writer.positions)
            self._started = True
        records = self.source.poll(self.batch_size, timeout)
        if not records:
            return 0
        self.writer.write(records)
        self.source.committed(last_offsets(records))
        self.processed += len(records)
        return len(records)

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
        self.source.close()
        close_writer = getattr(self.writer, "close", None)
        if close_writer is not None:
            close_writer()
