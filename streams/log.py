"""The event store's notification log, read fast: pages of stored rows, each made into its
CloudEvent (docs/KAFKA.md) with one JSON decoding and one encoding. The relay publishes
what it makes (streams/relay.py), rebuilds from the store replay it, and embedded mode's
projectors follow it in-process (``NotificationLogSource``), receiving the same bytes
Kafka would carry.

Why not eventsourcing's own reading: ``select_notifications`` reads every column into a
dict per row, and its mapper decodes with a Python hook on every JSON object, into domain
events whose ``data`` is then written to JSON and read back (``domain.integrity.payload``)
before the envelope is written once more. ``StoredEvents`` reads the stored JSON once
(msgspec) and turns the store's transcoded values (``{"_type_": …, "_data_": …}``) straight
into their CloudEvent form. It answers exactly what the plain path answers
(``StoredEvents.plain``: the mapper, ``from_domain_event`` and ``to_json``), held to it by
tests/integration/test_store_reading.py; an event it cannot take that way (one to upcast,
JSON msgspec refuses, a store whose mapper encrypts or compresses whole states) takes the
plain path, which also raises what the plain path raises."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Hashable, Mapping
from typing import Any, NamedTuple, cast

import msgspec
from eventsourcing.persistence import JSONTranscoder, Notification, find_id_convertor
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import resolve_topic
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from domain.integrity import OUTSIDE_DATA, format_time, json_default
from streams.envelope import _EVENT_ID_NAMESPACE, SPEC_VERSION, Envelope, from_domain_event
from streams.records import Channel, Record

LOG_CHANNEL: Channel = ("log", 0)


class Row(NamedTuple):
    """A row of the notification log, as its columns are read."""

    id: int
    originator_id: Any
    originator_version: int
    topic: str
    state: bytes

    def notification(self) -> Notification:
        return Notification(
            id=self.id,
            originator_id=self.originator_id,
            originator_version=self.originator_version,
            topic=self.topic,
            state=self.state,
        )


class NotificationLog:
    """Reads the event store's notification log in pages, in position order: one query per
    page for the columns used, rows as tuples (PostgreSQL: in the binary protocol, as a
    prepared statement). eventsourcing's tables, read as its ``select_notifications``
    reads them (checked by tests/integration/test_eventsourcing_contract.py)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        recorder = store.recorder
        self._postgres: Composed | None = None
        self._sqlite: str | None = None
        if isinstance(recorder, PostgresApplicationRecorder):
            self._postgres = SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{} "
                "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
            ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
        elif isinstance(recorder, SQLiteApplicationRecorder):
            self._sqlite = (
                "SELECT rowid, originator_id, originator_version, topic, state "
                f"FROM {recorder.events_table_name} WHERE rowid > ? ORDER BY rowid LIMIT ?"
            )

    def rows(self, position: int, limit: int) -> list[Row]:
        """Up to ``limit`` rows recorded after ``position``, oldest first."""
        recorder = self._store.recorder
        if self._postgres is not None:
            with recorder.datastore.get_connection() as conn:
                with conn.cursor(binary=True, row_factory=tuple_row) as cursor:
                    cursor.execute(self._postgres, (position, limit), prepare=True)
                    return [Row._make(row) for row in cursor.fetchall()]
        if self._sqlite is not None:
            convert = recorder.convert_originator_id
            with recorder.datastore.transaction(commit=False) as c:
                c.execute(self._sqlite, (position, limit))
                return [Row(row[0], convert(row[1]), row[2], row[3], row[4]) for row in c.fetchall()]
        return [
            Row(n.id, n.originator_id, n.originator_version, n.topic, n.state)
            for n in recorder.select_notifications(start=position, limit=limit, inclusive_of_start=False)
        ]

    def after(self, position: int, limit: int) -> list[Notification]:
        """Up to ``limit`` events recorded after ``position``, oldest first."""
        return [row.notification() for row in self.rows(position, limit)]


class _Kind(NamedTuple):
    """What a stored topic says about its events, looked up once per topic."""

    type: str
    source: str
    class_version: int
    id_convertor: Callable[[Any], Any]


