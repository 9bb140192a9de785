"""Links each event to the previous event of its aggregate by hash (guarantee 8), as the
event is recorded. The last hash of recently written aggregates is kept in memory; for
others it is read from the aggregate's last stored event."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from domain.integrity import GENESIS, canonical, chain_hash, format_time, payload


def form_of(event: Any) -> bytes:
    meta = event.meta
    return canonical(
        type(event).TOPIC,
        str(event.originator_id),
        event.originator_version,
        format_time(event.timestamp),
        payload(event),
        meta.actor,
        meta.correlation_id,
        meta.causation_id,
    )


class Chain:
    def __init__(self, last_stored_hash: Callable[[UUID, int], str | None], capacity: int = 100_000) -> None:
        """``last_stored_hash(aggregate id, version)`` answers the stored hash of that event."""
        self._lookup = last_stored_hash
        self._heads: OrderedDict[UUID, tuple[int, str]] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def link(self, events: Sequence[Any]) -> None:
        """Sets ``chain`` = {prev, hash} on each event (in place, before it is stored)."""
        pending: dict[UUID, tuple[int, str]] = {}
        for event in events:
            aggregate, version = event.originator_id, event.originator_version
            previous = self._previous(aggregate, version, pending)
            digest = chain_hash(previous, form_of(event))
            event.__dict__["chain"] = {"prev": previous, "hash": digest}
            pending[aggregate] = (version, digest)

    def committed(self, events: Sequence[Any]) -> None:
        with self._lock:
            for event in events:
                self._heads[event.originator_id] = (event.originator_version, event.__dict__["chain"]["hash"])
                self._heads.move_to_end(event.originator_id)
            while len(self._heads) > self._capacity:
                self._heads.popitem(last=False)

    def _previous(self, aggregate: UUID, version: int, pending: dict[UUID, tuple[int, str]]) -> str:
        if version == 1:
            return GENESIS
        for known in (pending.get(aggregate), self._cached(aggregate)):
            if known is not None and known[0] == version - 1:
                return known[1]
        stored = self._lookup(aggregate, version - 1)
        if stored is None:
            raise LookupError(f"no stored hash for {aggregate} version {version - 1}")
        return stored

    def _cached(self, aggregate: UUID) -> tuple[int, str] | None:
        with self._lock:
            return self._heads.get(aggregate)
