"""The notification log as the relay reads it: pages of stored events, each made into the
record Kafka carries (the CloudEvent bytes of docs/KAFKA.md, keyed by its subject).

Both steps are the relay's hot path, so each does only the work: a page is one query for
the columns the relay uses, and an event is decoded once by the store's own mapper
(transcodings, topics, upcasting) and serialized once. The bytes are those of
``from_domain_event(…).to_json()``, which also serves the in-process stream and the feed
(tests/unit/test_outbox.py holds the two to the same output for every event type)."""

from __future__ import annotations

import hashlib
import json
from typing import Any, NamedTuple

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from domain.integrity import OUTSIDE_DATA, format_time, json_default
from streams.envelope import _EVENT_ID_NAMESPACE, SPEC_VERSION


class Outgoing(NamedTuple):
    """One event as the relay publishes it, and what a dead letter says of it."""

    aggregate_type: str
    subject: str
    sequence: int
    position: int
    chainhash: str | None
    value: bytes

    @property
    def key(self) -> bytes:
        return self.subject.encode()


class NotificationLog:
    """Reads the event store's notification log in pages, in position order."""

    def __init__(self, store: Any) -> None:
        self._store = store
        recorder = store.recorder
        self._select = None
        if isinstance(recorder, PostgresApplicationRecorder):
            # eventsourcing's select_notifications reads every column into a dict per row
            # first; this reads the same rows as tuples, in the binary protocol.
            self._select = SQL(
                "SELECT notification_id, originator_id, originator_version, topic, state FROM {}.{} "
                "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
            ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))

    def after(self, position: int, limit: int) -> list[Notification]:
        """Up to ``limit`` events recorded after ``position``, oldest first."""
        recorder = self._store.recorder
        if self._select is None:
            return list(recorder.select_notifications(start=position, limit=limit, inclusive_of_start=False))
        with recorder.datastore.get_connection() as conn:
            with conn.cursor(binary=True, row_factory=tuple_row) as cursor:
                cursor.execute(self._select, (position, limit), prepare=True)
                rows = cursor.fetchall()
        return [
            Notification(id=row[0], originator_id=row[1], originator_version=row[2], topic=row[3], state=row[4])
            for row in rows
        ]


def encode(store: Any, notification: Notification) -> Outgoing:
    """The event as recorded (personal fields sealed, its hash chain attached) and its
    CloudEvent bytes. Raises what decoding or encoding raises: the relay dead-letters it."""
    event, chain = store.read_sealed(notification)
    return outgoing(event, notification.id, chain)


def outgoing(event: Any, position: int, chain: dict[str, str] | None) -> Outgoing:
    """``from_domain_event(event, position, chain).to_json()``, made in one serialization:
    ``data`` goes in as the event holds it, and the encoder writes its datetimes, dates,
    UUIDs and decimals with the same ``json_default`` that ``payload`` turns them into JSON
    values with first; the attributes are ``Envelope.to_dict``'s, in its order."""
    event_type: str = type(event).TOPIC
    aggregate_type = event_type.split(".")[1]
    subject = str(event.originator_id)
    version: int = event.originator_version
    meta = event.meta
    cloud_event = {
        "specversion": SPEC_VERSION,
        "id": event_id(subject, version),
        "source": f"/eventcrm/{aggregate_type}",
        "type": event_type,
        "subject": subject,
        "time": format_time(event.timestamp),
        "datacontenttype": "application/json",
        "data": {name: value for name, value in vars(event).items() if name not in OUTSIDE_DATA},
        "sequence": version,
        "position": position,
        "actor": meta.actor,
        "correlationid": meta.correlation_id,
        "causationid": meta.causation_id,
    }
    chainhash = None
    if chain:
        chainhash = cloud_event["chainhash"] = chain["hash"]
        cloud_event["chainprev"] = chain["prev"]
    return Outgoing(aggregate_type, subject, version, position, chainhash, _JSON.encode(cloud_event).encode())


#: ``Envelope.to_json``'s encoder, made once.
_JSON = json.JSONEncoder(separators=(",", ":"), default=json_default)
_NAMESPACE = _EVENT_ID_NAMESPACE.bytes
#: The hex digit that starts a UUID's eighth byte, given the variant bits of RFC 4122.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def event_id(subject: str, version: int) -> str:
    """``streams.envelope.event_id`` (a name-based UUID, version 5), in a fifth of its time:
    the SHA-1 digest's hex digits with the version and variant put in place."""
    h = hashlib.sha1(_NAMESPACE + f"{subject}:{version}".encode(), usedforsecurity=False).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"