class StoredEvents:
    """Makes stored rows of one event store into CloudEvents: the ``Envelope`` and its
    bytes, personal fields sealed as recorded and the hash chain attached."""

    def __init__(self, store: Any) -> None:
        self._store = store
        mapper = store.mapper
        transcoder = mapper.transcoder
        # Whole states encrypted or compressed, or another transcoder: only the mapper reads them.
        self._fast = mapper.cipher is None and mapper.compressor is None and isinstance(transcoder, JSONTranscoder)
        self._transcodings: Mapping[str, Any] = transcoder.names if self._fast else {}
        self._kinds: dict[str, _Kind] = {}

    def record(self, row: Row) -> Record:
        """The row as the stream hands it on (``Record.envelope`` filled)."""
        envelope, value = self.cloud_event(row)
        return Record("log", 0, row.id, envelope.subject.encode(), value, envelope)

    def cloud_event(self, row: Row) -> tuple[Envelope, bytes]:
        """``plain(row)``, made without the mapper where it can be."""
        if self._fast:
            try:
                made = self._made(row)
            except Exception:  # whatever it is, the plain path says it (or reads it) as before
                made = None
            if made is not None:
                return made
        return self.plain(row)

    def plain(self, row: Row) -> tuple[Envelope, bytes]:
        """The event as eventsourcing's mapper reads it (upcasting included), wrapped and written."""
        event, chain = self._store.read_sealed(row.notification())
        envelope = from_domain_event(event, row.id, chain)
        return envelope, envelope.to_json()

    def _made(self, row: Row) -> tuple[Envelope, bytes] | None:
        """None when the event needs upcasting: the domain's upcasters take the mapper's state."""
        kind = self._kinds.get(row.topic)
        if kind is None:
            kind = self._kinds[row.topic] = self._kind(row.topic, row.originator_id)
        state: dict[str, Any] = _DECODE(row.state)
        if state.pop("class_version", 1) < kind.class_version:
            return None
        stamp = self._python(state["timestamp"])
        meta = self._python(state["meta"])
        chain = self._python(state["chain"]) if "chain" in state else None
        data = {}
        floats = False
        for name, value in state.items():
            if name in OUTSIDE_DATA:
                continue
            kind_of = type(value)
            if kind_of is dict or kind_of is list:
                value = self._json_form(value)
                floats = floats or _holds_float(value)
            elif kind_of is float:
                floats = True
            data[name] = value
        subject = str(kind.id_convertor(row.originator_id))
        version = row.originator_version
        time_text = format_time(stamp)
        chainhash = chain["hash"] if chain else None
        chainprev = chain["prev"] if chain else None
        cloud_event = {
            "specversion": SPEC_VERSION,
            "id": event_id(subject, version),
            "source": kind.source,
            "type": kind.type,
            "subject": subject,
            "time": time_text,
            "datacontenttype": "application/json",
            "data": data,
            "sequence": version,
            "position": row.id,
            "actor": meta.actor,
            "correlationid": meta.correlation_id,
            "causationid": meta.causation_id,
        }
        if chainhash:
            cloud_event["chainhash"] = chainhash
            cloud_event["chainprev"] = chainprev
        envelope = object.__new__(Envelope)
        # Filled as Envelope.from_json fills it: the frozen dataclass's __init__ costs more.
        envelope.__dict__.update(
            id=cloud_event["id"],
            source=kind.source,
            type=kind.type,
            subject=subject,
            time=stamp,
            data=data,
            sequence=version,
            position=row.id,
            actor=meta.actor,
            correlationid=meta.correlation_id,
            causationid=meta.causation_id,
            chainhash=chainhash,
            chainprev=chainprev,
        )
        return envelope, _written(cloud_event, floats)

    def _kind(self, topic: str, originator_id: Any) -> _Kind:
        cls = resolve_topic(topic)
        event_type: str = cls.TOPIC
        return _Kind(
            event_type,
            f"/eventcrm/{event_type.split('.')[1]}",
            getattr(cls, "class_version", 1),
            find_id_convertor(cls, cast(Hashable, type(originator_id))),
        )

    # -- the store's transcoded values -----------------------------------------------------

    def _python(self, value: Any) -> Any:
        """``value`` (freshly decoded: changed in place) as the mapper's transcoder decodes
        it: objects from the innermost out, a ``{"_type_", "_data_"}`` pair by its
        transcoding (an unknown name raises)."""
        if type(value) is list:
            return [self._python(v) if type(v) in _CONTAINERS else v for v in value]
        if type(value) is not dict:
            return value
        for k, v in value.items():
            if type(v) in _CONTAINERS:
                value[k] = self._python(v)
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return self._transcodings[value["_type_"]].decode(value["_data_"])
        return value

    def _json_form(self, value: Any) -> Any:
        """``payload``'s JSON form of the value the mapper would decode: what
        ``json.loads(json.dumps(self._python(value), default=json_default))`` answers."""
        if type(value) is list:
            return [self._json_form(v) if type(v) in _CONTAINERS else v for v in value]
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            name, data = value["_type_"], value["_data_"]
            if type(data) is str:
                # The two met in nearly every event, written as json_default writes them.
                if name == "datetime_iso":
                    return format_time(self._transcodings[name].decode(data))
                if name == "uuid_hex":
                    return str(self._transcodings[name].decode(data))
            return json.loads(json.dumps(self._python(value), default=json_default))
        return {k: self._json_form(v) if type(v) in _CONTAINERS else v for k, v in value.items()}


