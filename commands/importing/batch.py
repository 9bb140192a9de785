"""Runs a batch of imported rows through the command handlers and records every event
they make in one transaction.

Each row runs the handler the command bus would run (``commands/handlers.py``), with a
unit of work that loads from what the batch loaded in bulk and saves into the batch
instead of the store; so the rules, the events and their fields are the command path's.
Then, as ``CrmEventStore.save`` does for a command, the batch's personal fields are
sealed with each person's key (``commands/privacy.py``), every event is linked to its
aggregate's hash chain (``commands/chain.py``) and mapped to its stored form by the
store's own mapper; ``storage`` writes them. Snapshots are taken afterwards where the
store's snapshotting interval says, as after any save.

Each row first passes the door every command passes (``commands/limits.py``), unless
its aggregate (or idempotency key) exists already or came earlier in the file: then it is
skipped. A row refused by the door or a rule records nothing and leaves the rest of the
batch alone. If another writer records something the batch meant to record first (a version,
a key), the batch is loaded and run again: nothing is written twice.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, cast
from uuid import UUID

import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, StoredEvent
from eventsourcing.utils import get_topic

from commands.bus import A, Handler, UnitOfWork
from commands.chain import JSON_INT_MAX, JSON_INT_MIN, PLAIN, Chain, form_of, plainness
from commands.config import CommandConfig
from commands.errors import NotFound
from commands.group_commit import GroupCommitter
from commands.importing.claims import ClaimMaker
from commands.importing.rows import Row
from commands.importing.storage import BatchConflict, BatchStorage
from commands.limits import check_storable, check_text
from commands.privacy import Sealer
from commands.recorders import IdempotencyClaim
from commands.results import CommandResult
from commands.store import CrmEventStore, CrmMapper
from domain.errors import DomainError
from domain.integrity import GENESIS, chain_hash
from domain.privacy import locate, personal_paths
from domain.registry import topic_of

#: How often a batch is run again after another writer got there first.
ATTEMPTS = 5

#: Compact JSON in UTF-8, keys in their order: what the store's transcoder writes.
_JSON = msgspec.json.Encoder()


@dataclass
class Rejection:
    row: int
    code: str
    message: str


@dataclass
class BatchOutcome:
    """Rows ``recorded`` (with their ``events``), ``skipped`` (recorded before) and
    ``rejected``; ``positions``: the first and last event-store position written."""

    recorded: int = 0
    events: int = 0
    skipped: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    positions: tuple[int, int] | None = None


@dataclass
class _Known:
    """An aggregate as the store has it, and the version and chain hash of its last
    recorded event (the aggregate in memory may be ahead while a batch runs)."""

    aggregate: Any
    version: int
    hash: str


class _Keys:
    """The key vault of one batch: keys read (or created) for its people beforehand."""

    def __init__(self, keys: dict[UUID, bytes]) -> None:
        self._keys = keys

    def personal_key(self, contact_id: UUID, create: bool) -> bytes | None:
        return self._keys.get(contact_id)


@dataclass
class BatchUnitOfWork(UnitOfWork):
    """The unit of work of one imported row: ``load`` answers from what the batch loaded,
    ``save`` hands the new events to the batch. A new aggregate takes the row's ``target``
    id, derived from its external id."""

    loaded: dict[UUID, Any] = field(default_factory=dict)
    target: UUID | None = None
    saved: list[tuple[Any, list[Any]]] = field(default_factory=list)

    def load(self, cls: type[A], aggregate_id: UUID, expected_version: int | None = None) -> A:
        aggregate = self.loaded.get(aggregate_id)
        if not isinstance(aggregate, cls):  # the command path's answer, word for word
            raise NotFound(f"no {cls.__name__.lower()} {aggregate_id}")
        return aggregate

    def save(
        self, primary: Aggregate, *others: Aggregate, erase_keys: Sequence[UUID] = (), **extra: Any
    ) -> CommandResult:
        if erase_keys:
            raise TypeError("an import erases nobody")
        identity = primary.id
        for aggregate in (primary, *others):
            events: list[Any] = list(aggregate.collect_events())
            if events and events[0].originator_version == 1:
                if aggregate is not primary or self.target is None:
                    raise TypeError("an imported row creates at most one aggregate, its own")
                for event in events:
                    # In place, as the store seals and chains events before they are stored;
                    # the aggregate in memory keeps its own id and is not used again.
                    event.__dict__["originator_id"] = self.target
                identity = self.target
            self.saved.append((aggregate, events))
        return CommandResult(identity, primary.version, None, extra)


class BatchImporter:
    """Runs batches of one import, one after the other. Aggregates it loads or changes
    stay in memory (up to ``cache_size``) for the next batches, with their chain heads;
    another writer changing one meanwhile makes the next batch that records on it
    conflict, reload and run again."""

    def __init__(
        self,
        store: CrmEventStore,
        storage: BatchStorage,
        config: CommandConfig,
        handlers: dict[type, Handler],
        cache_size: int = 100_000,
        dry_run: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.storage = storage
        self.config = config
        self.handlers = handlers
        self.dry_run = dry_run
        self._clock = clock
        self._mapper = cast(CrmMapper, store.mapper)
        self._known: OrderedDict[UUID, _Known] = OrderedDict()
        self._cache_size = cache_size
        # Never used to commit: a batch unit of work saves into the batch.
        self._committer = GroupCommitter(store)
        self._snapshot_every = {cls: n for cls, n in store.snapshotting_intervals.items()}
        self._meta_checked: set[tuple[str, str]] = set()
        self._topics: dict[type, tuple[str, int]] = {}
        self._encode = StateEncoder(cast(JSONTranscoder, self._mapper.transcoder)).encode
        self._claim_maker = ClaimMaker()
        self._personal_paths: dict[type, tuple[str, ...]] = {}
        # Each batch's sealer has the keys read for it; the ciphers made from them last longer.
        self._ciphers: dict[bytes, AESGCM] = {}

    def run(self, rows: Sequence[Row]) -> BatchOutcome:
        for attempt in range(ATTEMPTS):
            touched: set[UUID] = set()
            try:
                return self._attempt(rows, touched)
            except BatchConflict:
                for aggregate_id in touched:
                    self._known.pop(aggregate_id, None)
                if attempt == ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * 2**attempt)
            except BaseException:
                for aggregate_id in touched:  # changed in memory, never written
                    self._known.pop(aggregate_id, None)
                raise
        raise AssertionError("unreachable")

    def _attempt(self, rows: Sequence[Row], touched: set[UUID]) -> BatchOutcome:
        outcome = BatchOutcome()
        recorded_before = self._recorded_before(rows)
        loaded = self._load({ref for row in rows if _mark(row) not in recorded_before for ref in _references(row)})
        touched.update(loaded)
        seen: set[UUID | str] = set()
        changes: list[tuple[Row, CommandResult, list[tuple[Any, list[Any]]]]] = []
        # One unit of work for the batch, each row's own time, target and saved events set
        # anew: a handler keeps nothing of it beyond its run.
        uow = BatchUnitOfWork(self.store, self._committer, self.config, self._clock(), loaded=loaded)
        for row in rows:
            mark = row.target or row.key  # ``_mark``, without a call for each row
            assert mark is not None
            if mark in recorded_before or mark in seen:
                outcome.skipped += 1
                continue
            uow.now, uow.target, uow.saved = self._clock(), row.target, []
            try:
                self._door(row)
                result = self.handlers[type(row.command)](row.command, row.meta, uow)
            except DomainError as error:
                outcome.rejected.append(Rejection(row.row, error.code, error.detail))
                continue
            seen.add(mark)
            changes.append((row, result, uow.saved))
        events = [e for _, _, saved in changes for _, events in saved for e in events]
        outcome.recorded, outcome.events = len(changes), len(events)
        if self.dry_run or not events:
            return outcome
        self._seal(changes)
        Chain(self._stored_hash).link(events)
        stored = self._stored(events)
        positions = self.storage.write(stored, self._claims(changes))
        outcome.positions = (positions[0], positions[-1])
        self._committed(changes)
        return outcome

    def _door(self, row: Row) -> None:
        """The door every command passes (``check_storable``). The meta of an import's rows
        differs only in its causation id, which the row's source name and checked external
        id make: the rest is checked once per import, the causation id on each row."""
        meta = row.meta
        if (meta.actor, meta.correlation_id) in self._meta_checked:
            check_storable(row.command)
            check_text(meta.causation_id, "causation_id")
        else:
            check_storable(row.command, meta)
            self._meta_checked.add((meta.actor, meta.correlation_id))

    def _recorded_before(self, rows: Sequence[Row]) -> set[UUID | str]:
        targets = [row.target for row in rows if row.target is not None]
        keys = [row.key for row in rows if row.key is not None]
        return {*self.storage.existing(targets), *self.storage.claimed(keys)}

    def _load(self, ids: set[UUID]) -> dict[UUID, Any]:
        """The aggregates the batch's handlers load: from memory, or all at once from the
        store. They are rebuilt from their events as recorded (personal fields sealed: the
        rules an import runs never read them)."""
        missing = [i for i in ids if i not in self._known]
        decode = self._mapper.decode_fast
        for aggregate_id, stored in self.storage.events_of(missing).items():
            aggregate, head = None, GENESIS
            for record in stored:
                event, chain = decode(record)
                aggregate = event.mutate(aggregate)
                head = _hash_of(event, chain)
            self._remember(aggregate_id, _Known(aggregate, stored[-1].originator_version, head))
        found = {}
        for aggregate_id in ids:
            known = self._known.get(aggregate_id)
            if known is not None:
                self._known.move_to_end(aggregate_id)
                found[aggregate_id] = known.aggregate
        return found

    def _remember(self, aggregate_id: UUID, known: _Known) -> None:
        self._known[aggregate_id] = known
        self._known.move_to_end(aggregate_id)
        while len(self._known) > self._cache_size:
            self._known.popitem(last=False)

    def _seal(self, changes: list[tuple[Row, CommandResult, list[tuple[Any, list[Any]]]]]) -> None:
        """As ``CrmEventStore.save``: each personal field with its person's key."""
        sealing: list[tuple[list[tuple[dict[str, Any], str]], UUID]] = []
        created: set[UUID] = set()  # people this batch creates: they have no key yet
        known = self._personal_paths
        for _, _, saved in changes:
            for aggregate, events in saved:
                for event in events:
                    cls = type(event)
                    paths = known.get(cls)
                    if paths is None:
                        paths = known[cls] = personal_paths(topic_of(event))
                    if not paths:
                        continue
                    state = event.__dict__
                    fields = []
                    for path in paths:
                        if "." in path:
                            fields += [(holder, key) for holder, key in locate(state, path) if holder[key] is not None]
                        elif state.get(path) is not None:  # ``locate`` of a top-level field, without the call
                            fields.append((state, path))
                    if fields:
                        owner = getattr(aggregate, "contact_id", None) or getattr(event, "contact_id", None)
                        owner = owner or event.originator_id
                        sealing.append((fields, owner))
                        if event.originator_version == 1 and owner == event.originator_id:
                            created.add(owner)
        if not sealing:
            return
        # In one order in every process, so that two inserting keys never wait on each other
        # (UUIDs order by their int: compared as ints, without a Python call each).
        owners = sorted({owner for _, owner in sealing}, key=attrgetter("int"))
        keys = self.storage.personal_keys(owners, new=created)
        sealer = Sealer(_Keys(keys), ciphers=self._ciphers)
        for fields, owner in sealing:
            sealer.seal_many(owner, fields, keys[owner])

    def _stored(self, events: list[Any]) -> list[StoredEvent]:
        """``to_stored_event`` of the store's mapper, without its per-event lookups, the
        state encoded by ``StateEncoder`` (a mapper that compresses or encrypts is left to
        the mapper itself). As the mapper does, the state of an event of a versioned class
        ends with its ``class_version``, for upcasting when it is read."""
        mapper = self._mapper
        if mapper.compressor is not None or mapper.cipher is not None:
            return [mapper.to_stored_event(e) for e in events]
        topics, stored, encode = self._topics, [], self._encode
        for event in events:
            cls = type(event)
            known = topics.get(cls)
            if known is None:
                known = topics[cls] = (get_topic(cls), getattr(cls, "class_version", 1))
            topic, class_version = known
            state = dict(event.__dict__)
            originator_id, version = state.pop("originator_id"), state.pop("originator_version")
            if class_version > 1:
                state["class_version"] = class_version
            stored.append(StoredEvent(originator_id, version, topic, encode(state)))
        return stored

    def _stored_hash(self, aggregate_id: UUID, version: int) -> str | None:
        known = self._known.get(aggregate_id)
        if known is not None and known.version == version:
            return known.hash
        for record in self.storage.events_of([aggregate_id]).get(aggregate_id, []):
            if record.originator_version == version:
                return _hash_of(*self._mapper.decode_fast(record))
        return None

    def _claims(self, changes: list[tuple[Row, CommandResult, list[tuple[Any, list[Any]]]]]) -> list[IdempotencyClaim]:
        """For rows recorded under an idempotency key: the answer the command would have
        given, with the position of its last event (``claims.py``)."""
        return self._claim_maker.claims(changes)

    def _committed(self, changes: list[tuple[Row, CommandResult, list[tuple[Any, list[Any]]]]]) -> None:
        """After the batch's transaction: remember the new chain heads of the aggregates
        that stay in use, and take the snapshots a save would take."""
        heads: dict[UUID, _Known] = {}
        for _, _, saved in changes:
            for aggregate, events in saved:
                if not events:
                    continue
                last = events[-1]
                if last.originator_version > 1:  # an aggregate loaded, changed and kept
                    chain = last.__dict__["chain"]
                    heads[last.originator_id] = _Known(aggregate, last.originator_version, chain["hash"])
                every = self._snapshot_every.get(type(aggregate))
                if every:
                    for event in events:
                        if event.originator_version % every == 0:
                            self.store.take_snapshot(event.originator_id, version=event.originator_version)
        for aggregate_id, known in heads.items():
            self._remember(aggregate_id, known)


