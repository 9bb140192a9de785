"""Runs commands: one shape for every handler (load, call one method, save), plus the
cross-cutting parts: expected versions, idempotency keys, conflicts, the clock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from commands.config import CommandConfig
from commands.copies import copy_aggregate
from commands.errors import ConcurrencyConflict, IdempotencyKeyReused, NotFound
from commands.group_commit import GroupCommitter
from commands.limits import check_storable, check_text
from commands.recorders import IdempotencyClaim, RecordedAnswer, fingerprint
from commands.results import CommandResult
from commands.store import CrmEventStore, project
from domain.meta import Meta

A = TypeVar("A", bound=Aggregate)
Handler = Callable[[Any, Meta, "UnitOfWork"], CommandResult]


class _Repeated(Exception):
    def __init__(self, answer: RecordedAnswer) -> None:
        self.answer = answer


@dataclass
class UnitOfWork:
    """What a handler may touch while it runs one command."""

    store: CrmEventStore
    committer: GroupCommitter
    config: CommandConfig
    now: datetime
    claim_key: str | None = None
    claim_fingerprint: str | None = None

    def load(self, cls: type[A], aggregate_id: UUID, expected_version: int | None = None) -> A:
        kind = cls.__name__.lower()
        try:
            # The cached aggregate, brought up to date; this command changes a copy of it.
            cached: Aggregate = self.store.repository.get(
                aggregate_id, projector_func=project, deepcopy_from_cache=False
            )
        except AggregateNotFoundError:
            raise NotFound(f"no {kind} {aggregate_id}") from None
        aggregate = copy_aggregate(cached)
        if not isinstance(aggregate, cls):
            raise NotFound(f"no {kind} {aggregate_id}")
        if expected_version is not None and aggregate.version != expected_version:
            raise ConcurrencyConflict(
                f"{kind} {aggregate_id} is at version {aggregate.version}, not {expected_version}"
            )
        return aggregate

    def at(self, explicit: datetime | None) -> datetime:
        return explicit if explicit is not None else self.now

    def save(
        self, primary: Aggregate, *others: Aggregate, erase_keys: Sequence[UUID] = (), **extra: Any
    ) -> CommandResult:
        """Saves every aggregate's new events in one transaction; answers for ``primary``.
        ``erase_keys``: people whose personal-data keys go in the same transaction."""
        response = {"id": str(primary.id), "version": primary.version, "extra": extra}
        claim = None
        if self.claim_key is not None:
            claim = IdempotencyClaim(self.claim_key, self.claim_fingerprint or "", response)
        try:
            recordings = self.committer.save(primary, *others, idempotency=claim, erase_keys=erase_keys)
        except IntegrityError:
            if self.claim_key is not None:
                # The same command, sent twice at once: the other one recorded first.
                answer = self.store.command_log.find_answer(self.claim_key)
                if answer is not None:
                    raise _Repeated(answer) from None
            raise ConcurrencyConflict(
                f"{type(primary).__name__.lower()} {primary.id} was changed by another command; reload and retry"
            ) from None
        version = primary.version
        position = next(
            (r.notification.id for r in reversed(recordings) if r.domain_event.originator_id == primary.id),
            recordings[-1].notification.id if recordings else None,
        )
        # What was just recorded is the newest state: the next command on these aggregates
        # starts from it instead of reading its own events back. (Another thread may bring
        # them up to date from now on, so the answer was read above.)
        self.store.remember(primary, *others)
        return CommandResult(primary.id, version, position, extra)


class CommandBus:
    def __init__(
        self,
        store: CrmEventStore,
        config: CommandConfig,
        handlers: dict[type, Handler],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.config = config
        self.committer = GroupCommitter(store)
        self._handlers = handlers
        self._clock = clock

    def execute(self, command: object, meta: Meta, idempotency_key: str | None = None) -> CommandResult:
        handler = self._handlers.get(type(command))
        if handler is None:
            raise TypeError(f"no handler for {type(command).__name__}")
        check_storable(command, meta)
        if idempotency_key is not None:
            check_text(idempotency_key, "the Idempotency-Key")
        command_print = fingerprint(command) if idempotency_key else None
        if idempotency_key:
            answer = self.store.command_log.find_answer(idempotency_key)
            if answer is not None:
                return self._repeat(answer, command_print)
        uow = UnitOfWork(self.store, self.committer, self.config, self._clock(), idempotency_key, command_print)
        try:
            return handler(command, meta, uow)
        except _Repeated as repeated:
            return self._repeat(repeated.answer, command_print)

    @staticmethod
    def _repeat(answer: RecordedAnswer, expected_fingerprint: str | None) -> CommandResult:
        if answer.fingerprint != expected_fingerprint:
            raise IdempotencyKeyReused("this Idempotency-Key was used for a different command")
        r = answer.response
        return CommandResult(UUID(r["id"]), r["version"], answer.position, r.get("extra", {}), repeated=True)