_CONTAINERS = (dict, list)
_DECODE = msgspec.json.Decoder(dict[str, Any]).decode
#: ``Envelope.to_json``'s encoder, made once.
_JSON = json.JSONEncoder(separators=(",", ":"), default=json_default)
_ENCODE = msgspec.json.Encoder().encode


def _written(cloud_event: dict[str, Any], floats: bool) -> bytes:
    """``Envelope.to_json``'s bytes. msgspec writes the same bytes as ``json.dumps`` (with
    ``ensure_ascii``) for JSON without floats (it spells exponents otherwise) whose strings
    are ASCII without DEL (which json escapes), in an eighth of the time; anything else is
    written by json."""
    if not floats:
        out = _ENCODE(cloud_event)
        if out.isascii() and b"\x7f" not in out:
            return out
    return _JSON.encode(cloud_event).encode()


def _holds_float(value: Any) -> bool:
    if type(value) is float:
        return True
    if type(value) is dict:
        return any(_holds_float(v) for v in value.values())
    if type(value) is list:
        return any(_holds_float(v) for v in value)
    return False


_NAMESPACE = _EVENT_ID_NAMESPACE.bytes
#: The hex digit that starts a UUID's eighth byte, given the variant bits of RFC 4122.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def event_id(subject: str, version: int) -> str:
    """``streams.envelope.event_id`` (a name-based UUID, version 5), in a fifth of its time:
    the SHA-1 digest's hex digits with the version and variant put in place."""
    h = hashlib.sha1(_NAMESPACE + f"{subject}:{version}".encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


class NotificationLogSource:
    """The in-process stream: projectors follow the log directly (embedded mode, and
    rebuilds from the store). It holds one page at a time, nothing of the history."""

    def __init__(self, store: Any) -> None:
        """``store`` is the event-store application (its recorder and mapper are used)."""
        self._store = store
        self._log = NotificationLog(store)
        self._events = StoredEvents(store)
        self._after = 0
        self._wake = threading.Event()

    def start(self, positions: Callable[[], Mapping[Channel, int]]) -> None:
        self._after = positions().get(LOG_CHANNEL, 0)

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        rows = self._log.rows(self._after, max_records)
        if not rows and timeout > 0:
            self._wake.wait(timeout)
            self._wake.clear()
            rows = self._log.rows(self._after, max_records)
        records = [self._events.record(row) for row in rows]
        if records:
            self._after = records[-1].offset
        return records

    def caught_up(self) -> bool:
        return self._after >= (self._store.recorder.max_notification_id() or 0)

    def notify(self) -> None:
        """Something was written: stop waiting."""
        self._wake.set()

    def committed(self, positions: Mapping[Channel, int]) -> None:
        pass

    def close(self) -> None:
        self._wake.set()
