"""The event store: an ``eventsourcing`` application on SQLite or PostgreSQL.

One transaction writes an aggregate's new events and their place in the notification
log, which is the outbox the relay publishes from.
"""

from __future__ import annotations

import select
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import date
from typing import Any, ClassVar, cast

import msgspec
import psycopg_pool
from eventsourcing.application import Application
from eventsourcing.domain import BaseAggregate, Snapshot
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    Notification,
    Recording,
    StoredEvent,
    Transcoding,
    find_id_convertor,
)
from eventsourcing.utils import register_topic, resolve_topic
from psycopg import Connection, OperationalError
from psycopg.pq import ConnStatus

from commands.chain import Chain, form_of
from commands.privacy import Sealer
from commands.recorders import CommandRecorder
from commands.tables import create_tables
from domain.contact import Contact
from domain.integrity import GENESIS, chain_hash
from domain.meta import Meta
from domain.privacy import SNAPSHOT_FIELDS, personal_paths
from domain.registry import AGGREGATES, EVENT_TYPES, topic_of
from dsn import parse


class MetaAsDict(Transcoding):
    type = Meta
    name = "meta"

    def encode(self, obj: Meta) -> dict[str, str]:
        return obj.as_dict()

    def decode(self, data: dict[str, str]) -> Meta:
        return Meta(**data)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class CrmMapper(Mapper):
    """Stores events as they come (sealed and chained by the store before this) and opens
    personal fields when reading them back for the domain; ``decode`` reads them sealed,
    with their chain, for publishing and verifying."""

    sealer: Sealer | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per stored topic and type of id: the event class, its id's convertor, its version.
        self._kinds: dict[tuple[str, type], tuple[Any, Callable[[Any], Any], int]] = {}

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        if isinstance(domain_event, Snapshot) and self.sealer is not None:
            paths = SNAPSHOT_FIELDS.get(domain_event.topic, ())
            if paths:
                state = {**domain_event.state}
                self.sealer.seal_fields(state, paths, domain_event.originator_id)
                domain_event = type(domain_event)(**{**vars(domain_event), "state": state})
        return super().to_stored_event(domain_event)

    def decode(self, stored: StoredEvent) -> tuple[Any, dict[str, str] | None]:
        event = super().to_domain_event(stored)
        chain = event.__dict__.pop("chain", None)
        return event, chain

    def decode_fast(self, stored: StoredEvent) -> tuple[Any, dict[str, str] | None]:
        """``decode``'s answer, the JSON read by msgspec and its transcoded values
        (``{"_type_": …, "_data_": …}``) decoded in one walk, instead of a Python hook
        on every JSON object. What this cannot read as ``decode`` would (JSON msgspec
        refuses, an unknown transcoding, whole states encrypted or compressed) goes to
        ``decode``, which answers or raises as it always does."""
        transcoder = self.transcoder
        if self.cipher is not None or self.compressor is not None or type(transcoder) is not JSONTranscoder:
            return self.decode(stored)
        names = transcoder.names
        try:
            state = _decode_state(stored.state)
            for name, value in state.items():
                shape = type(value)
                if shape is dict:
                    # Most often a transcoded value of text (a time, an id): decoded here.
                    data = value.get("_data_")
                    if type(data) is str and len(value) == 2 and "_type_" in value:
                        state[name] = names[value["_type_"]].decode(data)
                    else:
                        state[name] = _transcoded(value, names)
                elif shape is list:
                    state[name] = _transcoded(value, names)
        except Exception:
            return self.decode(stored)
        kinds = self._kinds
        originator_id = stored.originator_id
        kind = kinds.get((stored.topic, type(originator_id)))
        if kind is None:
            found: Any = resolve_topic(stored.topic)
            convertor = find_id_convertor(found, cast(Hashable, type(originator_id)))
            kind = (found, convertor, getattr(found, "class_version", 1))
            kinds[(stored.topic, type(originator_id))] = kind
        cls, id_convertor, class_version = kind
        # As eventsourcing's ``to_domain_event`` fills the event: in this order, then upcast.
        state["originator_id"] = id_convertor(originator_id)
        state["originator_version"] = stored.originator_version
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event, state.pop("chain", None)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event, _ = self.decode(stored_event)
        if self.sealer is not None:
            if isinstance(event, Snapshot):
                self.sealer.open_fields(event.state, SNAPSHOT_FIELDS.get(event.topic, ()))
            else:
                self.sealer.open_fields(event.__dict__, personal_paths(stored_event.topic))
        return event