class StateEncoder:
    """The bytes ``transcoder.encode(state)`` makes for an event's state: compact JSON in
    UTF-8, each value of a registered type as ``{"_type_": name, "_data_": encoded}``.
    Written by msgspec, which writes plain values as the standard library does, when
    every value is plain once its own type's transcoding is applied; by the transcoder
    itself otherwise."""

    def __init__(self, transcoder: JSONTranscoder) -> None:
        self._transcoder = transcoder
        # The types JSON lacks: the transcoder's encoder meets values of the others natively.
        native = str | int | float | dict | list | tuple
        self._transcodings = {cls: t for cls, t in transcoder.types.items() if not issubclass(cls, native)}

    def encode(self, state: dict[str, Any]) -> bytes:
        plain: dict[str, Any] = {}
        for name, value in state.items():
            kind = type(value)
            if kind is int:  # as ``plainness`` answers for it, without the call
                if not JSON_INT_MIN <= value <= JSON_INT_MAX:
                    return self._transcoder.encode(state)
            elif kind is not str and value is not None:
                transcoding = self._transcodings.get(kind)
                if transcoding is not None:
                    data = transcoding.encode(value)
                    if type(data) is not str and plainness(data) != PLAIN:
                        return self._transcoder.encode(state)
                    value = {"_type_": transcoding.name, "_data_": data}
                elif plainness(value) != PLAIN:
                    return self._transcoder.encode(state)
            plain[name] = value
        return _JSON.encode(plain)


