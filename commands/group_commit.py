"""Group commit: commands that save at the same moment share one transaction.

Every save in the event store takes the notification log's table lock and waits for its
commit to be durable, so under load the saves queue behind each other. Here the first
command to arrive commits at once; those that arrive meanwhile wait and are then committed
together, in one transaction, by one of them. The optimistic concurrency check is the
same database constraint as before: if anything in a group conflicts, the group is rolled
back and each command is saved on its own, so only the conflicting one fails.

Every member of a group gets an answer, whatever happens: a failure that belongs to one
command (a conflict, a value the database refuses) is isolated by halving the group; a
failure that belongs to nobody (the database is down) is answered to every member at once.
No one waits without a deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, Recording

from commands.recorders import IdempotencyClaim

#: Failures of the database itself, not of any one command: nothing to isolate.
_OUTAGES = (OperationalError, InterfaceError)


class CommitTimeout(OperationalError):
    """The event store did not answer in time. Raised to a command still queued (nothing
    was recorded) or still being committed (it may have been: retry with the same
    ``Idempotency-Key`` to find out safely)."""


@dataclass
class _Request:
    aggregates: Sequence[Aggregate]
    claim: IdempotencyClaim | None
    erase_keys: Sequence[Any] = ()
    events: list[Any] = field(default_factory=list)
    done: bool = False
    recordings: list[Recording[Any]] = field(default_factory=list)
    error: BaseException | None = None
    #: Set (and ``wake`` released) when this command's thread is to commit the next group.
    leading: bool = False
    wake: Any = field(default_factory=threading.Lock)

    def objects(self) -> list[Any]:
        """What ``store.save`` takes: the events, then their aggregates (for snapshots)."""
        return [*self.events, *self.aggregates]


class GroupCommitter:
    def __init__(self, store: Any, max_group: int = 200, deadline: float = 30.0) -> None:
        self._store = store
        self._max_group = max_group
        self._deadline = deadline
        self._lock = threading.Lock()
        self._pending: list[_Request] = []
        self._committing = False
        self.transactions = 0  # how many were committed or tried (for benchmarks and tests)

    def save(
        self, *aggregates: Aggregate, idempotency: IdempotencyClaim | None = None, erase_keys: Sequence[Any] = ()
    ) -> list[Recording[Any]]:
        """Like ``store.save``: the recordings of these aggregates' new events, or the
        error their own save would have raised. ``erase_keys``: people whose personal-data
        keys are deleted in the same transaction."""
        request = _Request(aggregates, idempotency, erase_keys)
        request.wake.acquire()  # released once: answered, or given the turn to commit
        give_up = time.monotonic() + self._deadline
        with self._lock:
            self._pending.append(request)
            leading = not self._committing
            self._committing = True
        while not request.done:
            if leading:
                self._commit_next_group()
                continue
            # Only this command's answer or its turn wakes it, not every commit.
            woken = request.wake.acquire(timeout=max(give_up - time.monotonic(), 0))
            with self._lock:
                if request.done:
                    break
                leading = request.leading
                if not leading and not woken:
                    self._abandon(request)
        if request.error is not None:
            raise request.error
        return request.recordings

    def _commit_next_group(self) -> None:
        """Commits the oldest waiting commands (this thread's among them), answers them, and
        hands the turn to the oldest command still waiting, if any."""
        with self._lock:
            group = self._pending[: self._max_group]
            del self._pending[: self._max_group]
        try:
            self._commit(group)
        finally:
            with self._lock:
                if self._pending:
                    following = self._pending[0]
                    following.leading = True
                    following.wake.release()
                else:
                    self._committing = False
            for request in group:
                if request.done and not request.leading:
                    request.wake.release()

    def _abandon(self, request: _Request) -> None:
        """Past the deadline (called with the lock held): a request still queued leaves the
        queue unrecorded; one that a committer took may or may not be recorded."""
        if request in self._pending:
            self._pending.remove(request)
            raise CommitTimeout(f"the event store did not take the command within {self._deadline:.0f}s")
        raise CommitTimeout(
            f"the event store did not confirm the command within {self._deadline:.0f}s; it may have been "
            "recorded: retry with the same Idempotency-Key"
        )

    def _commit(self, group: list[_Request]) -> None:
        try:
            # Take the events out of the aggregates once: a failed group save must not lose
            # them before the commands are tried in smaller groups.
            for request in group:
                request.events = [e for a in request.aggregates for e in a.collect_events()]
            for subgroup in _without_certain_conflicts(group):
                self._commit_or_split(subgroup)
        except BaseException as exc:  # whatever happened, nobody is left waiting
            _answer_all(group, exc)
            if not isinstance(exc, Exception):
                raise

    def _commit_or_split(self, group: list[_Request]) -> None:
        """Commits the group; if something in it conflicts, halves it until the conflict
        is alone, so one stale command costs a few transactions, not one per command.
        A command that surely conflicts (it lost a race to a command this process
        recorded while it waited) is answered first, without a transaction."""
        group = self._without_lost_races(group)
        if not group:
            return
        if len(group) == 1:
            self._commit_alone(group[0])
            return
        try:
            self._commit_together(group)
        except _OUTAGES as exc:
            _answer_all(group, exc)
        except Exception:  # a conflict, or a value the database refuses: whose is it?
            middle = len(group) // 2
            self._commit_or_split(group[:middle])
            self._commit_or_split(group[middle:])

    def _without_lost_races(self, group: list[_Request]) -> list[_Request]:
        """The group less its commands whose events' versions this process has recorded
        already; those get the error the database would have raised."""
        surely_taken = getattr(self._store, "surely_taken", None)
        if surely_taken is None:
            return group
        kept = []
        for request in group:
            if surely_taken(request.events):
                request.error = IntegrityError("an event at this version is recorded already")
                request.done = True
            else:
                kept.append(request)
        return kept

    def _commit_alone(self, request: _Request) -> None:
        self.transactions += 1
        try:
            kwargs: dict[str, Any] = {"idempotency": [request.claim]} if request.claim else {}
            if request.erase_keys:
                kwargs["erase_keys"] = list(request.erase_keys)
            request.recordings = self._store.save(*request.objects(), **kwargs)
        except Exception as exc:  # handed to the command it belongs to
            request.error = exc
        request.done = True

    def _commit_together(self, group: list[_Request]) -> None:
        self.transactions += 1
        counts = [len(r.events) for r in group]
        claims, end = [], 0
        for request, count in zip(group, counts, strict=True):
            end += count
            if request.claim is not None and count:
                claims.append(replace(request.claim, last_event=end - 1))
        kwargs: dict[str, Any] = {"idempotency": claims} if claims else {}
        erase = [key for r in group for key in r.erase_keys]
        if erase:
            kwargs["erase_keys"] = erase
        recordings = self._store.save(*(o for r in group for o in r.objects()), **kwargs)
        start = 0
        for request, count in zip(group, counts, strict=True):
            request.recordings = recordings[start : start + count]
            request.done = True
            start += count


def _answer_all(group: list[_Request], error: BaseException) -> None:
    """Every member not answered yet gets ``error``."""
    for request in group:
        if not request.done:
            request.error = error
            request.done = True


def _without_certain_conflicts(group: list[_Request]) -> list[list[_Request]]:
    """Splits the group so that no two commands in one part write the same aggregate
    version or use the same idempotency key (those two would surely collide); the order
    of the commands is kept."""
    parts: list[tuple[set[Any], list[_Request]]] = []
    for request in group:
        marks: set[Any] = {(e.originator_id, e.originator_version) for e in request.events}
        if request.claim is not None:
            marks.add(request.claim.key)
        for used, part in parts:
            if not used & marks:
                used |= marks
                part.append(request)
                break
        else:
            parts.append((marks, [request]))
    return [part for _, part in parts]
