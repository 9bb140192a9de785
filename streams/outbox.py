"""What the relay publishes: each event as the record Kafka carries (the CloudEvent bytes
of docs/KAFKA.md, keyed by its subject), and what a dead letter says of it.

The relay reads the log in pages and makes each record with one decoding and one encoding
(``streams.log``, which ``NotificationLog`` comes from). ``encode`` makes one record from
an event decoded by the store's own mapper (transcodings, topics, upcasting), in one
serialization; its bytes are those of ``from_domain_event(…).to_json()``, which also serves
the feed (tests/unit/test_outbox.py holds the two to the same output for every event type)."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from eventsourcing.persistence import Notification

from domain.integrity import OUTSIDE_DATA, format_time, json_default
from streams.envelope import SPEC_VERSION
from streams.log import NotificationLog, event_id

__all__ = ["NotificationLog", "Outgoing", "encode", "event_id", "outgoing"]


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