def _hash_of(event: Any, chain: dict[str, str] | None) -> str:
    """The chain hash of a stored event; one recorded before events were chained has its
    own form's (as ``CrmEventStore`` reads it)."""
    return chain["hash"] if chain is not None else chain_hash(GENESIS, form_of(event))


def _mark(row: Row) -> UUID | str:
    """What makes the row recorded already: its aggregate, or its idempotency key."""
    mark = row.target or row.key
    assert mark is not None
    return mark


def _references(row: Row) -> tuple[UUID, ...]:
    command: Any = row.command
    names = _REFERENCE_NAMES.get(type(command))
    if names is None:
        fields = {f.name for f in dataclasses.fields(command)} if dataclasses.is_dataclass(command) else None
        names = tuple(n for n in _REFERENCES if fields is None or n in fields)
        _REFERENCE_NAMES[type(command)] = names
    found = []
    for name in names:
        value = getattr(command, name, None)
        if isinstance(value, UUID):
            found.append(value)
    return tuple(found)


#: The aggregates a row's command may name, which its handler loads.
_REFERENCES = ("pipeline_id", "contact_id", "account_id")
#: Per command class, those of ``_REFERENCES`` among its fields (all three for a class that
#: is not a dataclass, whose attributes may differ from one instance to the next).
_REFERENCE_NAMES: dict[type, tuple[str, ...]] = {}