#: A stored state's JSON, read as the standard library reads it where msgspec reads it at all.
_decode_state = msgspec.json.Decoder(dict[str, Any]).decode
_CONTAINERS = (dict, list)


def _transcoded(value: Any, transcodings: Mapping[str, Transcoding]) -> Any:
    """``value`` (freshly decoded: changed in place) as ``JSONTranscoder.decode`` makes it:
    objects from the innermost out, a two-key ``{"_type_", "_data_"}`` object by its
    transcoding (an unknown name raises ``KeyError``)."""
    if type(value) is list:
        return [_transcoded(item, transcodings) if type(item) in _CONTAINERS else item for item in value]
    for key, item in value.items():
        if type(item) in _CONTAINERS:
            value[key] = _transcoded(item, transcodings)
    if len(value) == 2 and "_type_" in value and "_data_" in value:
        return transcodings[value["_type_"]].decode(value["_data_"])
    return value


def project(aggregate: Any, events: Iterable[Any]) -> Any:
    """eventsourcing's ``project_aggregate`` without its check of each event against a
    runtime protocol, which costs more than applying the event."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def _crm_mapper(mapper: Mapper[Any]) -> CrmMapper:
    """The store's mapper as what it is: ``construct_mapper`` makes every one a ``CrmMapper``."""
    return cast(CrmMapper, mapper)


def _register_stable_topics() -> None:
    for name, aggregate in AGGREGATES.items():
        register_topic(f"crm.{name}", aggregate)
    for topic, event in EVENT_TYPES.items():
        register_topic(topic, event)


