"""A stream whose envelopes have their sealed personal fields opened on the way in, for
the projections that show people their customers' names (the operational read model).
The others consume the sealed stream as it is.

The opened envelope travels beside the record's bytes (``Record.envelope``), decoded once
and never encoded again: the writer projects it as it is, and a dead letter keeps the
sealed bytes that came in."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from streams.envelope import InvalidEnvelope
from streams.records import Channel, Record, Source


class OpenedSource:
    def __init__(self, inner: Source, open_all: Callable[[Any], Any]) -> None:
        self._inner = inner
        self._open_all = open_all

    def start(self, positions: Callable[[], Mapping[Channel, int]]) -> None:
        self._inner.start(positions)

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        return [self._opened(record) for record in self._inner.poll(max_records, timeout)]

    def _opened(self, record: Record) -> Record:
        try:
            envelope = record.decoded()
        except InvalidEnvelope:
            return record  # not an envelope: the projection will reject it as it is
        opened = envelope.with_data(self._open_all(envelope.data))
        return Record(record.source, record.partition, record.offset, record.key, record.value, opened)

    def caught_up(self) -> bool:
        return self._inner.caught_up()

    def committed(self, positions: Mapping[Channel, int]) -> None:
        self._inner.committed(positions)

    def close(self) -> None:
        self._inner.close()
