"""What a stream hands a projector, whichever transport carried it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

#: ``(source, partition)``: a Kafka topic partition, or ``("log", 0)`` for the event store's
#: notification log in embedded mode.
Channel = tuple[str, int]


@dataclass(frozen=True)
class Record:
    source: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes

    @property
    def channel(self) -> Channel:
        return (self.source, self.partition)


class Source(Protocol):
    """A stream a projector consumes. Positions are the last offset processed per channel."""

    def start(self, positions: Callable[[], Mapping[Channel, int]]) -> None:
        """Begin after the given positions. ``positions`` is called again whenever the
        source must decide where to resume (a Kafka rebalance)."""

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        """The next records, in order within each channel; empty when nothing came in time."""

    def caught_up(self) -> bool:
        """True when everything the stream held when asked has been polled."""

    def committed(self, positions: Mapping[Channel, int]) -> None:
        """The writer made these positions durable (a hint for lag monitoring)."""

    def close(self) -> None: ...
