"""A stream whose envelopes have their sealed personal fields opened on the way in, for
the projections that show people their customers' names (the operational read model).
The others consume the sealed stream as it is."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from streams.envelope import Envelope
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
            envelope = Envelope.from_json(record.value)
        except ValueError:
            return record  # not an envelope: the projection will reject it as it is
        opened = dataclasses.replace(envelope, data=self._open_all(envelope.data))
        return dataclasses.replace(record, value=opened.to_json())

    def caught_up(self) -> bool:
        return self._inner.caught_up()

    def committed(self, positions: Mapping[Channel, int]) -> None:
        self._inner.committed(positions)

    def close(self) -> None:
        self._inner.close()
