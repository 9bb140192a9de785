"""The event store read as subscribers receive it: CloudEvents in position order, from any
position, chosen by type patterns and subjects.

Every event has a gap-free position in the event store's notification log, kept forever,
so a subscriber can start anywhere, stop, and go on from the last position it saw without
missing or repeating anything. The webhook dispatcher, the pull feed and the live stream
all read through here; what they send is what the relay puts on Kafka (personal fields
sealed, the hash chain attached).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from domain.registry import EVENT_TYPES
from streams.envelope import Envelope, from_domain_event

#: The most events one read answers.
MAX_LIMIT = 1000
#: Queries one read may make while a filter finds fewer events than asked for.
_ROUNDS = 20
#: Positions this close are read in one query, with the events between them.
_NEAR = 20


class UnknownTypes(ValueError):
    """Type patterns that match no event type: most likely a typo, never silently empty."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = list(patterns)
        super().__init__(
            f"no event type matches {', '.join(repr(p) for p in patterns)}; "
            "types look like 'crm.deal.stage_changed.v1', or 'crm.deal.*' for all of a kind"
        )


def event_types(patterns: Iterable[str]) -> tuple[str, ...]:
    """The event types that ``patterns`` name (``*`` and ``?`` as in file names, so
    ``crm.deal.*`` is every deal event); no pattern at all means every type. Raises
    ``UnknownTypes`` for a pattern that matches none."""
    patterns = [p.strip() for p in patterns if p.strip()]
    if not patterns:
        return tuple(sorted(EVENT_TYPES))
    unmatched = [p for p in patterns if not any(fnmatchcase(t, p) for t in EVENT_TYPES)]
    if unmatched:
        raise UnknownTypes(unmatched)
    return tuple(sorted(t for t in EVENT_TYPES if any(fnmatchcase(t, p) for p in patterns)))


def envelope_at(store: Any, notification: Any) -> Envelope:
    """The CloudEvent of one notification, as the relay publishes it."""
    event, chain = store.read_sealed(notification)
    return from_domain_event(event, notification.id, chain)


@dataclass(frozen=True)
class Page:
    """Events after a position, and the position to ask after next time (past the events
    read *and* past those the filter left out, so a sparse filter does not re-read them)."""

    events: list[Envelope]
    next: int


class Feed:
    """Reads one event store (the eventsourcing application: its recorder and mapper)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def head(self) -> int:
        """The position of the newest event (0 for an empty store)."""
        return int(self._store.recorder.max_notification_id() or 0)

    def notifications(
        self, after: int, limit: int, types: Sequence[str] = (), subjects: Collection[str] = ()
    ) -> tuple[list[Any], int]:
        """Up to ``limit`` notifications after ``after`` of those ``types`` (all if empty)
        and ``subjects`` (all if empty), and the position to go on from."""
        limit = max(1, min(limit, MAX_LIMIT))
        head = self.head()
        topics = () if not types or len(types) == len(EVENT_TYPES) else tuple(types)
        subjects = frozenset(subjects)
        found: list[Any] = []
        cursor = after
        rounds = 0
        # A sparse filter reads ahead in rounds; bounded, so one call never walks the whole
        # log: the position answered is as far as it got.
        while len(found) < limit and cursor < head and rounds < _ROUNDS:
            rounds += 1
            want = limit - len(found) if not subjects else MAX_LIMIT
            batch = self._store.recorder.select_notifications(
                start=cursor, limit=want, stop=head, topics=topics, inclusive_of_start=False
            )
            for notification in batch:
                cursor = notification.id
                if subjects and str(notification.originator_id) not in subjects:
                    continue
                found.append(notification)
                if len(found) == limit:
                    return found, cursor
            if len(batch) < want:
                cursor = head  # nothing else up to the head matches the topics
        return found, max(cursor, after)

    def at(self, positions: Iterable[int]) -> dict[int, Any]:
        """The notifications at those positions (close ones fetched together)."""
        wanted = sorted(set(positions))
        found: dict[int, Any] = {}
        while wanted:
            first, run = wanted[0], 1
            while run < len(wanted) and wanted[run] - wanted[run - 1] <= _NEAR and wanted[run] - first < MAX_LIMIT:
                run += 1
            last = wanted[run - 1]
            for n in self._store.recorder.select_notifications(start=first, limit=last - first + 1, stop=last):
                found[n.id] = n
            wanted = wanted[run:]
        return found

    def read(self, after: int, limit: int, types: Sequence[str] = (), subjects: Collection[str] = ()) -> Page:
        """Up to ``limit`` CloudEvents after position ``after``; see ``notifications``."""
        found, next_position = self.notifications(after, limit, types, subjects)
        return Page([envelope_at(self._store, n) for n in found], next_position)