class CrmEventStore(Application):
    """``save`` returns recordings whose notification ids are the events' positions."""

    name = "eventcrm"
    #: Long interaction histories load from a snapshot plus the events after it.
    snapshotting_intervals: ClassVar[dict[type, int]] = {Contact: 100}

    def __init__(self, url: str, cache_size: int = 10_000, pool_size: int = 10, idle: int = 2) -> None:
        """``pool_size``: PostgreSQL connections kept for a burst, and as many again in one;
        only ``idle`` of them stay open while nothing happens, so that several processes
        (``crm serve --workers N``, the relay, projectors) do not hold them all at rest."""
        _register_stable_topics()
        self._listeners: list[Callable[[], None]] = []
        # Recently used aggregates stay in memory and are brought up to date with one query
        # for newer events (fast-forward), so a write by another process is never missed.
        # Tables are made by create_tables, once, under the migration lock: eventsourcing
        # making them as it builds each recorder races with other processes starting.
        env = {
            **persistence_env(url, pool_size, idle),
            "AGGREGATE_CACHE_MAXSIZE": str(cache_size),
            "CREATE_TABLE": "no",
        }
        super().__init__(env=env)
        create_tables(self)
        self.sealer = Sealer(self.command_log)
        for event_store in (self.events, self.snapshots):
            if event_store is not None:
                _crm_mapper(event_store.mapper).sealer = self.sealer
        self.chain = Chain(self._stored_hash)
        # The latest version this process recorded, per aggregate (a hint: forgotten at will).
        self._recorded: dict[Any, int] = {}
        pool = getattr(getattr(self.recorder, "datastore", None), "pool", None)
        if isinstance(pool, psycopg_pool.ConnectionPool):
            _check_without_round_trip(pool)

    @property
    def command_log(self) -> CommandRecorder:
        """The recorder, seen through what this store's recorders add to eventsourcing's
        (``persistence_env`` always names one of them)."""
        return cast(CommandRecorder, self.recorder)

    def construct_mapper(self) -> Mapper[Any]:
        return self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=CrmMapper)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[Any]]:
        """Records the new events of ``objs`` (aggregates, or events already collected from
        them followed by their aggregates, as group commit passes them) in one transaction,
        personal fields sealed and each event linked to the hash chain of its aggregate;
        ``kwargs`` reach the recorder (``idempotency``, ``erase_keys``).

        Only once the events are recorded (and any snapshot taken) do the chain's heads move
        and the ``on_saved`` listeners run. A failed save moves neither, and leaves its
        events sealed and linked: saving them again (group commit retries smaller groups)
        seals nothing twice and links them afresh."""
        events: list[Any] = []
        aggregates: dict[Any, Any] = {}
        # Aggregates and events are told apart by their class, not by eventsourcing's runtime
        # protocols, whose checks cost more than the rest of the save's Python work.
        for obj in objs:
            if isinstance(obj, BaseAggregate):
                events.extend(obj.collect_events())
                aggregates[obj.id] = obj
            elif obj is not None:
                events.append(obj)
        for event in events:
            paths = personal_paths(topic_of(event))
            if paths:
                aggregate = aggregates.get(event.originator_id)
                owner = getattr(aggregate, "contact_id", None) or getattr(event, "contact_id", None)
                self.sealer.seal_fields(event.__dict__, paths, owner or event.originator_id)
        self.chain.link(events)
        recordings = self.events.put(events, **kwargs)
        recorded = self._recorded
        if len(recorded) > _RECORDED_CAPACITY:
            recorded.clear()
        for event in events:
            if recorded.get(event.originator_id, 0) < event.originator_version:
                recorded[event.originator_id] = event.originator_version
        if self.repository.cache is not None and not self.repository.fastforward:
            for aggregate_id, aggregate in aggregates.items():
                self.repository.cache.put(aggregate_id, aggregate)
        self._snapshot(events, aggregates)
        self.chain.committed(events)
        for listener in self._listeners:
            listener()
        return recordings

    def surely_taken(self, events: Iterable[Any]) -> bool:
        """True when this process already recorded, for the aggregate of one of ``events``,
        an event at its version or later: saving them can only fail on the store's
        uniqueness of versions (a command that lost a race while it waited)."""
        recorded = self._recorded
        return any(recorded.get(e.originator_id, 0) >= e.originator_version for e in events)

    def _snapshot(self, events: list[Any], aggregates: dict[Any, Any]) -> None:
        """Takes the snapshots that are due, as ``Application.save`` would."""
        if self.snapshots is None:
            return
        for event in events:
            aggregate = aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate)) if aggregate is not None else None
            if interval is not None and event.originator_version % interval == 0:
                self.take_snapshot(event.originator_id, version=event.originator_version, projector_func=project)

    def remember(self, *aggregates: Any) -> None:
        """Keeps just-saved aggregates in the cache, unless it holds a newer version (another
        thread's). The caller must not change them afterwards: loads copy them."""
        cache = self.repository.cache
        if cache is None:
            return
        for aggregate in aggregates:
            try:
                cached = cache.get(aggregate.id)
            except KeyError:
                cached = None
            if cached is None or cached.version < aggregate.version:
                cache.put(aggregate.id, aggregate)

    def _stored_hash(self, aggregate_id: Any, version: int) -> str | None:
        stored = self.recorder.select_events(aggregate_id, gt=version - 1, lte=version, limit=1)
        if not stored:
            return None
        event, chain = _crm_mapper(self.mapper).decode(stored[0])
        if chain is None:  # recorded before events were chained: its hash is its own form's
            return chain_hash(GENESIS, form_of(event))
        return chain["hash"]

    def read_sealed(self, notification: Notification) -> tuple[Any, dict[str, str] | None]:
        """The event as recorded and published: personal fields sealed, with its chain."""
        return _crm_mapper(self.mapper).decode(notification)

    def on_saved(self, listener: Callable[[], None]) -> None:
        """Calls ``listener`` after each successful save, so in-process followers need not poll."""
        self._listeners.append(listener)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(MetaAsDict())
        transcoder.register(DateAsISO())


