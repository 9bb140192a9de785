"""What a stream hands a projector, whichever transport carried it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from streams.envelope import Envelope

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
    #: ``value`` already decoded, when the stage that handed the record on had to decode it
    #: (``streams.opening``) or made it (the embedded log): a writer then does not decode it
    #: again. Not part of the record's identity: ``value`` is what a dead letter keeps.
    envelope: Envelope | None = field(default=None, compare=False, repr=False)

    @property
    def channel(self) -> Channel:
        return (self.source, self.partition)

    def decoded(self) -> Envelope:
        """The record's CloudEvent; raises ``streams.envelope.InvalidEnvelope`` when it is not one."""
        if self.envelope is not None:
            return self.envelope
        return Envelope.from_json(self.value)


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
