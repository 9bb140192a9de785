"""Links each event to the previous event of its aggregate by hash (guarantee 8), as the
event is recorded. The last hash of recently written aggregates is kept in memory; for
others it is read from the aggregate's last stored event."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from domain.integrity import GENESIS, OUTSIDE_DATA, canonical, chain_hash, format_time, payload


def form_of(event: Any) -> bytes:
    """``canonical`` of the event with its ``payload``, byte for byte; computed without
    ``payload``'s JSON round trip, and with msgspec where its bytes are the standard
    library's (plain values only, ASCII output)."""
    meta = event.meta
    data: dict[str, Any] = {}
    level = PLAIN
    for name, value in vars(event).items():
        if name in OUTSIDE_DATA:
            continue
        kind = type(value)
        if kind is str or value is None or kind is bool:
            pass
        elif kind is int:  # as ``plainness`` answers for it, without the call
            if not JSON_INT_MIN <= value <= JSON_INT_MAX and level > TEXT_KEYS:
                level = TEXT_KEYS
        elif kind is datetime:
            if value.tzinfo is not UTC:
                value = format_time(value)
        elif kind is UUID:
            pass
        elif kind in _TOP_LEVEL:
            value = _TOP_LEVEL[kind](value)  # as ``json_default`` writes it
        else:
            inner = plainness(value)
            if inner < level:
                level = inner
        data[name] = value
    if level == FOREIGN:
        # Keys that are not text become text in ``payload``'s round trip, sorted anew.
        data = payload(event)
    # A UUID, and a time in UTC, are left for the encoder: msgspec writes them as ``str``
    # and ``format_time`` do, and so does ``canonical`` (by ``json_default``).
    timestamp = event.timestamp
    if timestamp.tzinfo is not UTC:
        timestamp = format_time(timestamp)
    if level == PLAIN:
        encoded = _SORTED.encode(
            {
                "type": type(event).TOPIC,
                "subject": event.originator_id,
                "sequence": event.originator_version,
                "time": timestamp,
                "data": data,
                "actor": meta.actor,
                "correlationid": meta.correlation_id,
                "causationid": meta.causation_id,
            }
        )
        # The standard library escapes every byte beyond ASCII (and DEL); msgspec does not.
        if encoded.isascii() and b"\x7f" not in encoded:
            return encoded
    return canonical(
        type(event).TOPIC,
        str(event.originator_id),
        event.originator_version,
        timestamp if type(timestamp) is str else format_time(timestamp),
        data,
        meta.actor,
        meta.correlation_id,
        meta.causation_id,
    )


_SORTED = msgspec.json.Encoder(order="sorted")

#: How values are plain (``plainness``): ``PLAIN``: JSON's own types with text keys and
#: integers within 64 bits, which msgspec writes as the standard library does;
#: ``TEXT_KEYS``: other values ``json_default`` writes, keys all text; ``FOREIGN``: any
#: other (a key that is not text, an unknown type: only the round trip is sure).
FOREIGN, TEXT_KEYS, PLAIN = 0, 1, 2
JSON_INT_MIN, JSON_INT_MAX = -(2**63), 2**63 - 1
_DEFAULTED = frozenset({float, datetime, date, UUID, Decimal})
_TOP_LEVEL: dict[type, Callable[[Any], str]] = {datetime: format_time, date: date.isoformat, UUID: str, Decimal: str}


def plainness(value: Any) -> int:
    """``PLAIN``, ``TEXT_KEYS`` or ``FOREIGN``, for ``value`` and everything in it (exact
    types: a subclass is foreign)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return PLAIN
    if kind is int:
        return PLAIN if JSON_INT_MIN <= value <= JSON_INT_MAX else TEXT_KEYS
    level = PLAIN
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                return FOREIGN
            if type(item) is not str:  # text, the common case, needs no call
                inner = plainness(item)
                if inner < level:
                    level = inner
        return level
    if kind is list or kind is tuple:
        for item in value:
            if type(item) is not str:
                inner = plainness(item)
                if inner < level:
                    level = inner
        return level
    return TEXT_KEYS if kind in _DEFAULTED else FOREIGN


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
            # The commonest answers first, without a call: a new aggregate, or one whose
            # previous event is in this very batch.
            if version == 1:
                previous = GENESIS
            else:
                known = pending.get(aggregate)
                if known is not None and known[0] == version - 1:
                    previous = known[1]
                else:
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