#: How many aggregates ``surely_taken`` remembers before it starts over.
_RECORDED_CAPACITY = 100_000


def _check_without_round_trip(pool: psycopg_pool.ConnectionPool[Any]) -> None:
    """Makes the pool check each connection it lends without asking the server.

    A connection that died with the server (a restart, an outage, a terminated backend)
    has received the server's goodbye and the end of its stream by the time it is next
    lent: reading what is waiting on its socket, which never blocks, finds them, and the
    pool discards it and lends another. This replaces eventsourcing's pre-ping (an
    empty query per connection lent) as the pool's check. A connection that breaks later (or silently) fails
    its statement, and eventsourcing's recorder tries again on another connection: the
    events' unique versions keep a repeated insert from recording twice.

    psycopg_pool takes the check as a constructor argument only, and eventsourcing builds
    the pool; ``tests/integration/test_dead_connections.py`` fails if this stops working."""
    if not hasattr(pool, "_check"):
        raise RuntimeError("psycopg_pool keeps its connection check elsewhere: see _check_without_round_trip")
    pool._check = _alive


def _alive(conn: Connection[Any]) -> None:
    pgconn = conn.pgconn
    # A healthy idle connection has nothing waiting but the odd notice or notification; a
    # closed one has the server's goodbye, then the end of the stream, which libpq notices
    # on the read after the last message. A few reads tell them apart without waiting.
    for _ in range(3):
        if pgconn.status != ConnStatus.OK:
            raise OperationalError("the connection was closed by the server")
        if not _waiting(pgconn.socket):
            return
        pgconn.consume_input()  # raises once it meets the end of the stream
    raise OperationalError("the idle connection keeps receiving data")


def _waiting(fd: int) -> bool:
    """Whether anything (data, the end of the stream, an error) waits on socket ``fd``,
    without waiting; ``poll`` takes any descriptor, ``select`` none beyond 1023."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


def persistence_env(url: str, pool_size: int = 10, idle: int | None = None) -> dict[str, Any]:
    """``sqlite:///path/events.sqlite`` or ``postgresql://user:pass@host:port/db`` → the
    environment ``eventsourcing`` reads its persistence settings from. PostgreSQL: at most
    twice ``pool_size`` connections, ``idle`` of them (all, by default) kept open."""
    parsed = parse(url, "event store URL")
    if parsed.kind == "sqlite":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(parsed.path),
            "APPLICATION_RECORDER_TOPIC": "commands.recorders:SQLiteCommandRecorder",
        }
    kept = pool_size if idle is None else max(1, min(idle, pool_size))
    if parsed.query:
        # eventsourcing builds its connections from the parts above only: a parameter such as
        # sslmode would be dropped without a word. libpq reads them from the environment.
        raise ValueError(
            "the event store URL takes no ?parameters; set them as libpq environment variables "
            "instead (PGSSLMODE=verify-full, PGSSLROOTCERT=…)"
        )
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_HOST": parsed.host,
        "POSTGRES_PORT": str(parsed.port),
        "POSTGRES_USER": parsed.user,
        "POSTGRES_PASSWORD": parsed.password,
        "POSTGRES_DBNAME": parsed.dbname,
        "POSTGRES_POOL_SIZE": str(kept),
        "POSTGRES_MAX_OVERFLOW": str(2 * pool_size - kept),
        "POSTGRES_LOCK_TIMEOUT": "5",
        # No wait without a deadline: a pooled connection or a new one comes within 5 s,
        # and a connection that died with the server is noticed before it is used
        # (CrmEventStore notices it without eventsourcing's query: _check_without_round_trip).
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_PRE_PING": "yes",
        "APPLICATION_RECORDER_TOPIC": "commands.recorders:PostgresCommandRecorder",
    }
